"""Related repositories: the subclass of the repository class ``related()`` returns.

For ``has_many``, ``has_one``, ``belongs_to`` and ``references_many`` the relation is a
fixed scope; for ``has_many_through`` the target ids are read from the through documents
at each call (one query) and the call runs on a copy scoped to them. ``get()`` gives a
to-one relation's target; ``link()`` / ``unlink()`` manage through documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import Any

from ..errors import EntityNotFoundError, ODMError
from ..filters.scope import merge_scope
from .metadata import Relation

__all__ = ["RelatedMethods", "related_class"]

#: the methods of a ``has_many_through`` related repository run on the linked targets
_BOUND = (
    "find",
    "find_one",
    "find_by_id",
    "find_by_ids",
    "count",
    "exists",
    "update_all",
    "update_by_id",
    "replace_by_id",
    "find_one_and_update",
    "delete_all",
    "delete_by_id",
    "save",
    "update",
    "delete",
    "find_or_create",
    "upsert",
    "replace_or_create",
    "upsert_with_where",
    "aggregate",
)


class RelatedMethods:
    """What a related repository adds to the repository class."""

    relation: Relation
    #: the source's key value the relation is constrained to
    source_key: Any
    _source_repository: Any

    def _bind_relation(self, relation: Relation, key: Any, source_repository: Any) -> None:
        self.relation = relation
        self.source_key = key
        self._source_repository = source_repository

    def _plain(self) -> Any:
        """A copy of this repository as the plain repository class (same scope)."""
        plain: Any = object.__new__(type(self).__mro__[2])
        plain.__dict__.update(self.__dict__)
        return plain

    def _through(self) -> Any:
        assert self.relation.through is not None
        return self._source_repository._repository_for(self.relation.through.cls)

    async def _bound(self, session: Any) -> Any:
        """For ``has_many_through``: a plain copy scoped to the linked targets."""
        plain = self._plain()
        if self.relation.kind != "has_many_through":
            return plain
        relation = self.relation
        assert relation.key_through is not None and relation.target.id is not None
        links = await self._through().find(
            {"where": {relation.key_to: self.source_key}, "fields": [relation.key_through]},
            session=session,
        )
        ids = list(dict.fromkeys(getattr(link, relation.key_through) for link in links))
        plain._set_scope(
            merge_scope(plain.scope, {"where": {relation.target.id.name: {"inq": ids}}})
        )
        return plain

    async def get(self, *, session: Any = None) -> Any:
        """The target of a ``has_one`` / ``belongs_to`` relation; ``EntityNotFoundError``
        when there is none."""
        if self.relation.many:
            raise ODMError(
                f"get() is for to-one relations; {self.relation.name!r} is a "
                f"{self.relation.kind} relation: use find()"
            )
        found = await (await self._bound(session)).find_one(session=session)
        if found is None:
            raise EntityNotFoundError(self.relation.target.name, self.source_key)
        return found

    async def create(self, data: Any, *, session: Any = None) -> Any:
        """Create a target; for ``has_many_through`` also the through document linking
        it to the source."""
        created = await self._plain().create(data, session=session)
        if self.relation.kind == "has_many_through":
            await self.link(created, session=session)
        return created

    async def create_all(self, items: Sequence[Any], *, session: Any = None) -> list[Any]:
        """Create targets with one ``insert_many``; for ``has_many_through`` their links
        with another."""
        created: list[Any] = await self._plain().create_all(items, session=session)
        if self.relation.kind == "has_many_through" and created:
            await self._through().create_all(
                [self._link_data(target, None) for target in created], session=session
            )
        return created

    def _link_data(self, target: Any, data: Mapping[str, Any] | None) -> dict[str, Any]:
        relation = self.relation
        assert relation.key_through is not None
        target_id = target.get_id() if hasattr(target, "get_id") else target
        return {**(data or {}), relation.key_to: self.source_key, relation.key_through: target_id}

    def _need_through(self, method: str) -> None:
        if self.relation.kind != "has_many_through":
            raise ODMError(f"{method}() is for has_many_through relations")

    async def link(
        self, target: Any, data: Mapping[str, Any] | None = None, *, session: Any = None
    ) -> Any:
        """Link ``target`` (an entity or its id) to the source: a through document with
        both keys and ``data``; returns it."""
        self._need_through("link")
        return await self._through().create(self._link_data(target, data), session=session)

    async def unlink(self, target: Any, *, session: Any = None) -> int:
        """Remove the through documents linking ``target`` (an entity or its id) to the
        source; returns how many were deleted."""
        self._need_through("unlink")
        relation = self.relation
        assert relation.key_through is not None
        target_id = target.get_id() if hasattr(target, "get_id") else target
        where = {relation.key_to: self.source_key, relation.key_through: target_id}
        deleted: int = await self._through().delete_all(where, session=session)
        return deleted

    async def iterate(self, filter: Any = None, **options: Any) -> AsyncIterator[Any]:
        """``iterate`` over the related targets."""
        bound = await self._bound(options.get("session"))
        async for entity in bound.iterate(filter, **options):
            yield entity


def _bound_method(name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    async def method(self: RelatedMethods, *args: Any, **kwargs: Any) -> Any:
        bound = await self._bound(kwargs.get("session"))
        return await getattr(bound, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}`` on the related targets only."
    return method


def related_class(base: type[Any]) -> type[Any]:
    """The related-repository subclass of a repository class (made once per class)."""
    found = _RELATED.get(base)
    if found is not None:
        return found
    namespace: dict[str, Any] = {name: _bound_method(name) for name in _BOUND}
    found = type(f"Related{base.__name__}", (RelatedMethods, base), namespace)
    _RELATED[base] = found
    return found


_RELATED: dict[type[Any], type[Any]] = {}
