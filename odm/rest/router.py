"""``crud_router``: LoopBack 4's CRUD controller for one model, as a FastAPI router.

Each route reads its query and body itself (both encodings of ``filter``/``where``,
bodies as JSON objects), calls one repository method and answers LoopBack's statuses;
odm's errors become LoopBack's error bodies (:mod:`odm.rest.errors`) in the router's own
route class, so an app needs no exception handler of its own.
"""

# no ``from __future__ import annotations``: FastAPI reads the routes' signatures, whose
# annotations name this module's closures

import copy
import json
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ..errors import ErrorDetail, ODMError, ValidationError
from ..filters.query import normalize_filter, projection_spec
from ..hidden import model_holds_hidden, path_is_hidden
from ..metadata import ModelMeta, meta_of
from ..models import Entity
from ..repository import Repository
from ..rules import MAX_DATA_DEPTH
from .errors import (
    ERROR_SCHEMA,
    bad_body,
    body_not_object,
    error_response,
    request_error_response,
)
from .openapi import Components, filter_schema, where_schema
from .query import clamp_limit, decode_query

__all__ = ["OPERATIONS", "READ_OPERATIONS", "crud_router", "rest_repository"]

#: Every operation of the CRUD controller, by repository method name.
OPERATIONS = (
    "create",
    "find",
    "count",
    "update_all",
    "find_by_id",
    "update_by_id",
    "replace_by_id",
    "delete_by_id",
)
#: The operations of a read-only router.
READ_OPERATIONS = ("find", "count", "find_by_id")

_LOOPBACK_NAMES = {
    "create": "create",
    "find": "find",
    "count": "count",
    "update_all": "updateAll",
    "find_by_id": "findById",
    "update_by_id": "updateById",
    "replace_by_id": "replaceById",
    "delete_by_id": "deleteById",
}

RepositoryDependency = Callable[..., Repository[Any] | Awaitable[Repository[Any]]]


class _RequestRefused(Exception):
    """A request refused before any repository call; carries its response."""

    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def rest_repository(repository: Any, model: type[Entity]) -> Repository[Any]:
    """``repository`` as the REST routes use it: hidden properties may not be queried
    and extended (``$``) operators are off, whatever the repository was made with. A
    repository already made so is used as it is; another is copied (cheap: the copy
    shares the database, collection, scope and hooks)."""
    if not isinstance(repository, Repository) or repository.entity_class is not model:
        raise TypeError(
            f"the repository dependency of {model.__name__}'s router returned "
            f"{repository!r}, not a Repository of {model.__name__}"
        )
    if repository.prohibit_hidden_in_query and not repository.allow_extended_operators:
        return repository
    clone = copy.copy(repository)
    clone.prohibit_hidden_in_query = True
    clone.allow_extended_operators = False
    return clone


def crud_router(
    model: type[Entity],
    *,
    repository: RepositoryDependency,
    prefix: str = "",
    operations: Collection[str] | None = None,
    read_only: bool = False,
    max_limit: int = 1000,
    controller: str | None = None,
    tags: Sequence[str | Enum] | None = None,
    dependencies: Sequence[DependsParam] | None = None,
) -> APIRouter:
    """LoopBack 4's CRUD routes for ``model`` (an ``odm.Entity`` class)::

        app.include_router(crud_router(Customer, repository=get_customers, prefix="/customers"))

    ======  =================  ===================  ==============================
    method  path               repository method    answer
    ======  =================  ===================  ==============================
    POST    ``/``              ``create``           200 the created entity
    GET     ``/?filter=``      ``find``             200 a list of entities
    GET     ``/count?where=``  ``count``            200 ``{"count": n}``
    PATCH   ``/?where=``       ``update_all``       200 ``{"count": n}`` (matched)
    GET     ``/{id}?filter=``  ``find_by_id``       200 the entity (``fields``)
    PATCH   ``/{id}``          ``update_by_id``     204
    PUT     ``/{id}``          ``replace_by_id``    204
    DELETE  ``/{id}``          ``delete_by_id``     204
    ======  =================  ===================  ==============================

    ``repository`` is a FastAPI dependency returning the model's repository for the
    request (so tenants and sessions can choose it); the routes use it with
    ``prohibit_hidden_in_query`` on and extended operators off. ``operations`` names the
    routes to build (repository method names, default all), ``read_only=True`` keeps
    ``find``, ``count`` and ``find_by_id``. ``max_limit`` caps a list's ``limit``: a
    larger or a missing one becomes ``max_limit``. ``controller`` (default
    ``"CustomerController"``) names the routes' tag and prefixes their operation ids
    (``CustomerController.findById``): give another one to a second router of the
    same model. ``tags`` and ``dependencies`` are FastAPI's.

    A body may not set a hidden property (it is answered as an unknown property), and
    ``PUT`` keeps the stored hidden properties (a client cannot send them back).
    """
    meta = meta_of(model)
    if meta is None or not meta.is_entity or meta.id is None:
        raise TypeError(f"crud_router needs an odm.Entity subclass, not {model!r}")
    chosen = _chosen(operations, read_only)
    if isinstance(max_limit, bool) or not isinstance(max_limit, int) or max_limit < 1:
        raise ValueError(f"max_limit is an integer >= 1, not {max_limit!r}")
    components = Components(meta, model)
    controller = controller or f"{meta.name}Controller"
    router = APIRouter(
        prefix=prefix,
        tags=list(tags) if tags is not None else [controller],
        dependencies=dependencies,
        route_class=_route_class(meta),
    )

    async def for_rest(given: Annotated[Any, Depends(repository)]) -> Repository[Any]:
        return rest_repository(given, model)

    Repo = Annotated[Repository[Any], Depends(for_rest)]
    routes = _Routes(meta, components, max_limit)

    def add(
        operation: str, path: str, method: str, endpoint: Callable[..., Any], **extra: Any
    ) -> None:
        if operation in chosen:
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                name=f"{controller}.{_LOOPBACK_NAMES[operation]}",
                operation_id=f"{controller}.{_LOOPBACK_NAMES[operation]}",
                **extra,
            )

    async def create(request: Request, repo: Repo) -> Response:
        data = await routes.body(request)
        entity = await repo.create(data)
        return JSONResponse(entity.to_json())

    async def find(request: Request, repo: Repo) -> Response:
        filter = routes.filter(request, clamp=True)
        entities = await repo.find(filter)
        return JSONResponse(routes.to_json(entities, filter))

    async def count(request: Request, repo: Repo) -> Response:
        return JSONResponse({"count": await repo.count(routes.where(request))})

    async def update_all(request: Request, repo: Repo) -> Response:
        where = routes.where(request)
        data = await routes.body(request)
        return JSONResponse({"count": await repo.update_all(data, where)})

    async def find_by_id(id: str, request: Request, repo: Repo) -> Response:
        filter = routes.filter(request, clamp=False)
        entity = await repo.find_by_id(id, filter)
        return JSONResponse(routes.to_json([entity], filter)[0])

    async def update_by_id(id: str, request: Request, repo: Repo) -> Response:
        await repo.update_by_id(id, await routes.body(request))
        return Response(status_code=204)

    async def replace_by_id(id: str, request: Request, repo: Repo) -> Response:
        data = await routes.body(request)
        await repo.replace_by_id(id, await routes.with_stored_hidden(repo, id, data))
        return Response(status_code=204)

    async def delete_by_id(id: str, repo: Repo) -> Response:
        await repo.delete_by_id(id)
        return Response(status_code=204)

    docs = routes.docs
    root = "" if prefix else "/"  # FastAPI refuses a route with no path at all
    add("create", root, "POST", create, **docs.create())
    add("find", root, "GET", find, **docs.find())
    # before "/{id}", or "count" would be read as an id
    add("count", "/count", "GET", count, **docs.count())
    add("update_all", root, "PATCH", update_all, **docs.update_all())
    add("find_by_id", "/{id}", "GET", find_by_id, **docs.find_by_id())
    add(
        "update_by_id",
        "/{id}",
        "PATCH",
        update_by_id,
        **docs.by_id(204, "partial", f"update some properties of the {meta.name} with this id"),
    )
    add(
        "replace_by_id",
        "/{id}",
        "PUT",
        replace_by_id,
        **docs.by_id(204, "entity", f"replace the {meta.name} with this id"),
    )
    add(
        "delete_by_id",
        "/{id}",
        "DELETE",
        delete_by_id,
        **docs.by_id(204, None, f"delete the {meta.name} with this id"),
    )
    return router


def _chosen(operations: Collection[str] | None, read_only: bool) -> frozenset[str]:
    if operations is not None and read_only:
        raise ValueError("give operations= or read_only=True, not both")
    if operations is None:
        return frozenset(READ_OPERATIONS if read_only else OPERATIONS)
    if isinstance(operations, str):
        raise TypeError("operations is a collection of operation names, not a string")
    unknown = sorted(set(operations) - set(OPERATIONS))
    if unknown:
        raise ValueError(f"unknown operations {unknown}; known: {', '.join(OPERATIONS)}")
    return frozenset(operations)


def _route_class(meta: ModelMeta) -> type[APIRoute]:
    """The router's route class: odm's errors (and FastAPI's own request checks) answered
    in LoopBack's shape, for this model."""

    class LoopBackRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except _RequestRefused as refused:
                    return refused.response
                except ODMError as error:
                    return error_response(error, meta)
                except RequestValidationError as error:
                    return request_error_response(error)

            return handle

    LoopBackRoute.__name__ = LoopBackRoute.__qualname__ = f"{meta.name}Route"
    return LoopBackRoute


class _Routes:
    """What the routes of one model share: reading queries and bodies."""

    def __init__(self, meta: ModelMeta, components: Components, max_limit: int) -> None:
        self.meta = meta
        self.max_limit = max_limit
        self.holds_hidden = model_holds_hidden(meta)
        assert meta.id is not None
        self.id_name = meta.id.name
        self.top_hidden = [prop.name for prop in meta.properties.values() if prop.hidden]
        self.docs = _Docs(meta, components)

    def filter(self, request: Request, *, clamp: bool) -> dict[str, Any] | None:
        decoded = decode_query(request.query_params.multi_items(), "filter")
        if decoded is None and not clamp:
            return None
        canonical = normalize_filter(decoded, "")
        return clamp_limit(canonical, self.max_limit) if clamp else canonical

    def to_json(
        self, entities: Sequence[Entity], filter: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """The entities' JSON; with ``fields``, only the properties the projection
        returned (an unset property is not sent as null or as its default)."""
        bodies = [entity.to_json() for entity in entities]
        fields = (filter or {}).get("fields")
        if fields is None:
            return bodies
        projection = projection_spec(self.meta, fields)
        if not projection:
            return bodies
        top = {path.split(".")[0] for path in projection}
        names = {prop.field_name: prop.name for prop in self.meta.properties.values()}
        chosen = {names.get(field, field) for field in top}
        declared = set(names.values())
        if next(iter(projection.values())) == 1:
            dropped = declared - chosen - {self.id_name}
        else:
            dropped = {name for name in chosen if name in declared} & {
                names.get(path, path) for path in projection if "." not in path
            }
        return [{k: v for k, v in body.items() if k not in dropped} for body in bodies]

    def where(self, request: Request) -> Any:
        return decode_query(request.query_params.multi_items(), "where")

    async def body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            raise _RequestRefused(bad_body("a request body (a JSON object) is required"))
        try:
            data = json.loads(raw)
        except RecursionError:
            raise _RequestRefused(bad_body("the request body nests too deep")) from None
        except ValueError as error:
            raise _RequestRefused(
                bad_body(f"the request body is not valid JSON: {error}")
            ) from None
        if not isinstance(data, dict):
            raise _RequestRefused(body_not_object(_json_kind(data)))
        if self.holds_hidden:
            self._refuse_hidden(data)
        return data

    def _refuse_hidden(self, data: dict[str, Any]) -> None:
        """A client may not write a hidden property: answered exactly as an unknown one
        (the answer does not tell a hidden name from a name that does not exist)."""
        details: list[ErrorDetail] = []
        self._walk_hidden(data, "", details, 0)
        if details:
            raise ValidationError(self.meta.name, details)

    def _walk_hidden(self, value: Any, path: str, details: list[ErrorDetail], depth: int) -> None:
        if depth > MAX_DATA_DEPTH:  # validation refuses it as too deep
            return
        if isinstance(value, list):
            for item in value:
                self._walk_hidden(item, path, details, depth + 1)
            return
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if path_is_hidden(self.meta, here):
                details.append(
                    ErrorDetail(
                        path=here,
                        code="unknown-property",
                        message=f"{self.meta.name}.{here}: is not a property of the model",
                        value=None,
                    )
                )
            else:
                self._walk_hidden(item, here, details, depth + 1)

    async def with_stored_hidden(
        self, repo: Repository[Any], id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """A replace's data with the stored entity's hidden properties (a client can
        neither read nor send them, so a ``PUT`` must not erase them)."""
        if not self.top_hidden:
            return data
        stored = await repo.find_by_id(id)
        kept = {
            name: getattr(stored, name)
            for name in self.top_hidden
            if name in stored.model_fields_set
        }
        return {**data, **kept}


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


class _Docs:
    """The OpenAPI parts of each route: parameters, request body, responses."""

    def __init__(self, meta: ModelMeta, components: Components) -> None:
        self.meta = meta
        self.components = components

    def _errors(self, *statuses: int) -> dict[int | str, dict[str, Any]]:
        texts = {
            400: "a malformed filter or body",
            404: f"no {self.meta.name} with this id",
            409: "a unique index or a version refuses the write",
            422: "the data is invalid",
        }
        return {
            status: {
                "description": texts[status],
                "content": {"application/json": {"schema": ERROR_SCHEMA}},
            }
            for status in statuses
        }

    @staticmethod
    def _ok(description: str) -> dict[int | str, dict[str, Any]]:
        return {200: {"description": description}}

    def _parameter(self, name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }

    def _filter(self, *, with_where: bool) -> dict[str, Any]:
        return self._parameter(
            "filter",
            filter_schema(self.meta, with_where=with_where),
            "a LoopBack filter, as JSON or in bracket form (filter[where][name]=Ada)",
        )

    def _where(self) -> dict[str, Any]:
        return self._parameter(
            "where",
            where_schema(self.meta),
            "a LoopBack where clause, as JSON or in bracket form (where[name]=Ada)",
        )

    def _body(self, component: str) -> dict[str, Any]:
        return {
            "required": True,
            "content": {"application/json": {"schema": self.components.ref(component)}},
        }

    def _count(self, description: str) -> dict[int | str, dict[str, Any]]:
        schema = {
            "title": "loopback.Count",
            "type": "object",
            "properties": {"count": {"type": "integer"}},
        }
        return {
            200: {"description": description, "content": {"application/json": {"schema": schema}}}
        }

    @property
    def _entity(self) -> Any:
        return self.components.entity

    def create(self) -> dict[str, Any]:
        return {
            "response_model": self.components.entity,
            "responses": {
                **self._ok(f"the created {self.meta.name}"),
                **self._errors(400, 409, 422),
            },
            "summary": f"create a {self.meta.name}",
            "openapi_extra": {"requestBody": self._body("new")},
        }

    def find(self) -> dict[str, Any]:
        return {
            "response_model": list.__class_getitem__(self._entity),
            "responses": {
                **self._ok(f"the matching {self.meta.name} instances"),
                **self._errors(400, 422),
            },
            "summary": f"the {self.meta.name} instances matching the filter",
            "openapi_extra": {"parameters": [self._filter(with_where=True)]},
        }

    def count(self) -> dict[str, Any]:
        return {
            "responses": {
                **self._count(f"how many {self.meta.name} match"),
                **self._errors(400, 422),
            },
            "summary": f"how many {self.meta.name} instances match the where clause",
            "openapi_extra": {"parameters": [self._where()]},
        }

    def update_all(self) -> dict[str, Any]:
        return {
            "responses": {
                **self._count(f"how many {self.meta.name} matched"),
                **self._errors(400, 409, 422),
            },
            "summary": f"update every {self.meta.name} matching the where clause",
            "openapi_extra": {"parameters": [self._where()], "requestBody": self._body("partial")},
        }

    def find_by_id(self) -> dict[str, Any]:
        return {
            "response_model": self.components.entity,
            "responses": {**self._ok(f"the {self.meta.name}"), **self._errors(400, 404, 422)},
            "summary": f"the {self.meta.name} with this id",
            "openapi_extra": {"parameters": [self._filter(with_where=False)]},
        }

    def by_id(self, status: int, component: str | None, summary: str) -> dict[str, Any]:
        extra: dict[str, Any] = {"summary": summary}
        if component is not None:
            extra["openapi_extra"] = {"requestBody": self._body(component)}
        errors = (400, 404, 409, 422) if component is not None else (404, 422)
        return {
            "status_code": status,
            "response_class": Response,
            "responses": {status: {"description": "done"}, **self._errors(*errors)},
            **extra,
        }
