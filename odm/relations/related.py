"""Related repositories: the subclass of the repository class ``related()`` returns.

For ``has_many``, ``has_one``, ``belongs_to`` and ``references_many`` the relation is a
fixed scope; for ``has_many_through`` the target ids are read from the through documents
at each call (one query) and the call runs on a copy scoped to them. ``get()`` gives a
to-one relation's target; ``link()`` / ``unlink()`` manage through documents; deletes
through a ``has_many_through`` relation also remove the deleted targets' links.

Creating is the relation's only where its key lives on the target (``has_many``,
``has_one``, ``has_many_through`` with its link): a ``belongs_to`` or
``references_many`` target would not be related once created (the key is the
source's), so ``create`` and the upserts are refused there (as LoopBack has no create on
them), and the upserts are refused on ``has_many_through`` (an inserted target would
have no link).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import Any

from bson import ObjectId

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
#: the methods that may insert a target
_UPSERTS = frozenset(["find_or_create", "upsert", "replace_or_create", "upsert_with_where"])
#: the relations whose key is the source's: a target created through them is unrelated
_KEY_ON_SOURCE = frozenset(["belongs_to", "references_many"])


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

    async def _bound(self, session: Any, options: Any = None) -> Any:
        """For ``has_many_through``: a plain copy scoped to the linked targets."""
        plain = self._plain()
        if self.relation.kind != "has_many_through":
            return plain
        relation = self.relation
        assert relation.key_through is not None and relation.target.id is not None
        links = await self._through().find(
            {"where": {relation.key_to: self.source_key}, "fields": [relation.key_through]},
            session=session,
            options=options,
        )
        ids = list(dict.fromkeys(getattr(link, relation.key_through) for link in links))
        plain._set_scope(
            merge_scope(plain.scope, {"where": {relation.target.id.name: {"inq": ids}}})
        )
        return plain

    async def get(self, *, session: Any = None, options: Any = None) -> Any:
        """The target of a ``has_one`` / ``belongs_to`` relation; ``EntityNotFoundError``
        when there is none."""
        if self.relation.many:
            raise ODMError(
                f"get() is for to-one relations; {self.relation.name!r} is a "
                f"{self.relation.kind} relation: use find()"
            )
        bound = await self._bound(session, options)
        found = await bound.find_one(session=session, options=options)
        if found is None:
            raise EntityNotFoundError(self.relation.target.name, self.source_key)
        return found

    def _refuse_insert(self, method: str) -> None:
        """``ODMError`` when ``method`` may insert a target this relation would not hold."""
        relation = self.relation
        source = f"{relation.source.name}.{relation.name}"
        if relation.kind in _KEY_ON_SOURCE:
            raise ODMError(
                f"{method}() through {source} ({relation.kind}): the key is "
                f"{relation.source.name}.{relation.key_from}, so a target created here would "
                f"not be related; create the {relation.target.name} with its own repository, "
                f"then set {relation.key_from} on the {relation.source.name}"
            )
        if relation.kind == "has_many_through" and method not in ("create", "create_all"):
            raise ODMError(
                f"{method}() through {source} (has_many_through): a target it inserts would "
                "have no link; use create() (it makes the target and its link), or "
                f"{method}() on the {relation.target.name} repository and then link()"
            )

    async def create(self, data: Any, *, session: Any = None, options: Any = None) -> Any:
        """Create a target; for ``has_many_through`` also the through document linking
        it to the source. Refused (``ODMError``) for ``belongs_to`` and
        ``references_many``, whose key is the source's."""
        self._refuse_insert("create")
        created = await self._plain().create(data, session=session, options=options)
        if self.relation.kind == "has_many_through":
            await self.link(created, session=session, options=options)
        return created

    async def create_all(
        self, items: Sequence[Any], *, session: Any = None, options: Any = None
    ) -> list[Any]:
        """Create targets with one ``insert_many``; for ``has_many_through`` their links
        with another."""
        self._refuse_insert("create_all")
        created: list[Any] = await self._plain().create_all(items, session=session, options=options)
        if self.relation.kind == "has_many_through" and created:
            await self._through().create_all(
                [self._link_data(target, None) for target in created],
                session=session,
                options=options,
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
        self,
        target: Any,
        data: Mapping[str, Any] | None = None,
        *,
        session: Any = None,
        options: Any = None,
    ) -> Any:
        """Link ``target`` (an entity or its id) to the source: a through document with
        both keys and ``data``; returns it."""
        self._need_through("link")
        link_data = self._link_data(target, data)
        return await self._through().create(link_data, session=session, options=options)

    async def unlink(self, target: Any, *, session: Any = None, options: Any = None) -> int:
        """Remove the through documents linking ``target`` (an entity or its id) to the
        source; returns how many were deleted."""
        self._need_through("unlink")
        relation = self.relation
        assert relation.key_through is not None
        target_id = target.get_id() if hasattr(target, "get_id") else target
        where = {relation.key_to: self.source_key, relation.key_through: target_id}
        deleted: int = await self._through().delete_all(where, session=session, options=options)
        return deleted

    async def save(self, entity: Any, **options: Any) -> Any:
        """``create`` (through the relation) when the entity has no id, else a replace of
        a related target."""
        if entity.get_id() is None:
            return await self.create(entity, **options)
        bound = await self._bound(options.get("session"), options.get("options"))
        return await bound.save(entity, **options)

    async def delete_all(self, where: Any = None, **options: Any) -> int:
        """Delete the related targets matching ``where``; for ``has_many_through`` also
        every through document linking a deleted target (LoopBack deletes targets and
        links)."""
        bound = await self._bound(options.get("session"), options.get("options"))
        if self.relation.kind != "has_many_through":
            deleted: int = await bound.delete_all(where, **options)
            return deleted
        assert self.relation.target.id is not None
        id_name = self.relation.target.id.name
        found = await bound.find({"where": where, "fields": [id_name]}, **options)
        ids = [entity.get_id() for entity in found]
        if not ids:
            return 0
        chosen = {id_name: {"inq": ids}}
        deleted = await bound.delete_all({"and": [where, chosen]} if where else chosen, **options)
        await self._unlink_targets(ids, options)
        return deleted

    async def delete_by_id(self, id: Any, **options: Any) -> None:
        """Delete a related target (``EntityNotFoundError`` when it is not related); for
        ``has_many_through`` also every through document linking it."""
        bound = await self._bound(options.get("session"), options.get("options"))
        await bound.delete_by_id(id, **options)
        if self.relation.kind == "has_many_through":
            await self._unlink_targets([id], options)

    async def delete(self, entity: Any, **options: Any) -> None:
        """``delete_by_id(entity's id)`` through the relation."""
        await self.delete_by_id(entity.get_id(), **options)

    async def _unlink_targets(self, ids: list[Any], options: Mapping[str, Any]) -> None:
        relation = self.relation
        assert relation.key_through is not None
        where = {relation.key_through: {"inq": [_link_key(self, i) for i in ids]}}
        await self._through().delete_all(
            where, session=options.get("session"), options=options.get("options")
        )

    async def find_one_and_update(self, *args: Any, **options: Any) -> Any:
        """``find_one_and_update`` on the related targets (``upsert=True`` only where a
        target it inserts is related)."""
        if options.get("upsert"):
            self._refuse_insert("find_one_and_update(upsert=True)")
        bound = await self._bound(options.get("session"), options.get("options"))
        return await bound.find_one_and_update(*args, **options)

    async def iterate(self, filter: Any = None, **options: Any) -> AsyncIterator[Any]:
        """``iterate`` over the related targets."""
        bound = await self._bound(options.get("session"), options.get("options"))
        async for entity in bound.iterate(filter, **options):
            yield entity


def _link_key(related: RelatedMethods, target_id: Any) -> Any:
    """A target id as the through documents hold it (a generated id is a str)."""
    return _link_value(related.relation, target_id)


def _link_value(relation: Relation, target_id: Any) -> Any:
    if isinstance(target_id, ObjectId) and relation.through is not None:
        assert relation.key_through is not None
        if relation.through.properties[relation.key_through].type.python is str:
            return str(target_id)
    return target_id


def _bound_method(name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    async def method(self: RelatedMethods, *args: Any, **kwargs: Any) -> Any:
        if name in _UPSERTS:
            self._refuse_insert(name)
        bound = await self._bound(kwargs.get("session"), kwargs.get("options"))
        return await getattr(bound, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}`` on the related targets only."
    return method


def related_class(base: type[Any]) -> type[Any]:
    """The related-repository subclass of a repository class (made once per class)."""
    found = _RELATED.get(base)
    if found is not None:
        return found
    namespace: dict[str, Any] = {
        name: _bound_method(name) for name in _BOUND if name not in vars(RelatedMethods)
    }
    found = type(f"Related{base.__name__}", (RelatedMethods, base), namespace)
    _RELATED[base] = found
    return found


_RELATED: dict[type[Any], type[Any]] = {}
