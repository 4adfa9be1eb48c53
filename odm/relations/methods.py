"""The relation methods of every :class:`~odm.Repository`: ``related()`` and the
``include`` steps of its reads (the class is a base of ``Repository``).

A related repository is an ordinary repository of the target (a subclass made by
:func:`odm.relations.related.related_class`) whose scope is the relation's constraint
merged with the target's default scope: its options and invariants are the
repository's own, and no write can move a document out of the relation. Its operation
hooks are the target class's ``@odm.hook`` hooks, plus the source repository's observers
when the target is the source repository's own class (a relation of a class to itself);
``share_hooks()`` gives it another repository's. Include reads the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Generic, TypeVar

from bson import ObjectId
from pydantic import BaseModel

from ..errors import ODMError
from ..filters.scope import merge_scope
from ..ids import coerce_id
from ..metadata import ModelMeta
from ..models import Entity
from ..operations import Operation
from .include import attach, include_keys
from .metadata import Relation, relation_of
from .related import related_class

__all__ = ["RelationMethods"]

E = TypeVar("E", bound=Entity)
#: the batch of ``iterate`` an include reads its relations for, with no ``batch_size``
_INCLUDE_BATCH = 100


def _base_repository(cls: type[Any]) -> type[Any]:
    """The class that mixes :class:`RelationMethods` in (``Repository``)."""
    for klass in cls.__mro__:
        if RelationMethods in klass.__bases__:
            return klass
    raise TypeError(f"{cls.__name__} is not a repository class")


class RelationMethods(Generic[E]):
    """``related()`` and the include steps of :class:`~odm.Repository`."""

    #: how deep ``include`` may nest (``Repository(..., max_include_depth=3)``)
    max_include_depth: int = 3

    def _repository_for(self, entity_class: type[Any]) -> Any:
        """A repository of another entity class on the same database with this one's
        options (query options, load validation, concerns, include depth)."""
        return self._repository_of(_base_repository(type(self)), entity_class)

    def _repository_of(self, repository_class: type[Any], entity_class: type[Any]) -> Any:
        """A repository of ``entity_class`` with this one's options; of this repository's
        own class (a relation of a class to itself), it also shares this one's operation
        hooks (its observers). Another class's repository has that class's ``@odm.hook``
        hooks: it takes a repository's observers with ``share_hooks()``."""
        repo: Any = self
        made = repository_class(
            entity_class,
            repo.database,
            allow_extended_operators=repo.allow_extended_operators,
            prohibit_hidden_in_query=repo.prohibit_hidden_in_query,
            validate_on_load=repo.validate_on_load,
            allow_regexp=repo.allow_regexp,
            max_include_depth=repo.max_include_depth,
            **repo.collection_options,
        )
        if entity_class is repo.entity_class:
            made._hooks = repo._hooks
        return made

    def related(self, source: Any, name: str) -> Any:
        """The repository of relation ``name``'s targets for ``source`` (an entity or its
        id), constrained to the relation as a scope merged with the target's default
        scope: ``create`` sets the key, reads, counts, updates and deletes see only the
        related documents, ``get()`` gives a to-one relation's target, ``link()`` /
        ``unlink()`` manage a ``has_many_through`` relation's through documents.

        Its operation hooks are the target class's ``@odm.hook`` hooks, and this
        repository's observers when the target is this repository's own class; it takes
        another repository's with ``share_hooks()``.

        >>> orders = customers.related(alice, "orders")
        >>> await orders.create({"total": 10.0})   # customer_id set to alice.id
        """
        meta: ModelMeta = getattr(self, "meta")  # noqa: B009
        relation = relation_of(meta, name)
        if relation is None:
            known = ", ".join(sorted(meta.relations)) or "none"
            raise ODMError(f"{meta.name} has no relation {name!r} (its relations: {known})")
        key = _source_key(meta, relation, source)
        base = _base_repository(type(self))
        related: Any = self._repository_of(related_class(base), relation.target.cls)
        related._bind_relation(relation, key, self)
        if relation.kind != "has_many_through":
            constraint = _constraint(relation, key)
            related._set_scope(merge_scope(related.scope, {"where": constraint}))
        return related

    def _include_keys(self, filter: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        meta: ModelMeta = getattr(self, "meta")  # noqa: B009
        return include_keys(meta, filter) if meta.relations else filter

    async def _include(
        self,
        filter: Mapping[str, Any] | None,
        entities: list[E],
        session: Any,
        options: Mapping[str, Any] | None = None,
    ) -> list[E]:
        """Set the relations ``filter`` includes on ``entities`` (one query each); the
        read's ``options`` reach the hooks of the included classes."""
        if filter and filter.get("include") is not None:
            await attach(self, filter, entities, session=session, options=options)
        return entities

    async def _iterate_including(
        self, operation: Operation, query: Any, batch_size: int | None, session: Any
    ) -> AsyncIterator[E]:
        """``iterate`` with an include: the relations read per batch of the cursor."""
        repo: Any = self
        partial = query.projection
        batch: list[E] = []
        size = batch_size or _INCLUDE_BATCH
        async for doc in repo._cursor(query, batch_size=batch_size, session=session):
            entity = repo._load(doc, partial=partial)
            if repo._hooks.active:  # loaded: the hook sees (and may change) the entity
                await repo._hooks.loaded(operation.item(entity), doc)
            batch.append(entity)
            if len(batch) >= size:
                for entity in await self._include(
                    operation.query, batch, session, operation.options
                ):
                    yield entity
                batch = []
        for entity in await self._include(operation.query, batch, session, operation.options):
            yield entity


def _source_key(meta: ModelMeta, relation: Relation, source: Any) -> Any:
    assert meta.id is not None
    if isinstance(source, BaseModel):
        if not isinstance(source, meta.cls):
            raise TypeError(
                f"related(): the source is a {meta.name} or its id, not {type(source).__name__}"
            )
        key = getattr(source, relation.key_from)
    elif relation.key_from == meta.id.name:
        key = coerce_id(meta, source)
        if isinstance(key, ObjectId) and meta.id.type.python is str:
            key = str(key)  # a generated id's Python value, as the related keys hold it
    else:
        raise TypeError(
            f"related(..., {relation.name!r}): the relation starts from {meta.name}."
            f"{relation.key_from}, so give the {meta.name} entity, not its id"
        )
    if key is None and relation.kind != "belongs_to":
        raise ODMError(f"{meta.name}.{relation.key_from} is not set: save the entity first")
    return key


def _constraint(relation: Relation, key: Any) -> dict[str, Any]:
    if relation.kind == "references_many":
        return {relation.key_to: {"inq": list(key or ())}}
    return {relation.key_to: key}
