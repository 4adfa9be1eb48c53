"""``Repository``: the collection-backed async repository of one entity class.

Every method runs the same pipeline (``odm.operations``): build the operation's context,
``access``, validate, ``before save``, encode, ``persist``, the driver (through the
adapter of ``odm.drivers``, which raises odm's errors), decode (``loaded``), ``after
save`` / ``after delete``. The steps are the private methods at the end.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from pydantic import BaseModel

from .by_id import id_lookup
from .changes import ChangeStreams
from .codec import decode, decode_many, decode_trusted
from .collector import collector_paused
from .drivers import Collection, Database, Document, DriverDatabase, Session, adapt
from .drivers.concerns import collection_options
from .errors import (
    DuplicateKeyError,
    EntityNotFoundError,
    ErrorDetail,
    InvalidFilterError,
    ValidationError,
)
from .filters import Filter as FilterDict
from .filters import Query, sort_spec, translate_filter, translate_where
from .filters import Where as WhereDict
from .geo import Reads, reads, refuse_near
from .hidden import ErrorNames
from .hooks import HookRegistry
from .ids import id_condition
from .loopback_methods import LoopBackMethods
from .metadata import ID_FIELD, ModelMeta, meta_of
from .models import Entity
from .operations import HookPoints, Operation
from .partial import decode_partial, decode_partial_many, refuse_partial, update_data
from .pipeline import PipelinePoints
from .relations.methods import RelationMethods
from .rules import ITERATE_BATCH_SIZE
from .scoping import scope_values
from .transactions import transaction
from .updates import UpdatePlan, translate_update
from .validation import validate_create_document, validate_replace_document
from .versioning import copy_stamps, replace_checked, update_stamped

__all__ = ["Repository"]

E = TypeVar("E", bound=Entity)
Filter = FilterDict | Mapping[str, Any]
Where = WhereDict | Mapping[str, Any]
Options = Mapping[str, Any] | None
_NO_ID: Any = object()
#: the projection of a read (None: whole documents)
Projection = Mapping[str, Any] | None
Validated = tuple[E, Document]


class Repository(LoopBackMethods[E], RelationMethods[E], ChangeStreams[E], PipelinePoints[E]):
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
        max_include_depth: int = 3,
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
        self.max_include_depth = max_include_depth
        self._db: Database = adapt(db)
        #: the collection's ``write_concern``/``read_concern``/``read_preference`` as
        #: pymongo objects (the database's own when not given; mongomock ignores them)
        self.collection_options = collection_options(
            write_concern=write_concern, read_concern=read_concern, read_preference=read_preference
        )
        self._collection: Collection = self._db.collection(
            meta.collection, names=ErrorNames(meta), options=self.collection_options or None
        )
        self._hooks: HookPoints = HookRegistry(entity_class)
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

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        """``async with repo.transaction() as session:`` a session in a transaction,
        committed on success, aborted on an exception. Every repository on the same
        client joins it without ``session=`` (``odm.transaction``); nested, it joins the
        outer one. However the commit ends (even with an unknown result), the session is
        ended so that no transaction stays open on the server."""
        return transaction(self._db)

    # --- writes ---------------------------------------------------------------------

    async def create(
        self,
        data: Mapping[str, Any] | E,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> E:
        """Validate and insert one entity; returns it with its id."""
        operation = Operation("create", self, session, instance=data, options=options)
        entity, doc = await self._saving(operation, self._validate_create(data))
        inserted = await self._collection.insert_one(doc, session=session)
        self._store_id(entity, inserted, data)
        await self._saved(operation, is_new_instance=True)
        return entity

    async def create_all(
        self,
        items: Sequence[Mapping[str, Any] | E],
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> list[E]:
        """Validate every item, then insert them with one ``insert_many``.

        Nothing is written when an item is invalid (``ValidationError`` paths start with
        the item's index). When the database refuses an item, the error names its index
        and the items before it stay stored (with their ids set).
        """
        operation = Operation("create_all", self, session, options=options)
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

    async def save(
        self, entity: E, *, session: Session | None = None, options: Options = None
    ) -> E:
        """Create the entity when it has no id, else replace the stored one."""
        entity_id = entity.get_id()
        if entity_id is None:
            return await self.create(entity, session=session, options=options)
        await self.replace_by_id(entity_id, entity, session=session, options=options)
        return entity

    async def update(
        self, entity: E, *, session: Session | None = None, options: Options = None
    ) -> None:
        """``update_by_id(entity.id, entity's data)``."""
        data = update_data(self.meta, entity)  # a partial instance's held properties only
        await update_stamped(self, entity, data, session=session, options=options)

    async def update_all(
        self,
        data: Mapping[str, Any],
        where: Where | None = None,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> int:
        """Partially update every entity matching ``where``; returns the matched count."""
        operation = Operation("update_all", self, session, where=where, data=data, options=options)
        await self._access(operation)
        plan = self._update_plan(data)
        query = self._where(operation.where)
        update = await self._saving_changes(operation, plan)
        matched = await self._collection.update_many(plan.guard(query), update, session=session)
        await self._saved(operation)
        return matched

    async def update_by_id(
        self,
        id: Any,
        data: Mapping[str, Any],
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> None:
        """Partially update one entity; ``EntityNotFoundError`` when it is not there."""
        operation = Operation("update_by_id", self, session, id=id, data=data, options=options)
        await self._access(operation)
        plan = self._update_plan(data, target_id=id)
        query = self._id_where(id, operation.where)
        update = await self._saving_changes(operation, plan)
        matched = await self._collection.update_one(plan.guard(query), update, session=session)
        if not matched:
            if plan.guards:  # stored, but its value would leave the property's bounds
                doc = await self._collection.find_one(query, session=session)
                if doc is not None:
                    raise plan.out_of_bounds(self.meta, doc)
            raise EntityNotFoundError(self.meta.name, id)
        await self._saved(operation, is_new_instance=False)

    async def replace_by_id(
        self,
        id: Any,
        data: Mapping[str, Any] | E,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> None:
        """Replace one entity whole (defaults re-applied to missing properties)."""
        operation = Operation("replace_by_id", self, session, id=id, instance=data, options=options)
        await self._access(operation)
        validated = self._validate_replace(data, target_id=id)
        query = self._id_where(id, operation.where)
        entity, doc = await self._saving(operation, validated, target_id=id)
        doc.pop(ID_FIELD, None)  # replace_one keeps the stored _id
        matched = await replace_checked(self, id, query, entity, doc, session=session)
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
        options: Options = None,
    ) -> E | None:
        """Atomically update the first entity matching ``where`` (in ``order``) and return
        it, as updated (``return_new``) or as it was; None when nothing matched. This is
        how a worker claims a job."""
        operation = Operation(
            "find_one_and_update", self, session, where=where, data=data, options=options
        )
        await self._access(operation)
        plan = self._update_plan(data)
        query = self._where(operation.where)
        sort = self._order(order)
        update = await self._saving_changes(operation, plan, upsert=upsert)
        doc = await self._collection.find_one_and_update(
            plan.guard(query),
            update,
            sort=sort,
            return_new=return_new,
            upsert=upsert,
            session=session,
        )
        entity = None if doc is None else await self._loaded(operation, doc)
        await self._saved(operation)
        return entity

    async def delete(
        self, entity: E, *, session: Session | None = None, options: Options = None
    ) -> None:
        """Delete this entity (``EntityNotFoundError`` when it is not stored)."""
        await self.delete_by_id(entity.get_id(), session=session, options=options)

    async def delete_all(
        self, where: Where | None = None, *, session: Session | None = None, options: Options = None
    ) -> int:
        """Delete every entity matching ``where``; returns the deleted count."""
        operation = Operation("delete_all", self, session, where=where, options=options)
        await self._access(operation)
        query = self._where(operation.where)
        await self._deleting(operation)
        deleted = await self._collection.delete_many(query, session=session)
        await self._deleted(operation)
        return deleted

    async def delete_by_id(
        self, id: Any, *, session: Session | None = None, options: Options = None
    ) -> None:
        """Delete one entity; ``EntityNotFoundError`` when it is not there."""
        operation = Operation("delete_by_id", self, session, id=id, options=options)
        await self._access(operation)
        query = self._id_where(id, operation.where)
        await self._deleting(operation)
        deleted = await self._collection.delete_one(query, session=session)
        if not deleted:
            raise EntityNotFoundError(self.meta.name, id)
        await self._deleted(operation)

    # --- reads ----------------------------------------------------------------------

    async def find(
        self,
        filter: Filter | None = None,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> list[E]:
        """Every entity matching the LoopBack ``filter`` (where, fields, order, limit, skip)."""
        operation = Operation("find", self, session, query=filter, options=options)
        await self._access(operation)
        query = self._query(self._include_keys(operation.query))
        docs = await self._reads(query.where).find_all(
            query.where,
            projection=query.projection,
            sort=query.sort,
            skip=query.skip,
            limit=query.limit or 0,
            session=session,
        )
        entities = await self._loaded_all(operation, docs, partial=query.projection)
        return await self._include(operation.query, entities, session, operation.options)

    async def find_one(
        self,
        filter: Filter | None = None,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> E | None:
        """The first entity matching ``filter``, or None."""
        operation = Operation("find_one", self, session, query=filter, options=options)
        await self._access(operation)
        query = self._query(self._include_keys(operation.query))
        doc = await self._reads(query.where).find_one(
            query.where,
            projection=query.projection,
            sort=query.sort,
            skip=query.skip,
            session=session,
        )
        if doc is None:
            return None
        entity = await self._loaded(operation, doc, partial=query.projection)
        return (await self._include(operation.query, [entity], session, operation.options))[0]

    async def find_by_id(
        self,
        id: Any,
        filter: Filter | None = None,
        *,
        session: Session | None = None,
        options: Options = None,
    ) -> E:
        """The entity with this id; ``EntityNotFoundError`` when there is none (in scope)."""
        operation = Operation("find_by_id", self, session, id=id, query=filter, options=options)
        lookup = None if filter is not None or self._hooks.active else id_lookup(self)
        query = None if lookup is None else lookup.query(self.meta, id)  # odm.by_id
        if query is None:
            await self._access(operation)
            query = self._query(self._include_keys(operation.query), id=id)
        reads = self._collection if lookup is not None else self._reads(query.where)
        doc = await reads.find_one(query.where, projection=query.projection, session=session)
        if doc is None:
            raise EntityNotFoundError(self.meta.name, id)
        entity = await self._loaded(operation, doc, partial=query.projection)
        return (await self._include(operation.query, [entity], session, operation.options))[0]

    async def iterate(
        self,
        filter: Filter | None = None,
        *,
        batch_size: int | None = ITERATE_BATCH_SIZE,
        session: Session | None = None,
        options: Options = None,
    ) -> AsyncIterator[E]:
        """Stream the matching entities with the cursor: memory does not grow with the
        number of results (``batch_size`` documents per server batch, 1,000 by default;
        None leaves the batches to the server, up to 16 MiB of BSON each)."""
        operation = Operation("iterate", self, session, query=filter, options=options)
        await self._access(operation)
        query = self._query(self._include_keys(operation.query))
        if (operation.query or {}).get("include") is not None:
            async for entity in self._iterate_including(operation, query, batch_size, session):
                yield entity
            return
        partial = query.projection
        hooks, observed = self._hooks, self._hooks.active
        async for doc in self._cursor(query, batch_size=batch_size, session=session):
            entity = self._load(doc, partial=partial)
            if observed:
                await hooks.loaded(operation.item(entity), doc)
            yield entity

    async def count(
        self, where: Where | None = None, *, session: Session | None = None, options: Options = None
    ) -> int:
        """How many entities match ``where`` (in scope)."""
        operation = Operation("count", self, session, where=where, options=options)
        await self._access(operation)
        query = self._where(operation.where, near=True)
        return await self._reads(query).count(query, session=session)

    async def exists(
        self, id: Any, *, session: Session | None = None, options: Options = None
    ) -> bool:
        """True when an entity with this id exists (in scope)."""
        operation = Operation("exists", self, session, id=id, options=options)
        await self._access(operation)
        try:
            query = self._id_where(id, operation.where)
        except EntityNotFoundError:
            return False
        doc = await self._collection.find_one(query, projection={ID_FIELD: 1}, session=session)
        return doc is not None

    # --- the pipeline's points (each one attribute read while no hook is registered;
    # the others are odm.pipeline's) ---

    async def _saving_all(
        self, operation: Operation, validated: list[Validated[E]]
    ) -> list[Validated[E]]:
        """``_saving`` for every entity of a batch (the points run per item)."""
        if not self._hooks.active:
            return validated
        return [await self._saving(operation.item(pair[0]), pair) for pair in validated]

    async def _loaded(
        self, operation: Operation, doc: Document, *, partial: Projection = None
    ) -> E:
        entity = self._load(doc, partial=partial)
        if self._hooks.active:  # loaded: the hook sees (and may change) the entity
            await self._hooks.loaded(operation.item(entity), doc)
        return entity

    async def _loaded_all(
        self, operation: Operation, docs: list[Document], *, partial: Projection
    ) -> list[E]:
        if partial:
            entities = decode_partial_many(self.entity_class, docs, partial)
        else:
            entities = decode_many(self.entity_class, docs, trusted=not self.validate_on_load)
        if self._hooks.active:
            for entity, doc in zip(entities, docs, strict=True):
                await self._hooks.loaded(operation.item(entity), doc)
        return entities

    # --- the steps ------------------------------------------------------------------

    def _validate_create(self, data: Mapping[str, Any] | E) -> Validated[E]:
        refuse_partial(self.meta, data)
        return validate_create_document(self.entity_class, data, scope_values=self._scope_values)

    def _validate_replace(self, data: Mapping[str, Any] | E, *, target_id: Any) -> Validated[E]:
        refuse_partial(self.meta, data)
        return validate_replace_document(
            self.entity_class, data, target_id=target_id, scope_values=self._scope_values
        )

    def _validate_all(self, items: Sequence[Mapping[str, Any] | E]) -> list[Validated[E]]:
        """Every item validated as a create; one ``ValidationError`` for all (paths start
        with the item's index)."""
        validated: list[Validated[E]] = []
        details: list[ErrorDetail] = []
        with collector_paused():  # a batch that stays alive: odm.collector
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

    def _where(self, where: Where | None, *, near: bool = False) -> dict[str, Any]:
        """``where`` translated within the scope; ``near`` only where the caller reads
        with it (``count``: writes, by-id methods and change streams refuse it)."""
        if where is not None and not isinstance(where, Mapping):
            raise InvalidFilterError(
                "where", f"a where clause is a mapping, not {type(where).__name__}"
            )
        query = translate_where(
            self.meta,
            where,
            scope_where=self._scope_where,
            allow_extended_operators=self.allow_extended_operators,
            prohibit_hidden=self.prohibit_hidden_in_query,
            allow_regexp=self.allow_regexp,
        )
        if not near:
            refuse_near(query)
        return query

    def _possible_id(self, id: Any) -> dict[str, Any]:
        """``{id property: id}`` with the id coerced to its type (``odm.ids``); an
        id that cannot be an id of this model (a dict or a list among them) matches
        nothing, so it is reported as not found."""
        return id_condition(self.meta, id)

    def _id_where(self, id: Any, where: Where | None = None) -> dict[str, Any]:
        """The query of one id within the scope (and ``where``: an access hook's)."""
        condition = self._possible_id(id)
        return self._where({"and": [condition, where]} if where else condition)

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
        return self._reads(query.where).find(
            query.where,
            projection=query.projection,
            sort=query.sort,
            skip=query.skip,
            limit=query.limit or 0,
            batch_size=batch_size,
            session=session,
        )

    def _reads(self, where: Mapping[str, Any]) -> Reads:
        """The collection's reads, or for a where with ``near`` its nearest-first ones."""
        return reads(self._collection, where)

    def _load(self, doc: Mapping[str, Any], *, partial: Projection = None) -> E:
        if partial:
            return decode_partial(self.entity_class, doc, partial)
        if not self.validate_on_load:
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
            copy_stamps(self.meta, entity, data)
