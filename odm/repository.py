"""``Repository``: the collection-backed async repository of one entity class.

Every method runs the same pipeline (``odm.operations``): build the operation's context,
``access``, validate, ``before save``, encode, ``persist``, the driver (through the
adapter of ``odm.drivers``, which raises odm's errors), decode (``loaded``), ``after
save`` / ``after delete``. The steps are the private methods at the end.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar

from bson import ObjectId
from pydantic import BaseModel

from .codec import decode, decode_many, decode_trusted
from .drivers import Collection, Database, Document, DriverDatabase, Session, adapt
from .drivers.concerns import collection_options
from .errors import (
    DuplicateKeyError,
    EntityNotFoundError,
    ErrorDetail,
    InvalidFilterError,
    ODMError,
    ValidationError,
)
from .filters import Filter as FilterDict
from .filters import Query, merge_scope, sort_spec, translate_filter, translate_where
from .filters import Where as WhereDict
from .hidden import path_is_hidden
from .ids import coerce_id, id_condition
from .indexes import MigrationReport, automigrate_repository, migrate_repository
from .metadata import ID_FIELD, ModelMeta, meta_of
from .models import Entity
from .operations import NO_HOOKS, HookPoints, Operation
from .scoping import apply_scope_defaults, scope_conflicts, scope_values
from .updates import UpdatePlan, scope_values_of, translate_update, upsert_document
from .validation import validate_create_document, validate_replace_document

__all__ = ["Repository"]

E = TypeVar("E", bound=Entity)
Filter = FilterDict | Mapping[str, Any]
Where = WhereDict | Mapping[str, Any]
_NO_ID: Any = object()
#: how often ``find_or_create`` tries again when a racing upsert broke a unique index
_UPSERT_ATTEMPTS = 3
Validated = tuple[E, Document]


class _ErrorNames:
    """How the driver seam names a model's properties in its errors: property paths for
    stored field paths, and hidden properties' values kept out (errors end up in logs)."""

    def __init__(self, meta: ModelMeta) -> None:
        self.meta = meta
        self.name = meta.name

    def property_path(self, field_path: str) -> str:
        return self.meta.property_path(field_path)

    def hides(self, property_path: str) -> bool:
        return path_is_hidden(self.meta, property_path)


class Repository(Generic[E]):
    """The async repository of ``entity_class`` on a database ``db``.

    ``db`` is a database of ``pymongo.AsyncMongoClient``, motor's ``AsyncIOMotorClient``
    or ``mongomock_motor.AsyncMongoMockClient`` (``client["name"]``, not the client).
    The repository holds no global state: two repositories of one class on two
    databases work side by side.

    >>> customers = Repository(Customer, db)
    >>> alice = await customers.create({"email": "alice@example.com", "name": "Alice"})
    >>> await customers.find({"where": {"name": {"like": "Al%"}}, "limit": 10})

    ``write_concern`` (a ``pymongo.WriteConcern``, ``"majority"``, a number of members or
    ``WriteConcern``'s arguments as a mapping), ``read_concern`` (a ``ReadConcern`` or its
    level) and ``read_preference`` (``pymongo.ReadPreference.SECONDARY`` or a mode's name,
    ``"secondaryPreferred"``) apply to every command of this repository; mongomock
    accepts and ignores them.
    """

    def __init__(
        self,
        entity_class: type[E],
        db: DriverDatabase | Database,
        *,
        allow_extended_operators: bool = False,
        prohibit_hidden_in_query: bool = False,
        validate_on_load: bool = True,
        allow_regexp: bool = True,
        write_concern: Any = None,
        read_concern: Any = None,
        read_preference: Any = None,
    ) -> None:
        meta = meta_of(entity_class)
        if meta is None or not meta.is_entity or meta.id is None:
            shown = getattr(entity_class, "__name__", entity_class)
            raise TypeError(f"Repository needs an odm.Entity subclass, not {shown!r}")
        self.entity_class = entity_class
        self.meta: ModelMeta = meta
        self.allow_extended_operators = allow_extended_operators
        self.prohibit_hidden_in_query = prohibit_hidden_in_query
        self.validate_on_load = validate_on_load
        self.allow_regexp = allow_regexp
        self._db: Database = adapt(db)
        #: the collection's ``write_concern``/``read_concern``/``read_preference`` as
        #: pymongo objects (the database's own when not given; mongomock ignores them)
        self.collection_options = collection_options(
            write_concern=write_concern, read_concern=read_concern, read_preference=read_preference
        )
        self._collection: Collection = self._db.collection(
            meta.collection, names=_ErrorNames(meta), options=self.collection_options or None
        )
        self._hooks: HookPoints = NO_HOOKS
        self._set_scope(meta.settings.scope)

    def _set_scope(self, scope: Mapping[str, Any] | None) -> None:
        self.scope = dict(scope) if scope else None
        self._scope_where: Mapping[str, Any] | None = (self.scope or {}).get("where")
        self._scope_values = scope_values(self.meta, self.scope)

    def __repr__(self) -> str:
        return f"Repository({self.entity_class.__name__}, collection={self.meta.collection!r})"

    @property
    def collection(self) -> Any:
        """The underlying driver collection (the escape hatch)."""
        return self._collection.raw

    @property
    def database(self) -> Database:
        """The database adapter this repository writes to."""
        return self._db

    def unscoped(self) -> Repository[E]:
        """The same repository without the model's default scope."""
        clone = copy.copy(self)
        clone._set_scope(None)
        return clone

    def scoped(self, name: str) -> Repository[E]:
        """The same repository under the model's named scope ``name`` (``@model(scopes=
        {name: filter})``) merged with the current scope: the wheres AND-ed, the smaller
        limit, the named scope's order, skip and fields else the current scope's. Its
        scalar equalities are defaults on create and conflicts on other writes, as the
        default scope's are. An unknown name is an ``ODMError``."""
        scopes = self.meta.settings.scopes
        if name not in scopes:
            known = ", ".join(repr(n) for n in sorted(scopes)) or "none"
            raise ODMError(f"{self.meta.name} has no scope {name!r} (its scopes: {known})")
        clone = copy.copy(self)
        clone._set_scope(merge_scope(self.scope, scopes[name]))
        return clone

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        """``async with repo.transaction() as session:`` a session in a transaction,
        committed on success, aborted on an exception; pass ``session=`` to the calls.
        However the commit ends (even with an unknown result), the session is ended so
        that no transaction stays open on the server."""
        return self._db.transaction()

    # --- writes ---------------------------------------------------------------------

    async def create(self, data: Mapping[str, Any] | E, *, session: Session | None = None) -> E:
        """Validate and insert one entity; returns it with its id."""
        operation = Operation("create", self, session, instance=data)
        entity, doc = await self._saving(operation, self._validate_create(data))
        inserted = await self._collection.insert_one(doc, session=session)
        self._store_id(entity, inserted, data)
        await self._saved(operation, is_new_instance=True)
        return entity

    async def create_all(
        self, items: Sequence[Mapping[str, Any] | E], *, session: Session | None = None
    ) -> list[E]:
        """Validate every item, then insert them with one ``insert_many``.

        Nothing is written when an item is invalid (``ValidationError`` paths start with
        the item's index). When the database refuses an item, the error names its index
        and the items before it stay stored (with their ids set).
        """
        operation = Operation("create_all", self, session)
        validated = await self._saving_all(operation, self._validate_all(items))
        if not validated:
            return []
        entities = [entity for entity, _ in validated]
        docs = [doc for _, doc in validated]
        try:
            ids = await self._collection.insert_many(docs, session=session)
        except DuplicateKeyError as error:
            stored = error.index_in_batch or 0
            for entity, item, doc in zip(entities[:stored], items, docs, strict=False):
                self._store_id(entity, doc[ID_FIELD], item)
            raise
        for entity, item, inserted in zip(entities, items, ids, strict=True):
            self._store_id(entity, inserted, item)
        await self._saved_all(operation, entities)
        return entities

    async def save(self, entity: E, *, session: Session | None = None) -> E:
        """Create the entity when it has no id, else replace the stored one."""
        entity_id = entity.get_id()
        if entity_id is None:
            return await self.create(entity, session=session)
        await self.replace_by_id(entity_id, entity, session=session)
        return entity

    async def update(self, entity: E, *, session: Session | None = None) -> None:
        """``update_by_id(entity.id, entity's data)``."""
        assert self.meta.id is not None
        data = {
            name: value
            for name, value in entity.__dict__.items()
            if name != self.meta.id.name and name in self.meta.properties
        }
        if entity.__pydantic_extra__:
            data.update(entity.__pydantic_extra__)
        await self.update_by_id(entity.get_id(), data, session=session)

    async def update_all(
        self, data: Mapping[str, Any], where: Where | None = None, *, session: Session | None = None
    ) -> int:
        """Partially update every entity matching ``where``; returns the matched count."""
        operation = Operation("update_all", self, session, where=where, data=data)
        await self._access(operation)
        plan = self._update_plan(data)
        query = self._where(where)
        update = await self._saving_changes(operation, plan)
        matched = await self._collection.update_many(query, update, session=session)
        await self._saved(operation)
        return matched

    async def update_by_id(
        self, id: Any, data: Mapping[str, Any], *, session: Session | None = None
    ) -> None:
        """Partially update one entity; ``EntityNotFoundError`` when it is not there."""
        operation = Operation("update_by_id", self, session, id=id, data=data)
        await self._access(operation)
        plan = self._update_plan(data, target_id=id)
        query = self._id_where(id)
        update = await self._saving_changes(operation, plan)
        matched = await self._collection.update_one(query, update, session=session)
        if not matched:
            raise EntityNotFoundError(self.meta.name, id)
        await self._saved(operation, is_new_instance=False)

    async def replace_by_id(
        self, id: Any, data: Mapping[str, Any] | E, *, session: Session | None = None
    ) -> None:
        """Replace one entity whole (defaults re-applied to missing properties)."""
        operation = Operation("replace_by_id", self, session, id=id, instance=data)
        await self._access(operation)
        validated = self._validate_replace(data, target_id=id)
        query = self._id_where(id)
        entity, doc = await self._saving(operation, validated, target_id=id)
        doc.pop(ID_FIELD, None)  # replace_one keeps the stored _id
        matched = await self._collection.replace_one(query, doc, session=session)
        if not matched:
            raise EntityNotFoundError(self.meta.name, id)
        if isinstance(data, self.entity_class) and data is not entity:
            data.__dict__.update(entity.__dict__)
        await self._saved(operation, is_new_instance=False)

    async def find_one_and_update(
        self,
        where: Where | None,
        data: Mapping[str, Any],
        *,
        order: Any = None,
        return_new: bool = True,
        upsert: bool = False,
        session: Session | None = None,
    ) -> E | None:
        """Atomically update the first entity matching ``where`` (in ``order``) and return
        it, as updated (``return_new``) or as it was; None when nothing matched. This is
        how a worker claims a job."""
        operation = Operation("find_one_and_update", self, session, where=where, data=data)
        await self._access(operation)
        plan = self._update_plan(data)
        query = self._where(where)
        sort = self._order(order)
        update = await self._saving_changes(operation, plan, upsert=upsert)
        doc = await self._collection.find_one_and_update(
            query, update, sort=sort, return_new=return_new, upsert=upsert, session=session
        )
        entity = None if doc is None else await self._loaded(operation, doc)
        await self._saved(operation)
        return entity

    # --- upserts: each one atomic server write ---------------------------------------

    async def find_or_create(
        self, where: Where, data: Mapping[str, Any] | None = None, *, session: Session | None = None
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
        operation = Operation("find_or_create", self, session, where=where, data=data)
        await self._access(operation)
        query = self._where(where)
        try:
            validated = self._validate_found_or_created(where, data or {})
        except ValidationError:
            found = await self._collection.find_one(query, sort=self._order(None), session=session)
            if found is None:
                raise
            return await self._loaded(operation, found), False
        entity, doc = await self._saving(operation, validated)
        on_insert = dict(doc)
        chosen = self._id_name in self._named_properties(where, data or {})
        if ID_FIELD not in on_insert:  # a database-generated id: chosen here, to know it
            on_insert[ID_FIELD] = ObjectId()
        stored = await self._find_or_insert(query, on_insert, chosen=chosen, session=session)
        created = stored is None
        if created:
            self._store_id(entity, on_insert[ID_FIELD], entity)
        else:
            assert stored is not None
            entity = await self._loaded(operation, stored)
        await self._saved(operation, is_new_instance=created)
        return entity, created

    async def upsert(self, data: Mapping[str, Any] | E, *, session: Session | None = None) -> E:
        """LoopBack's ``updateOrCreate``/``patchOrCreate``: with an id that exists (in
        scope), a partial update with ``data``; otherwise a create. One atomic write.

        With a generated id and ``force_id`` (the default), an id no stored entity has
        cannot be created (``ValidationError``, code ``absence``), as with ``create``.
        """
        operation = Operation("upsert", self, session, data=None, instance=data)
        await self._access(operation)
        given = self._given_id(data)
        if given is None:
            return await self._inserted(operation, data)
        id = coerce_id(self.meta, given)
        changes = self._without_id(data)
        operation.id, operation.where, operation.data = id, {self._id_name: id}, changes
        operation.instance = None  # a partial update: data + where
        plan = self._update_plan(changes, target_id=id)
        query = self._id_where(id)
        refused = self._insert_refused(operation, plan)
        update = await self._saving_changes(operation, plan, upsert=refused is None)
        if refused is None:
            doc = await self._upserted(query, update, session=session)
        else:  # only an update can run: when there is nothing to update, the refusal
            updated = await self._collection.find_one_and_update(
                query, update, return_new=True, session=session
            )
            if updated is None:
                raise refused
            doc = updated
        entity = await self._loaded(operation, doc)
        await self._saved(operation)
        return entity

    async def replace_or_create(
        self, data: Mapping[str, Any] | E, *, session: Session | None = None
    ) -> E:
        """Replace the entity with ``data``'s id whole when it exists (in scope), else
        create it. One atomic write; ``force_id`` as for ``upsert``."""
        operation = Operation("replace_or_create", self, session, instance=data)
        await self._access(operation)
        given = self._given_id(data)
        if given is None:
            return await self._inserted(operation, data)
        id = coerce_id(self.meta, given)
        operation.id = id
        forced = self._id_forced()
        validated = self._validate_replace(data, target_id=id)
        if not forced:
            self._validate_create(data)  # the insert branch is a create
        query = self._id_where(id)
        entity, doc = await self._saving(operation, validated, target_id=id)
        doc.pop(ID_FIELD, None)  # the stored _id, or the query's for an insert
        matched = await self._collection.replace_one(query, doc, upsert=not forced, session=session)
        if not matched and forced:
            self._validate_create(data)
            raise EntityNotFoundError(self.meta.name, id)  # pragma: no cover
        self._store_id(entity, id, data)
        await self._saved(operation, is_new_instance=not matched)
        return entity

    async def upsert_with_where(
        self, where: Where, data: Mapping[str, Any], *, session: Session | None = None
    ) -> E:
        """One entity matching ``where`` (in scope): a partial update with ``data``; none:
        a create (``where``'s scalar equalities fill what ``data`` lacks); more than one:
        ``ODMError``, and nothing is written."""
        operation = Operation("upsert_with_where", self, session, where=where, data=data)
        await self._access(operation)
        plan = self._update_plan(data)
        query = self._where(where)
        matches = await self._collection.find_all(
            query, projection={ID_FIELD: 1}, limit=2, session=session
        )
        if len(matches) > 1:
            raise ODMError(
                f"upsert_with_where: more than one {self.meta.name} matches the where clause; "
                "nothing was written"
            )
        refused = self._insert_refused(operation, plan)
        update = await self._saving_changes(operation, plan, upsert=refused is None)
        doc: Document | None = None
        if matches:  # the one match, if it still matches
            doc = await self._collection.find_one_and_update(
                {"$and": [query, {ID_FIELD: matches[0][ID_FIELD]}]},
                update,
                return_new=True,
                session=session,
            )
        if doc is None:
            if refused is not None:  # nothing to update, and the create is refused
                raise refused
            doc = await self._upserted(query, update, session=session)
        entity = await self._loaded(operation, doc)
        await self._saved(operation, is_new_instance=not matches)
        return entity

    async def delete(self, entity: E, *, session: Session | None = None) -> None:
        """Delete this entity (``EntityNotFoundError`` when it is not stored)."""
        await self.delete_by_id(entity.get_id(), session=session)

    async def delete_all(
        self, where: Where | None = None, *, session: Session | None = None
    ) -> int:
        """Delete every entity matching ``where``; returns the deleted count."""
        operation = Operation("delete_all", self, session, where=where)
        await self._access(operation)
        query = self._where(where)
        await self._deleting(operation)
        deleted = await self._collection.delete_many(query, session=session)
        await self._deleted(operation)
        return deleted

    async def delete_by_id(self, id: Any, *, session: Session | None = None) -> None:
        """Delete one entity; ``EntityNotFoundError`` when it is not there."""
        operation = Operation("delete_by_id", self, session, id=id)
        await self._access(operation)
        query = self._id_where(id)
        await self._deleting(operation)
        deleted = await self._collection.delete_one(query, session=session)
        if not deleted:
            raise EntityNotFoundError(self.meta.name, id)
        await self._deleted(operation)

    # --- reads ----------------------------------------------------------------------

    async def find(
        self, filter: Filter | None = None, *, session: Session | None = None
    ) -> list[E]:
        """Every entity matching the LoopBack ``filter`` (where, fields, order, limit, skip)."""
        operation = Operation("find", self, session, query=filter)
        await self._access(operation)
        query = self._query(operation.query)
        docs = await self._collection.find_all(
            query.where,
            projection=query.projection,
            sort=query.sort,
            skip=query.skip,
            limit=query.limit or 0,
            session=session,
        )
        return await self._loaded_all(operation, docs, partial=query.projection is not None)

    async def find_one(
        self, filter: Filter | None = None, *, session: Session | None = None
    ) -> E | None:
        """The first entity matching ``filter``, or None."""
        operation = Operation("find_one", self, session, query=filter)
        await self._access(operation)
        query = self._query(operation.query)
        doc = await self._collection.find_one(
            query.where,
            projection=query.projection,
            sort=query.sort,
            skip=query.skip,
            session=session,
        )
        if doc is None:
            return None
        return await self._loaded(operation, doc, partial=query.projection is not None)

    async def find_by_id(
        self, id: Any, filter: Filter | None = None, *, session: Session | None = None
    ) -> E:
        """The entity with this id; ``EntityNotFoundError`` when there is none (in scope)."""
        operation = Operation("find_by_id", self, session, id=id, query=filter)
        await self._access(operation)
        query = self._query(operation.query, id=id)
        doc = await self._collection.find_one(
            query.where, projection=query.projection, session=session
        )
        if doc is None:
            raise EntityNotFoundError(self.meta.name, id)
        return await self._loaded(operation, doc, partial=query.projection is not None)

    async def find_by_ids(
        self, ids: Iterable[Any], filter: Filter | None = None, *, session: Session | None = None
    ) -> list[E]:
        """The entities with these ids (in scope), in the order of ``ids``, with one query.

        Each id is coerced like every id argument; one that cannot be an id of this model,
        and one no entity has, is left out. An id given twice gives its entity once, at its
        first place. ``filter`` may add a where, ``fields`` (the id is always read, to put
        the results in order), ``skip`` and ``limit`` (applied to the ordered list); the
        order is the order of ``ids``.
        """
        if isinstance(ids, str | bytes | Mapping | BaseModel) or not isinstance(ids, Iterable):
            raise InvalidFilterError("ids", f"ids is a list of ids, not {type(ids).__name__}")
        if filter is not None and not isinstance(filter, Mapping):
            raise InvalidFilterError("", f"a filter is a mapping, not {type(filter).__name__}")
        operation = Operation("find_by_ids", self, session, id=ids, query=filter)
        await self._access(operation)
        wanted: dict[Any, int] = {}
        for given in ids:
            try:
                wanted.setdefault(coerce_id(self.meta, given), len(wanted))
            except EntityNotFoundError:
                continue
        if not wanted:
            return []
        id_where = {self._id_name: {"inq": list(wanted)}}
        where = (operation.query or {}).get("where")
        query = self._query(
            {**(operation.query or {}), "where": {"and": [id_where, where]} if where else id_where}
        )
        projection = query.projection
        docs = await self._collection.find_all(query.where, projection=projection, session=session)
        entities = await self._loaded_all(operation, docs, partial=projection is not None)
        placed = sorted(
            entities, key=lambda entity: wanted.get(coerce_id(self.meta, entity.get_id()), 0)
        )
        end = None if not query.limit else query.skip + query.limit
        return placed[query.skip : end]

    async def iterate(
        self,
        filter: Filter | None = None,
        *,
        batch_size: int | None = None,
        session: Session | None = None,
    ) -> AsyncIterator[E]:
        """Stream the matching entities with the cursor: memory does not grow with the
        number of results."""
        operation = Operation("iterate", self, session, query=filter)
        await self._access(operation)
        query = self._query(operation.query)
        partial = query.projection is not None
        hooks, observed = self._hooks, self._hooks.active
        async for doc in self._cursor(query, batch_size=batch_size, session=session):
            if observed:
                await hooks.loaded(operation, doc)
            yield self._load(doc, partial=partial)

    async def count(self, where: Where | None = None, *, session: Session | None = None) -> int:
        """How many entities match ``where`` (in scope)."""
        operation = Operation("count", self, session, where=where)
        await self._access(operation)
        query = self._where(where)
        return await self._collection.count(query, session=session)

    async def exists(self, id: Any, *, session: Session | None = None) -> bool:
        """True when an entity with this id exists (in scope)."""
        operation = Operation("exists", self, session, id=id)
        await self._access(operation)
        try:
            query = self._id_where(id)
        except EntityNotFoundError:
            return False
        doc = await self._collection.find_one(query, projection={ID_FIELD: 1}, session=session)
        return doc is not None

    # --- indexes --------------------------------------------------------------------

    async def migrate(
        self, *, drop_extra: bool = False, replace_conflicting: bool = False
    ) -> MigrationReport:
        """Create the declared indexes that are missing; report the differences."""
        return await migrate_repository(
            self, drop_extra=drop_extra, replace_conflicting=replace_conflicting
        )

    async def automigrate(self) -> MigrationReport:
        """Drop the collection (all its data), recreate it and create the indexes."""
        return await automigrate_repository(self)

    # --- the pipeline's points (each one attribute read while no hook is registered) ---

    async def _access(self, operation: Operation) -> None:
        if self._hooks.active:
            await self._hooks.access(operation)

    async def _saving(
        self, operation: Operation, validated: Validated[E], *, target_id: Any = _NO_ID
    ) -> Validated[E]:
        """before save -> (validate again what a hook changed) -> persist: the entity
        and the document to send (validation encoded it once, checking its size)."""
        hooks = self._hooks
        if not hooks.active:
            return validated
        entity, _ = validated
        operation.instance = entity
        await hooks.before_save(operation)
        # a hook cannot store what a caller could not: its instance is validated again
        if target_id is _NO_ID:
            entity, doc = self._validate_create(operation.instance)
        else:
            entity, doc = self._validate_replace(operation.instance, target_id=target_id)
        operation.instance = entity
        await hooks.persist(operation, doc)
        return entity, doc

    async def _saving_all(
        self, operation: Operation, validated: list[Validated[E]]
    ) -> list[Validated[E]]:
        """``_saving`` for every entity of a batch (the points run per item)."""
        if not self._hooks.active:
            return validated
        return [await self._saving(operation.item(pair[0]), pair) for pair in validated]

    async def _saving_changes(
        self, operation: Operation, plan: UpdatePlan, *, upsert: bool = False
    ) -> Document:
        """before save (``data`` + ``where``) -> the update document -> persist. An
        upsert's document also carries what its insert would store, validated as a
        create (``$setOnInsert``)."""
        hooks = self._hooks
        if hooks.active:
            await hooks.before_save(operation)
        if upsert:
            update = upsert_document(
                self.entity_class,
                operation.where,
                operation.data if operation.data is not None else {},
                scope_values=self._scope_values,
                allow_extended_operators=self.allow_extended_operators,
                plan=plan,
            )
        else:
            update = plan.document(self.meta)
        if hooks.active:
            await hooks.persist(operation, update)
        return update

    async def _saved(self, operation: Operation, *, is_new_instance: bool | None = None) -> None:
        if self._hooks.active:
            operation.is_new_instance = is_new_instance
            await self._hooks.after_save(operation)

    async def _saved_all(self, operation: Operation, entities: list[E]) -> None:
        if self._hooks.active:
            for entity in entities:
                await self._saved(operation.item(entity), is_new_instance=True)

    async def _deleting(self, operation: Operation) -> None:
        if self._hooks.active:
            await self._hooks.before_delete(operation)

    async def _deleted(self, operation: Operation) -> None:
        if self._hooks.active:
            await self._hooks.after_delete(operation)

    async def _loaded(self, operation: Operation, doc: Document, *, partial: bool = False) -> E:
        if self._hooks.active:
            await self._hooks.loaded(operation, doc)
        return self._load(doc, partial=partial)

    async def _loaded_all(
        self, operation: Operation, docs: list[Document], *, partial: bool
    ) -> list[E]:
        if self._hooks.active:
            for doc in docs:
                await self._hooks.loaded(operation, doc)
        if partial or not self.validate_on_load:
            return decode_many(self.entity_class, docs, trusted=True)
        return decode_many(self.entity_class, docs)

    # --- the steps ------------------------------------------------------------------

    def _validate_create(self, data: Mapping[str, Any] | E) -> Validated[E]:
        return validate_create_document(self.entity_class, data, scope_values=self._scope_values)

    def _validate_replace(self, data: Mapping[str, Any] | E, *, target_id: Any) -> Validated[E]:
        return validate_replace_document(
            self.entity_class, data, target_id=target_id, scope_values=self._scope_values
        )

    def _validate_all(self, items: Sequence[Mapping[str, Any] | E]) -> list[Validated[E]]:
        """Every item validated as a create; one ``ValidationError`` for all (paths start
        with the item's index)."""
        validated: list[Validated[E]] = []
        details: list[ErrorDetail] = []
        for position, item in enumerate(items):
            try:
                validated.append(self._validate_create(item))
            except ValidationError as error:
                for detail in error.details:
                    path = f"{position}.{detail['path']}" if detail["path"] else str(position)
                    details.append(
                        ErrorDetail(
                            path=path,
                            code=detail["code"],
                            message=detail["message"],
                            value=detail["value"],
                        )
                    )
        if details:
            raise ValidationError(self.meta.name, details)
        return validated

    def _order(self, order: Any) -> list[tuple[str, int]] | None:
        if order is not None:
            return sort_spec(self.meta, order, prohibit_hidden=self.prohibit_hidden_in_query)
        return sort_spec(self.meta, (self.scope or {}).get("order"))

    def _query(self, filter: Filter | None, *, id: Any = _NO_ID) -> Query:
        if filter is not None and not isinstance(filter, Mapping):
            raise InvalidFilterError("", f"a filter is a mapping, not {type(filter).__name__}")
        if id is not _NO_ID:  # find_by_id(None) finds nothing
            id_where = self._possible_id(id)
            where = (filter or {}).get("where")
            filter = {**(filter or {}), "where": {"and": [id_where, where]} if where else id_where}
        return self._translate(filter)

    def _translate(self, filter: Filter | None) -> Query:
        return translate_filter(
            self.meta,
            filter,
            scope=self.scope,
            allow_extended_operators=self.allow_extended_operators,
            prohibit_hidden=self.prohibit_hidden_in_query,
            allow_regexp=self.allow_regexp,
        )

    def _where(self, where: Where | None) -> dict[str, Any]:
        if where is not None and not isinstance(where, Mapping):
            raise InvalidFilterError(
                "where", f"a where clause is a mapping, not {type(where).__name__}"
            )
        return translate_where(
            self.meta,
            where,
            scope_where=self._scope_where,
            allow_extended_operators=self.allow_extended_operators,
            prohibit_hidden=self.prohibit_hidden_in_query,
            allow_regexp=self.allow_regexp,
        )

    def _possible_id(self, id: Any) -> dict[str, Any]:
        """``{id property: id}`` with the id coerced to its type (``odm.ids``); an
        id that cannot be an id of this model (a dict or a list among them) matches
        nothing, so it is reported as not found."""
        return id_condition(self.meta, id)

    def _id_where(self, id: Any) -> dict[str, Any]:
        """The query of one id within the scope."""
        return self._where(self._possible_id(id))

    def _update_plan(self, data: Mapping[str, Any], **target: Any) -> UpdatePlan:
        return translate_update(
            self.entity_class,
            data,
            scope_values=self._scope_values,
            allow_extended_operators=self.allow_extended_operators,
            **target,
        )

    def _cursor(
        self, query: Query, *, batch_size: int | None = None, session: Session | None = None
    ) -> AsyncIterator[Document]:
        return self._collection.find(
            query.where,
            projection=query.projection,
            sort=query.sort,
            skip=query.skip,
            limit=query.limit or 0,
            batch_size=batch_size,
            session=session,
        )

    def _load(self, doc: Mapping[str, Any], *, partial: bool = False) -> E:
        if partial or not self.validate_on_load:
            return decode_trusted(self.entity_class, doc)
        return decode(self.entity_class, doc)

    def _store_id(self, entity: E, inserted: Any, data: Mapping[str, Any] | BaseModel) -> None:
        id_prop = self.meta.id
        assert id_prop is not None
        if getattr(entity, id_prop.name) is None and inserted is not None:
            value = str(inserted) if id_prop.type.python is str else inserted
            entity.__dict__[id_prop.name] = value
            entity.__pydantic_fields_set__.add(id_prop.name)
        if isinstance(data, self.entity_class) and data is not entity:
            data.__dict__[id_prop.name] = entity.__dict__[id_prop.name]

    # --- the upserts' steps ---------------------------------------------------------

    @property
    def _id_name(self) -> str:
        assert self.meta.id is not None
        return self.meta.id.name

    def _id_forced(self) -> bool:
        """True when the id is generated and callers may not choose it (``force_id``)."""
        assert self.meta.id is not None
        return self.meta.id.generated and self.meta.settings.force_id

    def _given_id(self, data: Mapping[str, Any] | E) -> Any:
        if isinstance(data, BaseModel):
            return data.__dict__.get(self._id_name)
        if not isinstance(data, Mapping):
            raise ValidationError(
                self.meta.name,
                [
                    ErrorDetail(
                        path="",
                        code="type",
                        message=f"data is a mapping or a {self.meta.name}",
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
        raw.pop(self._id_name, None)
        raw.pop("id", None)
        return raw

    def _insert_refused(self, operation: Operation, plan: UpdatePlan) -> ValidationError | None:
        """Why the insert branch of an upsert would be refused as a create (None when it
        would not): such a call can only update what is stored, and raises this error
        when nothing is. A generated id with ``force_id`` is never chosen by a caller."""
        if operation.id is not None and self._id_forced():
            try:
                self._validate_create({**(operation.data or {}), self._id_name: operation.id})
            except ValidationError as error:
                return error
        try:
            upsert_document(
                self.entity_class,
                operation.where,
                operation.data if operation.data is not None else {},
                scope_values=self._scope_values,
                allow_extended_operators=self.allow_extended_operators,
                plan=plan,
            )
        except ValidationError as error:
            return error
        return None

    def _named_properties(self, where: Where | None, data: Mapping[str, Any]) -> set[str]:
        """The properties ``where``'s equalities and ``data`` name (is the id among them)."""
        named = set(scope_values_of(self.meta, where)) if isinstance(where, Mapping) else set()
        named.update(data)
        if "id" in named:
            named.add(self._id_name)
        return named

    async def _upserted(
        self, query: Mapping[str, Any], update: Mapping[str, Any], *, session: Session | None
    ) -> Document:
        """One atomic upsert, and the document it left. Two upserts racing past a unique
        index: the one that lost did not write, and runs once more (now an update). A
        server that applied a racing upsert but replied with no document (the embedded
        server does) is answered by reading the document: the write was done, so it is
        not repeated."""
        try:
            doc = await self._collection.find_one_and_update(
                query, update, return_new=True, upsert=True, session=session
            )
        except DuplicateKeyError:
            doc = await self._collection.find_one_and_update(
                query, update, return_new=True, upsert=True, session=session
            )
        if doc is None:
            doc = await self._collection.find_one(query, session=session)
        if doc is None:
            raise ODMError(f"an upsert of {self.meta.name} left no document to return")
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
        update = {"$setOnInsert": on_insert}
        sort = self._order(None)
        for attempt in range(_UPSERT_ATTEMPTS):
            try:
                found = await self._collection.find_one_and_update(
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
            f"find_or_create of {self.meta.name}: the upsert came back empty "
            f"{_UPSERT_ATTEMPTS} times"
        )

    async def _inserted(self, operation: Operation, data: Mapping[str, Any] | E) -> E:
        """The create branch of ``upsert``/``replace_or_create`` (data without an id)."""
        entity, doc = await self._saving(operation, self._validate_create(data))
        inserted = await self._collection.insert_one(doc, session=operation.session)
        self._store_id(entity, inserted, data)
        await self._saved(operation, is_new_instance=True)
        return entity

    def _validate_found_or_created(self, where: Where, data: Mapping[str, Any]) -> Validated[E]:
        """``data`` validated as a create, the scalar equalities of ``where`` filling the
        properties it lacks; a property ``data`` sets to another value than ``where``'s
        is ``conflicting-update`` (the created entity would not match ``where``)."""
        if not isinstance(data, Mapping):
            raise ValidationError(
                self.meta.name,
                [ErrorDetail(path="", code="type", message="data is a mapping", value=None)],
            )
        equalities = scope_values_of(self.meta, where) if isinstance(where, Mapping) else {}
        raw = dict(data)
        apply_scope_defaults(raw, equalities)
        entity, doc = self._validate_create(raw)
        try:
            expected = scope_values(self.meta, {"where": where})
        except InvalidFilterError:
            expected = {}
        conflicts = scope_conflicts(entity, expected)
        if conflicts:
            raise ValidationError(
                self.meta.name,
                [
                    ErrorDetail(
                        path=path,
                        code="conflicting-update",
                        message="differs from the where clause's value for it",
                        value=None if path_is_hidden(self.meta, path) else value,
                    )
                    for path, _, value in conflicts
                ],
            )
        return entity, doc
