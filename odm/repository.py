"""``Repository``: the collection-backed async repository of one entity class.

Every operation tells the same story: validate, encode, call the driver (through the
one adapter in ``odm.drivers``), decode, map driver errors to odm's.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from .codec import decode, decode_many, decode_trusted
from .drivers import CollectionAdapter, DatabaseAdapter, DuplicateKeyInfo, adapt
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
from .hidden import path_is_hidden
from .ids import id_condition
from .metadata import ID_FIELD, ModelMeta, meta_of
from .models import Entity
from .scoping import scope_values
from .updates import UpdatePlan, translate_update, upsert_document
from .validation import validate_create_document, validate_replace_document

if TYPE_CHECKING:
    from .indexes import MigrationReport

__all__ = ["Repository"]

E = TypeVar("E", bound=Entity)
Filter = FilterDict | Mapping[str, Any]
Where = WhereDict | Mapping[str, Any]
_NO_ID: Any = object()


class Repository(Generic[E]):
    """The async repository of ``entity_class`` on a database ``db``.

    ``db`` is a database of ``pymongo.AsyncMongoClient``, motor's ``AsyncIOMotorClient``
    or ``mongomock_motor.AsyncMongoMockClient``. The repository holds no global state:
    two repositories of one class on two databases work side by side.

    >>> customers = Repository(Customer, db)
    >>> alice = await customers.create({"email": "alice@example.com", "name": "Alice"})
    >>> await customers.find({"where": {"name": {"like": "Al%"}}, "limit": 10})
    """

    def __init__(
        self,
        entity_class: type[E],
        db: Any,
        *,
        allow_extended_operators: bool = False,
        prohibit_hidden_in_query: bool = False,
        validate_on_load: bool = True,
        allow_regexp: bool = True,
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
        self._db: DatabaseAdapter = adapt(db)
        self._collection: CollectionAdapter = self._db.collection(meta.collection)
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
    def database(self) -> DatabaseAdapter:
        """The database adapter this repository writes to."""
        return self._db

    def unscoped(self) -> Repository[E]:
        """The same repository without the model's default scope."""
        clone = copy.copy(self)
        clone._set_scope(None)
        return clone

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """``async with repo.transaction() as session:`` a session in a transaction,
        committed on success, aborted on an exception; pass ``session=`` to the calls."""
        return self._db.transaction()

    # --- writes ---------------------------------------------------------------------

    async def create(self, data: Mapping[str, Any] | E, *, session: Any = None) -> E:
        """Validate and insert one entity; returns it with its id."""
        entity, doc = validate_create_document(
            self.entity_class, data, scope_values=self._scope_values
        )
        try:
            inserted = await self._collection.insert_one(doc, session=session)
        except DuplicateKeyInfo as info:
            raise self._duplicate(info) from None
        self._store_id(entity, inserted, data)
        return entity

    async def create_all(
        self, items: Sequence[Mapping[str, Any] | E], *, session: Any = None
    ) -> list[E]:
        """Validate every item, then insert them with one ``insert_many``.

        Nothing is written when an item is invalid (``ValidationError`` paths start with
        the item's index). When the database refuses an item, the error names its index
        and the items before it stay stored.
        """
        entities: list[E] = []
        docs: list[dict[str, Any]] = []
        details: list[ErrorDetail] = []
        for position, item in enumerate(items):
            try:
                entity, doc = validate_create_document(
                    self.entity_class, item, scope_values=self._scope_values
                )
                entities.append(entity)
                docs.append(doc)
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
        if not entities:
            return []
        try:
            ids = await self._collection.insert_many(docs, session=session)
        except DuplicateKeyInfo as info:
            for entity, item, inserted in zip(entities, items, info.inserted_ids, strict=False):
                self._store_id(entity, inserted, item)
            raise self._duplicate(info) from None
        for entity, item, inserted in zip(entities, items, ids, strict=True):
            self._store_id(entity, inserted, item)
        return entities

    async def save(self, entity: E, *, session: Any = None) -> E:
        """Create the entity when it has no id, else replace the stored one."""
        entity_id = entity.get_id()
        if entity_id is None:
            return await self.create(entity, session=session)
        await self.replace_by_id(entity_id, entity, session=session)
        return entity

    async def update(self, entity: E, *, session: Any = None) -> None:
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
        self, data: Mapping[str, Any], where: Where | None = None, *, session: Any = None
    ) -> int:
        """Partially update every entity matching ``where``; returns the matched count."""
        plan = self._update_plan(data)
        query = self._where(where)
        try:
            return await self._collection.update_many(
                query, plan.document(self.meta), session=session
            )
        except DuplicateKeyInfo as info:
            raise self._duplicate(info) from None

    async def update_by_id(self, id: Any, data: Mapping[str, Any], *, session: Any = None) -> None:
        """Partially update one entity; ``EntityNotFoundError`` when it is not there."""
        plan = self._update_plan(data, target_id=id)
        query = self._id_where(id)
        try:
            matched = await self._collection.update_one(
                query, plan.document(self.meta), session=session
            )
        except DuplicateKeyInfo as info:
            raise self._duplicate(info) from None
        if not matched:
            raise EntityNotFoundError(self.meta.name, id)

    async def replace_by_id(
        self, id: Any, data: Mapping[str, Any] | E, *, session: Any = None
    ) -> None:
        """Replace one entity whole (defaults re-applied to missing properties)."""
        entity, doc = validate_replace_document(
            self.entity_class, data, target_id=id, scope_values=self._scope_values
        )
        query = self._id_where(id)
        doc.pop(ID_FIELD, None)  # replace_one keeps the stored _id
        try:
            matched = await self._collection.replace_one(query, doc, session=session)
        except DuplicateKeyInfo as info:
            raise self._duplicate(info) from None
        if not matched:
            raise EntityNotFoundError(self.meta.name, id)
        if isinstance(data, self.entity_class) and data is not entity:
            data.__dict__.update(entity.__dict__)

    async def find_one_and_update(
        self,
        where: Where | None,
        data: Mapping[str, Any],
        *,
        order: Any = None,
        return_new: bool = True,
        upsert: bool = False,
        session: Any = None,
    ) -> E | None:
        """Atomically update the first entity matching ``where`` (in ``order``) and return
        it, as updated (``return_new``) or as it was; None when nothing matched. This is
        how a worker claims a job."""
        plan = self._update_plan(data)
        query = self._where(where)
        update = plan.document(self.meta)
        if upsert:  # the inserted document is validated as a create
            update = upsert_document(
                self.entity_class, where, data, scope_values=self._scope_values, plan=plan
            )
        if order is not None:
            sort = sort_spec(self.meta, order, prohibit_hidden=self.prohibit_hidden_in_query)
        else:
            sort = sort_spec(self.meta, (self.scope or {}).get("order"))
        try:
            doc = await self._collection.find_one_and_update(
                query,
                update,
                sort=sort,
                return_new=return_new,
                upsert=upsert,
                session=session,
            )
        except DuplicateKeyInfo as info:
            raise self._duplicate(info) from None
        return None if doc is None else self._load(doc)

    async def delete(self, entity: E, *, session: Any = None) -> None:
        """Delete this entity (``EntityNotFoundError`` when it is not stored)."""
        await self.delete_by_id(entity.get_id(), session=session)

    async def delete_all(self, where: Where | None = None, *, session: Any = None) -> int:
        """Delete every entity matching ``where``; returns the deleted count."""
        return await self._collection.delete_many(self._where(where), session=session)

    async def delete_by_id(self, id: Any, *, session: Any = None) -> None:
        """Delete one entity; ``EntityNotFoundError`` when it is not there."""
        deleted = await self._collection.delete_one(self._id_where(id), session=session)
        if not deleted:
            raise EntityNotFoundError(self.meta.name, id)

    # --- reads ----------------------------------------------------------------------

    async def find(self, filter: Filter | None = None, *, session: Any = None) -> list[E]:
        """Every entity matching the LoopBack ``filter`` (where, fields, order, limit, skip)."""
        query = self._query(filter)
        docs = await self._collection.find_all(
            query.where,
            projection=query.projection,
            sort=query.sort,
            skip=query.skip,
            limit=query.limit or 0,
            session=session,
        )
        if query.projection is not None or not self.validate_on_load:
            return decode_many(self.entity_class, docs, trusted=True)
        return decode_many(self.entity_class, docs)

    async def find_one(self, filter: Filter | None = None, *, session: Any = None) -> E | None:
        """The first entity matching ``filter``, or None."""
        query = self._query(filter)
        doc = await self._collection.find_one(
            query.where,
            projection=query.projection,
            sort=query.sort,
            skip=query.skip,
            session=session,
        )
        return None if doc is None else self._load(doc, partial=query.projection is not None)

    async def find_by_id(self, id: Any, filter: Filter | None = None, *, session: Any = None) -> E:
        """The entity with this id; ``EntityNotFoundError`` when there is none (in scope)."""
        query = self._query(filter, id=id)
        doc = await self._collection.find_one(
            query.where, projection=query.projection, session=session
        )
        if doc is None:
            raise EntityNotFoundError(self.meta.name, id)
        return self._load(doc, partial=query.projection is not None)

    async def iterate(
        self, filter: Filter | None = None, *, batch_size: int | None = None, session: Any = None
    ) -> AsyncIterator[E]:
        """Stream the matching entities with the cursor: memory does not grow with the
        number of results."""
        query = self._query(filter)
        partial = query.projection is not None
        async for doc in self._cursor(query, batch_size=batch_size, session=session):
            yield self._load(doc, partial=partial)

    async def count(self, where: Where | None = None, *, session: Any = None) -> int:
        """How many entities match ``where`` (in scope)."""
        return await self._collection.count(self._where(where), session=session)

    async def exists(self, id: Any, *, session: Any = None) -> bool:
        """True when an entity with this id exists (in scope)."""
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
        from .indexes import migrate_repository

        return await migrate_repository(
            self, drop_extra=drop_extra, replace_conflicting=replace_conflicting
        )

    async def automigrate(self) -> MigrationReport:
        """Drop the collection (all its data), recreate it and create the indexes."""
        from .indexes import automigrate_repository

        return await automigrate_repository(self)

    # --- the steps ------------------------------------------------------------------

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
        self, query: Query, *, batch_size: int | None = None, session: Any = None
    ) -> AsyncIterator[dict[str, Any]]:
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

    def _duplicate(self, info: DuplicateKeyInfo) -> DuplicateKeyError:
        fields = list((info.key_pattern or {}).keys())
        properties = [self.meta.property_path(field) for field in fields]
        value = None
        if info.key_value is not None:
            paths = {k: self.meta.property_path(k) for k in info.key_value}
            # a hidden property's value stays out of the error (it ends up in logs)
            value = {
                paths[k]: None if path_is_hidden(self.meta, paths[k]) else v
                for k, v in info.key_value.items()
            }
        return DuplicateKeyError(
            self.meta.name,
            properties=properties,
            index=info.index_name,
            value=value,
            index_in_batch=info.batch_index,
        )
