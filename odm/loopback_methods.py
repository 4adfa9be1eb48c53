"""LoopBack's remaining repository methods, part of every :class:`~odm.Repository`:
the upsert family (``find_or_create``, ``upsert``, ``replace_or_create``,
``upsert_with_where``), each one atomic server write whose branches are validated as
what they are (the insert branch as a create, through ``odm.updates.upsert_document``;
the update branch as a partial update); ``find_by_ids``; named scopes (``scoped``);
``aggregate`` (its pipeline checked by ``odm.aggregation``); the operation hooks'
registration (``observe``, ``share_hooks``, ``odm.hooks``); index migration
(``migrate``, ``automigrate``).

They run the repository's operation pipeline (``odm.operations``) like its other
methods; the class is a base of ``Repository`` (its methods see the repository's steps).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, Self, TypeVar, cast, overload

from bson import ObjectId
from pydantic import BaseModel

from .aggregation import check_pipeline, scoped_pipeline
from .codec import decode
from .drivers import Collection, Document, Session
from .errors import (
    DuplicateKeyError,
    EntityNotFoundError,
    ErrorDetail,
    InvalidFilterError,
    ODMError,
    ValidationError,
)
from .filters import Filter as FilterDict
from .filters import Query, merge_scope
from .filters import Where as WhereDict
from .hidden import path_is_hidden
from .hooks import HookFunction, HookName, HookRegistry
from .ids import coerce_id
from .indexes import MigrationReport, automigrate_repository, migrate_repository
from .metadata import ID_FIELD, ModelMeta, meta_of
from .models import Entity
from .operations import HookPoints, Operation
from .scoping import apply_scope_defaults, scope_conflicts, scope_values
from .updates import UpdatePlan, scope_values_of, upsert_document
from .versioning import insertable, replace_or_insert, upsert_changes

__all__ = ["LoopBackMethods"]

E = TypeVar("E", bound=Entity)
M = TypeVar("M", bound=BaseModel)
Filter = FilterDict | Mapping[str, Any]
Where = WhereDict | Mapping[str, Any]
Options = Mapping[str, Any] | None
Validated = tuple[E, Document]
#: how often an upsert is tried when a racing upsert broke a unique index
_UPSERT_ATTEMPTS = 3


class _Steps(Protocol[E]):
    """The repository's pipeline points and steps these methods run (``Repository``)."""

    meta: ModelMeta
    entity_class: type[E]
    scope: dict[str, Any] | None
    allow_extended_operators: bool
    prohibit_hidden_in_query: bool
    _scope_values: dict[str, Any]
    _collection: Collection
    _hooks: HookPoints

    def _set_scope(self, scope: Mapping[str, Any] | None) -> None: ...
    async def _access(self, operation: Operation) -> None: ...
    async def _saving(
        self, operation: Operation, validated: Validated[E], *, target_id: Any = ...
    ) -> Validated[E]: ...
    async def _saving_changes(
        self, operation: Operation, plan: UpdatePlan, *, upsert: bool = False
    ) -> Document: ...
    async def _saved(
        self, operation: Operation, *, is_new_instance: bool | None = None
    ) -> None: ...
    async def _loaded(
        self, operation: Operation, doc: Document, *, partial: Mapping[str, Any] | None = None
    ) -> E: ...
    async def _loaded_all(
        self, operation: Operation, docs: list[Document], *, partial: Mapping[str, Any] | None
    ) -> list[E]: ...
    def _upsert_document(self, operation: Operation, plan: UpdatePlan) -> Document: ...
    def _validate_create(self, data: Mapping[str, Any] | E) -> Validated[E]: ...
    def _validate_replace(self, data: Mapping[str, Any] | E, *, target_id: Any) -> Validated[E]: ...
    def _order(self, order: Any) -> list[tuple[str, int]] | None: ...
    def _query(self, filter: Filter | None, *, id: Any = ...) -> Query: ...
    def _where(self, where: Where | None) -> dict[str, Any]: ...
    def _id_where(self, id: Any, where: Where | None = None) -> dict[str, Any]: ...
    def _update_plan(self, data: Mapping[str, Any], **target: Any) -> UpdatePlan: ...
    def _store_id(self, entity: E, inserted: Any, data: Mapping[str, Any] | BaseModel) -> None: ...


class LoopBackMethods(Generic[E]):
    """``find_or_create``, ``upsert``, ``replace_or_create``, ``upsert_with_where``,
    ``find_by_ids``, ``scoped`` and ``aggregate`` of :class:`~odm.Repository`."""

    def _repository(self) -> _Steps[E]:
        return cast(_Steps[E], self)

    async def find_or_create(
        self,
        where: Where,
        data: Mapping[str, Any] | None = None,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> tuple[E, bool]:
        """The entity matching ``where``, or a new one created from ``data`` (the scalar
        equalities of ``where`` fill the properties ``data`` lacks): ``(entity, created)``.

        One atomic upsert whose update is only ``$setOnInsert`` with the document a create
        would insert, so concurrent calls for the same key create one entity: the stored
        one is never changed, and ``created`` is whether this call inserted it. When the
        create would be refused (``ValidationError``: data that is not a valid entity, a
        chosen id on a ``force_id`` model, ``where`` and ``data`` disagreeing, a scope
        conflict), the call only finds, and raises that error when nothing matches.
        """
        repo = self._repository()
        operation = Operation(
            "find_or_create", repo, session, where=where, data=data, options=options
        )
        await repo._access(operation)
        query = repo._where(operation.where)
        try:
            validated = self._validate_found_or_created(where, data or {})
        except ValidationError:
            found = await repo._collection.find_one(query, sort=repo._order(None), session=session)
            if found is None:
                raise
            return await repo._loaded(operation, found), False
        entity, doc = await repo._saving(operation, validated)
        on_insert = dict(doc)
        chosen = self._id_name in self._named_properties(where, data or {})
        if ID_FIELD not in on_insert:  # a database-generated id: chosen here, to know it
            on_insert[ID_FIELD] = ObjectId()
        stored = await self._find_or_insert(query, on_insert, chosen=chosen, session=session)
        created = stored is None
        if created:
            repo._store_id(entity, on_insert[ID_FIELD], entity)
        else:
            assert stored is not None
            entity = await repo._loaded(operation, stored)
        operation.instance = entity  # after save sees the entity returned
        await repo._saved(operation, is_new_instance=created)
        return entity, created

    async def upsert(
        self,
        data: Mapping[str, Any] | E,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> E:
        """LoopBack's ``updateOrCreate``/``patchOrCreate``: with an id that exists (in
        scope), a partial update with ``data``; otherwise a create. One atomic write.

        With a generated id and ``force_id`` (the default), an id no stored entity has
        cannot be created (``ValidationError``, code ``absence``), as with ``create``.
        """
        repo = self._repository()
        operation = Operation("upsert", repo, session, data=None, instance=data, options=options)
        await repo._access(operation)
        given = self._given_id(data)
        if given is None:
            return await self._inserted(operation, data)
        id = coerce_id(repo.meta, given)
        changes = self._without_id(data)
        restriction = operation.where  # an access hook's, if any
        operation.id, operation.where, operation.data = id, {self._id_name: id}, changes
        operation.instance = None  # a partial update: data + where
        plan = repo._update_plan(changes, target_id=id)
        query = repo._id_where(id, restriction)
        refused = self._insert_refused(operation, plan)
        update = await repo._saving_changes(operation, plan, upsert=refused is None)
        if refused is None:
            doc = await self._upserted(query, update, session=session)
        else:  # only an update can run: when there is nothing to update, the refusal
            updated = await self._guarded_update(plan, query, update, session=session)
            if updated is None:
                raise refused
            doc = updated
        entity = await repo._loaded(operation, doc)
        # the atomic upsert does not say whether it inserted; the update alone did not
        await repo._saved(operation, is_new_instance=False if refused is not None else None)
        return entity

    async def replace_or_create(
        self,
        data: Mapping[str, Any] | E,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> E:
        """Replace the entity with ``data``'s id whole when it exists (in scope), else
        create it. One atomic write; ``force_id`` as for ``upsert``."""
        repo = self._repository()
        operation = Operation("replace_or_create", repo, session, instance=data, options=options)
        await repo._access(operation)
        given = self._given_id(data)
        if given is None:
            return await self._inserted(operation, data)
        id = coerce_id(repo.meta, given)
        operation.id = id
        forced = self._id_forced()
        validated = repo._validate_replace(data, target_id=id)
        if not forced:
            repo._validate_create(insertable(repo.meta, data))  # the insert branch is a create
        query = repo._id_where(id, operation.where)
        entity, doc = await repo._saving(operation, validated, target_id=id)
        doc.pop(ID_FIELD, None)  # the stored _id, or the query's for an insert
        matched = await replace_or_insert(repo, id, query, entity, doc, forced, session)
        if not matched and forced:
            repo._validate_create(data)
            raise EntityNotFoundError(repo.meta.name, id)  # pragma: no cover
        repo._store_id(entity, id, data)
        await repo._saved(operation, is_new_instance=not matched)
        return entity

    async def upsert_with_where(
        self,
        where: Where,
        data: Mapping[str, Any],
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> E:
        """One entity matching ``where`` (in scope): a partial update with ``data``; none:
        a create (``where``'s scalar equalities fill what ``data`` lacks); more than one:
        ``ODMError``, and nothing is written."""
        repo = self._repository()
        operation = Operation(
            "upsert_with_where", repo, session, where=where, data=data, options=options
        )
        await repo._access(operation)
        plan = repo._update_plan(data)
        query = repo._where(operation.where)
        matches = await repo._collection.find_all(
            query, projection={ID_FIELD: 1}, limit=2, session=session
        )
        if len(matches) > 1:
            raise ODMError(
                f"upsert_with_where: more than one {repo.meta.name} matches the where clause; "
                "nothing was written"
            )
        refused = self._insert_refused(operation, plan)
        update = await repo._saving_changes(operation, plan, upsert=refused is None)
        doc: Document | None = None
        if matches:  # the one match, if it still matches
            match = {"$and": [query, {ID_FIELD: matches[0][ID_FIELD]}]}
            doc = await self._guarded_update(plan, match, update, session=session)
        if doc is None:
            if refused is not None:  # nothing to update, and the create is refused
                raise refused
            doc = await self._upserted(query, update, session=session)
        entity = await repo._loaded(operation, doc)
        await repo._saved(operation, is_new_instance=not matches)
        return entity

    async def find_by_ids(
        self,
        ids: Iterable[Any],
        filter: Filter | None = None,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> list[E]:
        """The entities with these ids (in scope), in the order of ``ids``, with one query.

        Each id is coerced like every id argument; one that cannot be an id of this model,
        and one no entity has, is left out. An id given twice gives its entity once, at its
        first place. ``filter`` may add a where, ``fields`` (the id is always read, to put
        the results in order), ``skip`` and ``limit`` (applied to the ordered list); the
        order is the order of ``ids``.
        """
        repo = self._repository()
        if isinstance(ids, str | bytes | Mapping | BaseModel) or not isinstance(ids, Iterable):
            raise InvalidFilterError("ids", f"ids is a list of ids, not {type(ids).__name__}")
        if filter is not None and not isinstance(filter, Mapping):
            raise InvalidFilterError("", f"a filter is a mapping, not {type(filter).__name__}")
        operation = Operation("find_by_ids", repo, session, id=ids, query=filter, options=options)
        await repo._access(operation)
        wanted: dict[Any, int] = {}
        for given in ids:
            try:
                wanted.setdefault(coerce_id(repo.meta, given), len(wanted))
            except EntityNotFoundError:
                continue
        if not wanted:
            return []
        id_where = {self._id_name: {"inq": list(wanted)}}
        where = (operation.query or {}).get("where")
        given = cast(Any, self)._include_keys(operation.query) or {}  # keys an include needs
        query = repo._query({**given, "where": {"and": [id_where, where]} if where else id_where})
        projection = query.projection
        docs = await repo._collection.find_all(query.where, projection=projection, session=session)
        entities = await repo._loaded_all(operation, docs, partial=projection)
        placed = sorted(
            entities, key=lambda entity: wanted.get(coerce_id(repo.meta, entity.get_id()), 0)
        )
        end = None if not query.limit else query.skip + query.limit
        chosen = placed[query.skip : end]
        return cast(
            "list[E]",
            await cast(Any, self)._include(operation.query, chosen, session, operation.options),
        )

    @overload
    async def aggregate(
        self,
        pipeline: Sequence[Mapping[str, Any]],
        *,
        output: None = None,
        session: Session | None = None,
        options: Options = None,
    ) -> list[dict[str, Any]]: ...

    @overload
    async def aggregate(
        self,
        pipeline: Sequence[Mapping[str, Any]],
        *,
        output: type[M],
        session: Session | None = None,
        options: Options = None,
    ) -> list[M]: ...

    async def aggregate(
        self,
        pipeline: Sequence[Mapping[str, Any]],
        *,
        output: type[BaseModel] | None = None,
        session: Session | None = None,
        options: Options = None,
    ) -> list[dict[str, Any]] | list[Any]:
        """Run a MongoDB aggregation ``pipeline`` (stages on stored field names) over the
        documents in scope: the repository's scope's where (the default scope's, merged
        with a named one through ``scoped``) comes first, as a ``$match`` (and a
        ``$lookup``, ``$graphLookup`` or ``$unionWith`` of this collection reads only the
        documents in scope too).

        ``$out``, ``$merge``, ``$function``, ``$accumulator`` and ``$where`` are refused
        wherever they appear (sub-pipelines of ``$lookup``, ``$unionWith`` and ``$facet``
        included), and so is a pipeline that is not a list of one-key stage dicts: an
        ``InvalidFilterError`` before anything is sent. A repository made with
        ``prohibit_hidden_in_query=True`` also refuses a pipeline naming a hidden field.

        The results are plain dicts, or instances of ``output`` (a model class) validated
        from each document (odm models by their field names; the entity class as ``find``
        loads it)::

            totals = await orders.aggregate(
                [{"$group": {"_id": "$customer", "total": {"$sum": "$amount"}}}],
                output=CustomerTotal,
            )
        """
        repo = self._repository()
        if output is not None and not (isinstance(output, type) and issubclass(output, BaseModel)):
            raise ODMError(f"aggregate: output is a model class or None, not {output!r}")
        meta = repo.meta if repo.prohibit_hidden_in_query else None
        stages = check_pipeline(pipeline, meta=meta)
        operation = Operation(
            "aggregate", repo, session, query={"pipeline": stages}, options=options
        )
        await repo._access(operation)
        stages = check_pipeline((operation.query or {}).get("pipeline", stages), meta=meta)
        sent = scoped_pipeline(repo._where(None), stages, collection=repo._collection.name)
        docs = await repo._collection.aggregate(sent, session=session)
        if output is None:
            return docs
        if output is repo.entity_class:
            return [await repo._loaded(operation, doc) for doc in docs]
        if meta_of(output) is not None:
            return [decode(output, doc) for doc in docs]
        return [output.model_validate(doc) for doc in docs]

    def scoped(self, name: str) -> Self:
        """The same repository under the model's named scope ``name`` (``@model(scopes=
        {name: filter})``) merged with the current scope: the wheres AND-ed, the smaller
        limit, the named scope's order, skip and fields else the current scope's. Its
        scalar equalities are defaults on create and conflicts on other writes, as the
        default scope's are. An unknown name is an ``ODMError``."""
        repo = self._repository()
        scopes = repo.meta.settings.scopes
        if name not in scopes:
            known = ", ".join(repr(n) for n in sorted(scopes)) or "none"
            raise ODMError(f"{repo.meta.name} has no scope {name!r} (its scopes: {known})")
        clone = copy.copy(self)
        cast(_Steps[E], clone)._set_scope(merge_scope(repo.scope, scopes[name]))
        return clone

    def observe(self, name: HookName, fn: HookFunction) -> None:
        """Register the operation hook ``fn(ctx)`` (sync or async) for ``name``:
        ``access``, ``loaded``, ``before save``, ``persist``, ``after save``, ``before
        delete`` or ``after delete``. It runs after the model class's ``@odm.hook``
        functions and the hooks observed before it. ``unscoped()`` and ``scoped()``
        clones share this repository's hooks: one observed on either runs for both."""
        hooks = self._repository()._hooks
        if not isinstance(hooks, HookRegistry):
            raise ODMError("this repository's hook points do not take observers")
        hooks.observe(name, fn)

    def share_hooks(self, other: LoopBackMethods[E]) -> None:
        """Run ``other``'s operation hooks (a repository of the same entity class, on
        any database): from now on the two share one registry, so a hook observed on
        either runs for both. A relation's repository shares its target's this way."""
        repo, source = self._repository(), other._repository()
        if source.entity_class is not repo.entity_class:
            raise ODMError(
                f"share_hooks: a {repo.meta.name} repository shares the hooks of another "
                f"{repo.meta.name} repository, not of a {source.meta.name} one"
            )
        repo._hooks = source._hooks

    async def migrate(
        self, *, drop_extra: bool = False, replace_conflicting: bool = False
    ) -> MigrationReport:
        """Create the declared indexes that are missing; report the differences."""
        return await migrate_repository(
            cast(Any, self), drop_extra=drop_extra, replace_conflicting=replace_conflicting
        )

    async def automigrate(self) -> MigrationReport:
        """Drop the collection (all its data), recreate it and create the indexes."""
        return await automigrate_repository(cast(Any, self))

    # --- the steps ---------------------------------------------------------------

    def _upsert_document(self, operation: Operation, plan: UpdatePlan) -> Document:
        """The update of an upsert, its insert branch validated as a create."""
        repo = self._repository()
        return upsert_document(
            repo.entity_class,
            operation.where,
            operation.data if operation.data is not None else {},
            scope_values=repo._scope_values,
            allow_extended_operators=repo.allow_extended_operators,
            plan=plan,
        )

    @property
    def _id_name(self) -> str:
        repo = self._repository()
        assert repo.meta.id is not None
        return repo.meta.id.name

    def _id_forced(self) -> bool:
        """True when the id is generated and callers may not choose it (``force_id``)."""
        repo = self._repository()
        assert repo.meta.id is not None
        return repo.meta.id.generated and repo.meta.settings.force_id

    def _given_id(self, data: Mapping[str, Any] | E) -> Any:
        repo = self._repository()
        if isinstance(data, BaseModel):
            return data.__dict__.get(self._id_name)
        if not isinstance(data, Mapping):
            raise ValidationError(
                repo.meta.name,
                [
                    ErrorDetail(
                        path="",
                        code="type",
                        message=f"data is a mapping or a {repo.meta.name}",
                        value=None,
                    )
                ],
            )
        return data.get(self._id_name, data.get("id") if self._id_name != "id" else None)

    def _without_id(self, data: Mapping[str, Any] | E) -> dict[str, Any]:
        """``data`` without its id, by property name (what a partial update changes)."""
        if isinstance(data, BaseModel):
            raw = {n: v for n, v in data.__dict__.items() if n in data.model_fields_set}
            raw.update(data.__pydantic_extra__ or {})
        else:
            raw = dict(data)
        raw = upsert_changes(
            self._repository().meta, raw, from_instance=isinstance(data, BaseModel)
        )
        raw.pop(self._id_name, None)
        raw.pop("id", None)
        return raw

    def _insert_refused(self, operation: Operation, plan: UpdatePlan) -> ValidationError | None:
        """Why the insert branch of an upsert would be refused as a create (None when it
        would not): such a call can only update what is stored, and raises this error
        when nothing is. A generated id with ``force_id`` is never chosen by a caller."""
        repo = self._repository()
        if operation.id is not None and self._id_forced():
            try:
                repo._validate_create({**(operation.data or {}), self._id_name: operation.id})
            except ValidationError as error:
                return error
        try:
            repo._upsert_document(operation, plan)
        except ValidationError as error:
            return error
        return None

    def _named_properties(self, where: Where | None, data: Mapping[str, Any]) -> set[str]:
        """The properties ``where``'s equalities and ``data`` name (is the id among them)."""
        repo = self._repository()
        named = set(scope_values_of(repo.meta, where)) if isinstance(where, Mapping) else set()
        named.update(data)
        if "id" in named:
            named.add(self._id_name)
        return named

    async def _guarded_update(
        self,
        plan: UpdatePlan,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        session: Session | None,
    ) -> Document | None:
        """The update branch alone, within the bounds the plan guards (a bounded ``$inc``):
        the updated document, None when nothing matches, and the bounds' error when the
        stored document matches but the update would take it out of them."""
        repo = self._repository()
        guarded = plan.guard(dict(query))
        doc = await repo._collection.find_one_and_update(
            guarded, update, return_new=True, session=session
        )
        if doc is None and plan.guards:
            stored = await repo._collection.find_one(query, session=session)
            if stored is not None:
                raise plan.out_of_bounds(repo.meta, stored)
        return doc

    async def _upserted(
        self, query: Mapping[str, Any], update: Mapping[str, Any], *, session: Session | None
    ) -> Document:
        """One atomic upsert, and the document it left. Two upserts racing past a unique
        index: the one that lost did not write, and runs once more (now an update). A
        server that applied a racing upsert but replied with no document (the embedded
        server does) is answered by reading the document: the write was done, so it is
        not repeated."""
        repo = self._repository()
        try:
            doc = await repo._collection.find_one_and_update(
                query, update, return_new=True, upsert=True, session=session
            )
        except DuplicateKeyError:
            doc = await repo._collection.find_one_and_update(
                query, update, return_new=True, upsert=True, session=session
            )
        if doc is None:
            doc = await repo._collection.find_one(query, session=session)
        if doc is None:
            raise ODMError(f"an upsert of {repo.meta.name} left no document to return")
        return doc

    async def _find_or_insert(
        self,
        query: Mapping[str, Any],
        on_insert: Document,
        *,
        chosen: bool,
        session: Session | None,
    ) -> Document | None:
        """The stored document matching ``query``, or None when this call inserted
        ``on_insert``: one upsert of ``$setOnInsert`` only, so a stored document is never
        changed.

        Who inserted is read from the ``_id``: a fresh one (generated here) comes back
        only to the call that inserted it; an ``_id`` the caller chose is unique, so the
        document before the upsert is None only for the call that inserted it. A racing
        upsert that broke a unique index (or, on some servers, came back empty) is tried
        again: it then finds the other call's document.
        """
        repo = self._repository()
        update = {"$setOnInsert": on_insert}
        sort = repo._order(None)
        for attempt in range(_UPSERT_ATTEMPTS):
            try:
                found = await repo._collection.find_one_and_update(
                    query, update, sort=sort, return_new=not chosen, upsert=True, session=session
                )
            except DuplicateKeyError:
                if attempt == _UPSERT_ATTEMPTS - 1:
                    raise
                continue
            if chosen:
                return found
            if found is not None:
                return None if found.get(ID_FIELD) == on_insert[ID_FIELD] else found
        raise ODMError(
            f"find_or_create of {repo.meta.name}: the upsert came back empty "
            f"{_UPSERT_ATTEMPTS} times"
        )

    async def _inserted(self, operation: Operation, data: Mapping[str, Any] | E) -> E:
        """The create branch of ``upsert``/``replace_or_create`` (data without an id)."""
        repo = self._repository()
        entity, doc = await repo._saving(operation, repo._validate_create(data))
        inserted = await repo._collection.insert_one(doc, session=operation.session)
        repo._store_id(entity, inserted, data)
        await repo._saved(operation, is_new_instance=True)
        return entity

    def _validate_found_or_created(self, where: Where, data: Mapping[str, Any]) -> Validated[E]:
        """``data`` validated as a create, the scalar equalities of ``where`` filling the
        properties it lacks; a property ``data`` sets to another value than ``where``'s
        is ``conflicting-update`` (the created entity would not match ``where``)."""
        repo = self._repository()
        if not isinstance(data, Mapping):
            raise ValidationError(
                repo.meta.name,
                [ErrorDetail(path="", code="type", message="data is a mapping", value=None)],
            )
        equalities = scope_values_of(repo.meta, where) if isinstance(where, Mapping) else {}
        raw = dict(data)
        apply_scope_defaults(raw, equalities)
        entity, doc = repo._validate_create(raw)
        try:
            expected = scope_values(repo.meta, {"where": where})
        except InvalidFilterError:
            expected = {}
        conflicts = scope_conflicts(entity, expected)
        if conflicts:
            raise ValidationError(
                repo.meta.name,
                [
                    ErrorDetail(
                        path=path,
                        code="conflicting-update",
                        message="differs from the where clause's value for it",
                        value=None if path_is_hidden(repo.meta, path) else value,
                    )
                    for path, _, value in conflicts
                ],
            )
        return entity, doc
