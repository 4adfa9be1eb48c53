"""``crud_router``: LoopBack 4's CRUD controller for one model, as a FastAPI router.

Each route reads its query and body itself (both encodings of ``filter``/``where``,
bodies as JSON objects), calls one repository method and answers LoopBack's statuses;
odm's errors become LoopBack's error bodies (:mod:`odm.rest.errors`) in the router's own
route class, so an app needs no exception handler of its own.
"""

# no ``from __future__ import annotations``: FastAPI reads the routes' signatures, whose
# annotations name this module's closures

import copy
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ..errors import ODMError
from ..metadata import ModelMeta, meta_of
from ..models import Entity
from ..repository import Repository
from .errors import error_response, request_error_response
from .openapi import Components
from .reading import PrepareData, RequestReader, RequestRefused
from .relation_routes import add_relation_routes, routed_relations
from .routedocs import RouteDocs

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


def rest_repository(
    repository: Any, model: type[Entity], *, max_include_depth: int | None = None
) -> Repository[Any]:
    """``repository`` as the REST routes use it: hidden properties may not be queried
    and extended (``$``) operators are off, whatever the repository was made with, and
    ``include`` nests at most ``max_include_depth`` levels (None: the repository's own
    limit). A repository already made so is used as it is; another is copied (cheap: the
    copy shares the database, collection, scope and hooks)."""
    if not isinstance(repository, Repository) or repository.entity_class is not model:
        raise TypeError(
            f"the repository dependency of {model.__name__}'s router returned "
            f"{repository!r}, not a Repository of {model.__name__}"
        )
    depth = repository.max_include_depth if max_include_depth is None else max_include_depth
    if (
        repository.prohibit_hidden_in_query
        and not repository.allow_extended_operators
        and repository.max_include_depth == depth
    ):
        return repository
    clone = copy.copy(repository)
    clone.prohibit_hidden_in_query = True
    clone.allow_extended_operators = False
    clone.max_include_depth = depth
    return clone


def crud_router(
    model: type[Entity],
    *,
    repository: RepositoryDependency,
    prefix: str = "",
    operations: Collection[str] | None = None,
    read_only: bool = False,
    max_limit: int = 1000,
    max_include_depth: int | None = None,
    relations: Collection[str] | None = None,
    prepare_data: PrepareData | None = None,
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
    larger or a missing one becomes ``max_limit``. ``max_include_depth`` limits how deep
    a filter's ``include`` may nest (default: the repository's ``max_include_depth``).
    ``controller`` (default
    ``"CustomerController"``) names the routes' tag and prefixes their operation ids
    (``CustomerController.findById``): give another one to a second router of the
    same model. ``tags`` and ``dependencies`` are FastAPI's.

    Every ``has_many``, ``has_one`` and ``belongs_to`` relation of the model gets LoopBack's
    relation routes (``relations`` names the ones to build; ``()`` none), on the related
    repository of the source entity read through ``repository`` (so a source outside the
    repository's scope is a 404)::

        GET    /{id}/orders?filter=   find          200 a list    (has_many)
        POST   /{id}/orders           create        200 the created, its key set
        PATCH  /{id}/orders?where=    update_all    200 {"count": n}
        DELETE /{id}/orders?where=    delete_all    200 {"count": n}
        GET    /{id}/profile?filter=  find_one      200 the target, or 404 (has_one;
                                                    POST, PATCH, DELETE as has_many)
        GET    /{id}/customer         get           200 the target, or 404 (belongs_to)

    Relation writes are built with the routes they resemble (``POST`` with ``create``,
    ``PATCH`` with ``update_all``, ``DELETE`` with ``delete_by_id``), reads with ``find``.

    A body may not set a hidden property (refused as "not a property of the model",
    without the name), a navigational property, a generated id or a property odm
    maintains (timestamps, version); ``PATCH`` and ``PUT`` by id may carry the version
    read, and a stale one is a 409. ``PUT`` keeps the stored hidden properties (a client
    cannot send them back).

    ``prepare_data(data, operation)`` (sync or async) maps the body of ``create``,
    ``update_all``, ``update_by_id`` and ``replace_by_id`` after those checks and before
    the repository validates it: the place to turn a client's ``password`` into a
    hidden ``password_hash``, say (the result may set hidden properties).
    """
    meta = meta_of(model)
    if meta is None or not meta.is_entity or meta.id is None:
        raise TypeError(f"crud_router needs an odm.Entity subclass, not {model!r}")
    chosen = _chosen(operations, read_only)
    if isinstance(max_limit, bool) or not isinstance(max_limit, int) or max_limit < 1:
        raise ValueError(f"max_limit is an integer >= 1, not {max_limit!r}")
    if max_include_depth is not None and (
        isinstance(max_include_depth, bool)
        or not isinstance(max_include_depth, int)
        or max_include_depth < 0
    ):
        raise ValueError(f"max_include_depth is an integer >= 0, not {max_include_depth!r}")
    routed = routed_relations(meta, relations)
    components = Components(meta, model)
    controller = controller or f"{meta.name}Controller"
    router = APIRouter(
        prefix=prefix,
        tags=list(tags) if tags is not None else [controller],
        dependencies=dependencies,
        route_class=_route_class(meta),
    )

    async def for_rest(given: Annotated[Any, Depends(repository)]) -> Repository[Any]:
        return rest_repository(given, model, max_include_depth=max_include_depth)

    Repo = Annotated[Repository[Any], Depends(for_rest)]
    routes = RequestReader(meta, max_limit, prepare_data)
    docs = RouteDocs(meta, components)

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
        entity = await repo.create(await routes.data(request, "create"))
        return JSONResponse(entity.to_json())

    async def find(request: Request, repo: Repo) -> Response:
        filter = routes.filter(request, clamp=True)
        entities = await repo.find(filter)
        return JSONResponse([entity.to_json() for entity in entities])

    async def count(request: Request, repo: Repo) -> Response:
        return JSONResponse({"count": await repo.count(routes.where(request))})

    async def update_all(request: Request, repo: Repo) -> Response:
        where = routes.where(request)
        data = await routes.data(request, "update_all")
        return JSONResponse({"count": await repo.update_all(data, where)})

    async def find_by_id(id: str, request: Request, repo: Repo) -> Response:
        filter = routes.filter(request, clamp=False)
        entity = await repo.find_by_id(id, filter)
        return JSONResponse(entity.to_json())

    async def update_by_id(id: str, request: Request, repo: Repo) -> Response:
        await repo.update_by_id(id, await routes.data(request, "update_by_id"))
        return Response(status_code=204)

    async def replace_by_id(id: str, request: Request, repo: Repo) -> Response:
        data = await routes.data(request, "replace_by_id")
        await repo.replace_by_id(id, await routes.with_stored_hidden(repo, id, data))
        return Response(status_code=204)

    async def delete_by_id(id: str, repo: Repo) -> Response:
        await repo.delete_by_id(id)
        return Response(status_code=204)

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
    add_relation_routes(
        router,
        routed,
        repository=for_rest,
        chosen=chosen,
        base=controller.removesuffix("Controller"),
        max_limit=max_limit,
        route_class=_route_class,
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
                except RequestRefused as refused:
                    return refused.response
                except ODMError as error:
                    return error_response(error, meta)
                except RequestValidationError as error:
                    return request_error_response(error)

            return handle

    LoopBackRoute.__name__ = LoopBackRoute.__qualname__ = f"{meta.name}Route"
    return LoopBackRoute
