"""LoopBack 4's relation controllers: the routes under ``/{id}/<relation>`` of a CRUD
router, for every ``has_many``, ``has_one`` and ``belongs_to`` relation of its model.

Each route reads the source entity through the request's repository first (a source the
repository cannot see, its scope or tenant included, is a 404), then runs one method of
``repository.related(source, name)``: the target's repository constrained to the
relation, with the source repository's options (hidden properties never queried,
extended operators off). Bodies are read as the target's, and errors are answered for
the target model.
"""

# no ``from __future__ import annotations``: FastAPI reads the routes' signatures, whose
# annotations name this module's closures

from collections.abc import Callable, Collection
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ..errors import EntityNotFoundError
from ..metadata import ModelMeta
from ..relations.metadata import Relation, relations_of
from ..repository import Repository
from .openapi import Components
from .reading import RequestReader
from .routedocs import RouteDocs

__all__ = ["ROUTED_KINDS", "add_relation_routes", "routed_relations"]

#: The relation kinds that get routes (LoopBack 4's relation controllers).
ROUTED_KINDS = ("has_many", "has_one", "belongs_to")


def routed_relations(meta: ModelMeta, names: Collection[str] | None) -> list[Relation]:
    """The relations of ``meta`` to build routes for: ``names`` (None: every relation of
    a routed kind)."""
    if isinstance(names, str):
        raise TypeError("relations is a collection of relation names, not a string")
    found = relations_of(meta) if meta.relations else {}
    if names is None:
        return [relation for relation in found.values() if relation.kind in ROUTED_KINDS]
    chosen: list[Relation] = []
    for name in names:
        relation = found.get(name)
        if relation is None:
            known = ", ".join(sorted(found)) or "none"
            raise ValueError(f"{meta.name} has no relation {name!r} (its relations: {known})")
        if relation.kind not in ROUTED_KINDS:
            raise ValueError(
                f"{meta.name}.{name} is a {relation.kind} relation; routes are built for "
                f"{', '.join(ROUTED_KINDS)} relations"
            )
        chosen.append(relation)
    return chosen


def add_relation_routes(
    router: APIRouter,
    relations: list[Relation],
    *,
    repository: Callable[..., Any],
    chosen: Collection[str],
    base: str,
    max_limit: int,
    route_class: Callable[[ModelMeta], type[APIRoute]],
) -> None:
    """Add the routes of ``relations`` to ``router``; ``repository`` is the router's
    dependency giving the source repository, ``chosen`` its operations, ``base`` the
    controller names' start (``Customer`` for ``CustomerOrderController``)."""
    targets = [relation.target.name for relation in relations]
    for relation in relations:
        unique = targets.count(relation.target.name) == 1
        name = relation.target.name if unique else _pascal(relation.name)
        _RelationRoutes(relation, repository, max_limit).add(
            router, chosen, f"{base}{name}Controller", route_class(relation.target)
        )


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class _RelationRoutes:
    """The routes of one relation."""

    def __init__(self, relation: Relation, repository: Callable[..., Any], max_limit: int) -> None:
        self.relation = relation
        self.repository = repository
        self.target = RequestReader(relation.target, max_limit)
        self.components = Components(relation.target, relation.target.cls)
        self.docs = RouteDocs(relation.target, self.components)

    async def related(self, repo: Repository[Any], id: str) -> Any:
        """The related repository of the source with this id (read first: 404 when the
        repository cannot see it)."""
        relation = self.relation
        source = await repo.find_by_id(id, {"fields": [relation.key_from]})
        return repo.related(source, relation.name)

    def add(
        self, router: APIRouter, chosen: Collection[str], controller: str, route: type[APIRoute]
    ) -> None:
        relation, reader, docs = self.relation, self.target, self.docs
        Repo = Annotated[Repository[Any], Depends(self.repository)]
        path = f"/{{id}}/{relation.name}"
        target = relation.target.name
        source = relation.source.name

        def add(method: str, action: str, endpoint: Callable[..., Any], **extra: Any) -> None:
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                name=f"{controller}.{action}",
                operation_id=f"{controller}.{action}",
                route_class_override=route,
                **extra,
            )

        async def find(id: str, request: Request, repo: Repo) -> Response:
            related = await self.related(repo, id)
            entities = await related.find(reader.filter(request, clamp=True))
            return JSONResponse([entity.to_json() for entity in entities])

        async def get(id: str, request: Request, repo: Repo) -> Response:
            related = await self.related(repo, id)
            found = await related.find_one(reader.filter(request, clamp=False))
            if found is None:
                raise EntityNotFoundError(target, id)
            return JSONResponse(found.to_json())

        async def get_target(id: str, repo: Repo) -> Response:
            related = await self.related(repo, id)
            return JSONResponse((await related.get()).to_json())

        async def create(id: str, request: Request, repo: Repo) -> Response:
            related = await self.related(repo, id)
            created = await related.create(await reader.body(request))
            return JSONResponse(created.to_json())

        async def patch(id: str, request: Request, repo: Repo) -> Response:
            related = await self.related(repo, id)
            where = reader.where(request)
            data = await reader.body(request)
            return JSONResponse({"count": await related.update_all(data, where)})

        async def delete(id: str, request: Request, repo: Repo) -> Response:
            related = await self.related(repo, id)
            return JSONResponse({"count": await related.delete_all(reader.where(request))})

        of = f"of the {source} with this id"
        if relation.kind == "belongs_to":
            if "find" in chosen or "find_by_id" in chosen:
                add(
                    "GET",
                    f"get{_pascal(relation.name)}",
                    get_target,
                    response_model=self.components.entity,
                    responses={**docs._ok(f"the {target}"), **docs._errors(404, 422)},
                    summary=f"the {target} {of}",
                )
            return
        if "find" in chosen:
            if relation.many:
                add(
                    "GET",
                    "find",
                    find,
                    response_model=list.__class_getitem__(self.components.related),
                    responses={
                        **docs._ok(f"the {target} instances"),
                        **docs._errors(400, 404, 422),
                    },
                    summary=f"the {target} instances {of} matching the filter",
                    openapi_extra={"parameters": [docs._filter(with_where=True)]},
                )
            else:
                add(
                    "GET",
                    "get",
                    get,
                    response_model=self.components.related,
                    responses={**docs._ok(f"the {target}"), **docs._errors(400, 404, 422)},
                    summary=f"the {target} {of}",
                    openapi_extra={"parameters": [docs._filter(with_where=False)]},
                )
        if "create" in chosen:
            add(
                "POST",
                "create",
                create,
                response_model=self.components.entity,
                responses={**docs._ok(f"the created {target}"), **docs._errors(400, 404, 409, 422)},
                summary=f"create a {target} {of}",
                openapi_extra={"requestBody": self._new_body(controller)},
            )
        if "update_all" in chosen:
            add(
                "PATCH",
                "patch",
                patch,
                responses={
                    **docs._count(f"how many {target} instances matched"),
                    **docs._errors(400, 404, 409, 422),
                },
                summary=f"update the {target} instances {of} matching the where clause",
                openapi_extra={"parameters": [docs._where()], "requestBody": docs._body("partial")},
            )
        if "delete_by_id" in chosen:
            add(
                "DELETE",
                "delete",
                delete,
                responses={
                    **docs._count(f"how many {target} instances were deleted"),
                    **docs._errors(400, 404, 422),
                },
                summary=f"delete the {target} instances {of} matching the where clause",
                openapi_extra={"parameters": [docs._where()]},
            )

    def _new_body(self, controller: str) -> dict[str, Any]:
        """A relation's ``POST`` body: the target's ``New...`` schema with the relation's
        key optional (the route sets it), inline as LoopBack's ``NewOrderInCustomer``."""
        schema = dict(self.components.schemas[self.components.names["new"]])
        schema["title"] = f"New{self.relation.target.name}In{self.relation.source.name}"
        required = [name for name in schema.get("required", ()) if name != self.relation.key_to]
        schema.pop("required", None)
        if required:
            schema["required"] = required
        return {"required": True, "content": {"application/json": {"schema": schema}}}
