"""The one adapter over the three async MongoDB clients odm accepts.

``pymongo.AsyncMongoClient``, motor's ``AsyncIOMotorClient`` and
``mongomock_motor.AsyncMongoMockClient`` databases all go through :func:`adapt`;
nothing else in odm knows which client it has. The differences held here:

- pymongo's ``list_indexes``/``aggregate``/``watch`` are coroutines, motor's return
  cursors; both are awaited only when awaitable (duck typing, no ``isinstance``).
- pymongo's ``client.start_session()`` is sync and ``await session.start_transaction()``
  gives the transaction context; motor's ``await client.start_session()`` is a
  coroutine and ``session.start_transaction()`` is the context itself.
- ``client.close()`` is a coroutine only in pymongo.
- mongomock-motor has no sessions or transactions (any ``session`` raises), its bulk
  ``UpdateOne`` fails (so odm never uses ``bulk_write``), it reports a duplicate ``_id``
  without any details, never names the index, and after an update names the first
  unique index holding the document's value rather than the one that was broken;
  duplicate-key details are recomputed here so that every backend reports the same.

Every write turns the driver's duplicate-key errors into :class:`DuplicateKeyInfo`,
which the repository maps to property names. Other driver errors pass unchanged.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import datetime
import inspect
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, CollectionInvalid, OperationFailure, PyMongoError

from odm._distribution import install_hint
from odm.errors import ODMError

__all__ = [
    "CLIENT_DEFAULTS",
    "CollectionAdapter",
    "DatabaseAdapter",
    "DuplicateKeyInfo",
    "adapt",
    "close_client",
    "open_client",
    "open_mock_client",
]

# 11000 is today's code; 11001 and 12582 are older servers' codes for the same error.
DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})
NAMESPACE_EXISTS_CODE = 48

# The client options odm relies on (aware UTC datetimes, standard UUIDs); callers override.
# tzinfo=UTC: datetimes come back as timezone.utc, which odm's normaliser keeps as they are
CLIENT_DEFAULTS: dict[str, Any] = {
    "uuidRepresentation": "standard",
    "tz_aware": True,
    "tzinfo": datetime.UTC,
}

_INDEX_NAME_IN_MESSAGE = re.compile(r"index:\s+(?P<name>.+?)\s+dup key:")
_KEY_VALUE_IN_MESSAGE = re.compile(r"dup key:\s*\{(?P<body>.*)\}")
_KEY_PATTERN_IN_MOCK_MESSAGE = re.compile(r"'keyPattern':\s*(?P<pattern>\{[^{}]*\})")
_KEY_VALUE_PART = re.compile(
    r"\s*(?P<field>[^\s:,{}][^:,{}]*?)?\s*:\s*"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|[^,{}]+|\{[^{}]*\})\s*(?:,|$)"
)
# Bounds the scan that recomputes a mongomock duplicate-key report after update_many.
_MAX_CANDIDATES_SCANNED = 1000


class DuplicateKeyInfo(Exception):
    """A write broke a unique index: what the driver reported, completed where it was silent.

    ``key_pattern`` is always filled when the index exists; ``batch_index`` is the
    position of the failed document in an ``insert_many``, and ``inserted_ids`` the
    ids stored before it.
    """

    def __init__(
        self,
        *,
        index_name: str | None,
        key_pattern: dict[str, Any] | None,
        key_value: dict[str, Any] | None,
        batch_index: int | None = None,
        inserted_ids: Sequence[Any] = (),
        message: str = "",
    ) -> None:
        self.index_name = index_name
        self.key_pattern = key_pattern
        self.key_value = key_value
        self.batch_index = batch_index
        self.inserted_ids: list[Any] = list(inserted_ids)
        self.message = message
        super().__init__(
            f"duplicate key on index {index_name!r} {key_pattern!r}: {key_value!r}"
            + (f" (batch item {batch_index})" if batch_index is not None else "")
        )


async def _resolve(value: Any) -> Any:
    """Await ``value`` when the driver returned an awaitable, else return it as is."""
    if inspect.isawaitable(value):
        return await value
    return value


def _session_option(session: Any) -> dict[str, Any]:
    # Passed only when there is a session: the drivers' defaults then stay untouched.
    return {} if session is None else {"session": session}


def _driver_kind(db: Any) -> str:
    # mongomock-motor masquerades as motor (``__class__`` and ``__module__``), so its
    # wrapped mongomock database is checked first.
    delegate = getattr(db, "delegate", None)
    if delegate is not None and type(delegate).__module__.startswith("mongomock"):
        return "mongomock"
    module = type(db).__module__
    if module.startswith("motor."):
        return "motor"
    if module.startswith("pymongo.asynchronous"):
        return "pymongo"
    if module.startswith("pymongo"):
        raise ODMError(
            f"odm needs an async database; got the synchronous {type(db).__qualname__}: "
            "use pymongo.AsyncMongoClient(...)[name] (or odm.connect(uri))"
        )
    raise ODMError(
        f"odm cannot use {type(db).__module__}.{type(db).__qualname__} as a database: pass a "
        "database from pymongo.AsyncMongoClient, motor's AsyncIOMotorClient or "
        "mongomock_motor.AsyncMongoMockClient (or use odm.connect(uri))"
    )


def adapt(db: Any) -> DatabaseAdapter:
    """Wrap a driver database (pymongo async, motor or mongomock-motor) in the adapter.

    An existing :class:`DatabaseAdapter` is returned as is.
    """
    if isinstance(db, DatabaseAdapter):
        return db
    return DatabaseAdapter(db)


def _with_defaults(options: dict[str, Any]) -> dict[str, Any]:
    merged = {**CLIENT_DEFAULTS, **options}
    if not merged.get("tz_aware") and "tzinfo" not in options:
        merged.pop("tzinfo")  # pymongo refuses a tzinfo without tz_aware
    return merged


def open_client(uri: str, *, driver: str = "pymongo", **options: Any) -> Any:
    """Create a ``pymongo.AsyncMongoClient`` (or motor's client with ``driver="motor"``).

    :data:`CLIENT_DEFAULTS` apply unless ``options`` override them.
    """
    options = _with_defaults(options)
    if driver == "pymongo":
        from pymongo import AsyncMongoClient

        return AsyncMongoClient(uri, **options)
    if driver == "motor":
        try:
            from motor.motor_asyncio import AsyncIOMotorClient
        except ImportError as exc:
            raise ODMError(
                f"driver='motor' needs the motor package: {install_hint('motor')}"
            ) from exc
        return AsyncIOMotorClient(uri, **options)
    raise ODMError(f"unknown driver {driver!r}: use driver='pymongo' or driver='motor'")


def open_mock_client(**options: Any) -> Any:
    """Create an in-memory ``mongomock_motor.AsyncMongoMockClient`` with :data:`CLIENT_DEFAULTS`."""
    options = _with_defaults(options)
    try:
        from mongomock_motor import AsyncMongoMockClient
    except ImportError as exc:
        raise ODMError(
            f"mongomock:// needs the mongomock-motor package: {install_hint('mock')}"
        ) from exc
    return AsyncMongoMockClient(**options)


async def close_client(client: Any) -> None:
    """Close a client of any of the three drivers (a coroutine only in pymongo)."""
    await _resolve(client.close())


class DatabaseAdapter:
    """One driver database, seen the same way whichever client made it."""

    def __init__(self, db: Any) -> None:
        self.raw: Any = db
        self.kind: str = _driver_kind(db)
        self.name: str = db.name
        self.supports_transactions: bool = self.kind != "mongomock"
        self._collections: dict[str, CollectionAdapter] = {}

    def __repr__(self) -> str:
        return f"DatabaseAdapter({self.kind}, {self.name!r})"

    def collection(self, name: str) -> CollectionAdapter:
        """The adapter of collection ``name`` (created lazily by the server, as usual)."""
        adapter = self._collections.get(name)
        if adapter is None:
            adapter = self._collections[name] = CollectionAdapter(self.raw[name], self)
        return adapter

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """Start a session and a transaction; yield the session.

        Commits when the block ends normally, aborts when it raises.
        """
        if not self.supports_transactions:
            raise ODMError(
                "transactions are not available on this database: mongomock-motor has no "
                "transactions; use the embedded server or a MongoDB replica set "
                "(odm.connect('embedded://') or ODM_TEST_BACKEND=embedded)"
            )
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        session = await _resolve(self.raw.client.start_session())
        async with session:
            transaction = await _resolve(session.start_transaction())
            committing = False
            try:
                async with transaction:
                    yield session
                    committing = True
            except PyMongoError as error:
                if committing and not error.has_error_label("UnknownTransactionCommitResult"):
                    # The commit was refused: the driver takes the transaction as ended and
                    # sends no abort, so the server would keep it (and its locks) open.
                    with contextlib.suppress(PyMongoError):
                        await _resolve(
                            self.raw.client.admin.command("endSessions", [session.session_id])
                        )
                raise

    async def drop(self) -> None:
        """Drop the whole database."""
        await _resolve(self.raw.client.drop_database(self.name))
        self._collections.clear()

    async def list_collection_names(self) -> list[str]:
        names = await _resolve(self.raw.list_collection_names())
        return sorted(names)


class CollectionAdapter:
    """One driver collection; writes raise :class:`DuplicateKeyInfo` for unique-index errors."""

    def __init__(self, collection: Any, database: DatabaseAdapter) -> None:
        self.raw: Any = collection
        self.name: str = collection.name
        self.database = database

    def __repr__(self) -> str:
        return f"CollectionAdapter({self.database.kind}, {self.database.name}.{self.name})"

    # -- writes -------------------------------------------------------------------------

    async def insert_one(self, doc: dict[str, Any], *, session: Any = None) -> Any:
        """Insert ``doc`` (an ``_id`` is added to it when missing); return its ``_id``."""
        _ensure_id(doc)
        result = await self._write(
            self.raw.insert_one(doc, **_session_option(session)),
            lambda: _fixed_candidates([(doc, _NO_ID)]),
        )
        return result.inserted_id

    async def insert_many(self, docs: list[dict[str, Any]], *, session: Any = None) -> list[Any]:
        """Insert ``docs`` in order (``_id`` added where missing); return their ids.

        On a duplicate key the documents before the failed one stay stored; their ids
        are in ``DuplicateKeyInfo.inserted_ids`` and the failed position in ``batch_index``.
        """
        if not docs:
            return []
        for doc in docs:
            _ensure_id(doc)
        try:
            await self.raw.insert_many(docs, ordered=True, **_session_option(session))
        except BulkWriteError as exc:
            reported = _duplicate_key_report(exc)
            if reported is None:
                raise
            batch_index = reported.get("index")
            if not isinstance(batch_index, int) or not 0 <= batch_index < len(docs):
                batch_index = int(exc.details.get("nInserted", 0))
            raise await self._duplicate_key_info(
                reported,
                _fixed_candidates([(docs[batch_index], _NO_ID)]),
                batch_index=batch_index,
                inserted_ids=[doc["_id"] for doc in docs[:batch_index]],
            ) from exc
        return [doc["_id"] for doc in docs]

    async def update_one(
        self,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        upsert: bool = False,
        session: Any = None,
    ) -> int:
        """Update the first matching document; return the matched count (0 or 1)."""
        result = await self._write(
            self.raw.update_one(query, update, upsert=upsert, **_session_option(session)),
            lambda: self._updated_candidates(query, update, upsert=upsert, many=False),
        )
        return int(result.matched_count)

    async def update_many(
        self, query: Mapping[str, Any], update: Mapping[str, Any], *, session: Any = None
    ) -> int:
        """Update every matching document; return the matched count."""
        result = await self._write(
            self.raw.update_many(query, update, **_session_option(session)),
            lambda: self._updated_candidates(query, update, upsert=False, many=True),
        )
        return int(result.matched_count)

    async def replace_one(
        self, query: Mapping[str, Any], doc: dict[str, Any], *, session: Any = None
    ) -> int:
        """Replace the first matching document with ``doc``; return the matched count."""
        result = await self._write(
            self.raw.replace_one(query, doc, **_session_option(session)),
            lambda: self._replaced_candidates(query, doc),
        )
        return int(result.matched_count)

    async def find_one_and_update(
        self,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        sort: Sequence[tuple[str, int]] | None = None,
        projection: Mapping[str, Any] | None = None,
        return_new: bool = True,
        upsert: bool = False,
        session: Any = None,
    ) -> dict[str, Any] | None:
        """Atomically update the first document in ``sort`` order; return it (after or before)."""
        options: dict[str, Any] = {
            "projection": projection or None,
            "upsert": upsert,
            "return_document": ReturnDocument.AFTER if return_new else ReturnDocument.BEFORE,
            **_session_option(session),
        }
        if sort:
            options["sort"] = list(sort)
        document: dict[str, Any] | None = await self._write(
            self.raw.find_one_and_update(query, update, **options),
            lambda: self._updated_candidates(query, update, upsert=upsert, many=False, sort=sort),
        )
        return document

    async def delete_one(self, query: Mapping[str, Any], *, session: Any = None) -> int:
        """Delete the first matching document; return the deleted count."""
        result = await self.raw.delete_one(query, **_session_option(session))
        return int(result.deleted_count)

    async def delete_many(self, query: Mapping[str, Any], *, session: Any = None) -> int:
        """Delete every matching document; return the deleted count."""
        result = await self.raw.delete_many(query, **_session_option(session))
        return int(result.deleted_count)

    # -- reads --------------------------------------------------------------------------

    def _cursor(
        self,
        query: Mapping[str, Any],
        projection: Mapping[str, Any] | None,
        sort: Sequence[tuple[str, int]] | None,
        skip: int,
        limit: int,
        batch_size: int | None,
        session: Any,
    ) -> Any:
        options: dict[str, Any] = {"skip": skip, "limit": limit, **_session_option(session)}
        if sort:
            options["sort"] = list(sort)
        if batch_size is not None:
            options["batch_size"] = batch_size
        return self.raw.find(query, projection or None, **options)

    async def find(
        self,
        query: Mapping[str, Any],
        *,
        projection: Mapping[str, Any] | None = None,
        sort: Sequence[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
        batch_size: int | None = None,
        session: Any = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream the matching documents with the driver's cursor (never all in memory)."""
        cursor = self._cursor(query, projection, sort, skip, limit, batch_size, session)
        try:
            async for document in cursor:
                yield document
        finally:
            await _resolve(cursor.close())

    async def find_all(
        self,
        query: Mapping[str, Any],
        *,
        projection: Mapping[str, Any] | None = None,
        sort: Sequence[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
        session: Any = None,
    ) -> list[dict[str, Any]]:
        """Every matching document as one list, read by the driver's own ``to_list``
        (no await per document)."""
        cursor = self._cursor(query, projection, sort, skip, limit, None, session)
        documents: list[dict[str, Any]] = await cursor.to_list(None)
        return documents

    async def find_one(
        self,
        query: Mapping[str, Any],
        *,
        projection: Mapping[str, Any] | None = None,
        sort: Sequence[tuple[str, int]] | None = None,
        skip: int = 0,
        session: Any = None,
    ) -> dict[str, Any] | None:
        """The first matching document in ``sort`` order, or ``None``."""
        options: dict[str, Any] = {"skip": skip, **_session_option(session)}
        if sort:
            options["sort"] = list(sort)
        document: dict[str, Any] | None = await self.raw.find_one(
            query, projection or None, **options
        )
        return document

    async def count(
        self, query: Mapping[str, Any], *, skip: int = 0, limit: int = 0, session: Any = None
    ) -> int:
        """Count the matching documents, after ``skip`` and up to ``limit`` (0: no limit)."""
        options: dict[str, Any] = _session_option(session)
        if skip:
            options["skip"] = skip
        if limit:
            options["limit"] = limit
        return int(await self.raw.count_documents(query, **options))

    # -- indexes and the collection itself ----------------------------------------------

    async def index_information(self) -> dict[str, dict[str, Any]]:
        """``{name: {"key": [(field, direction), ...], "unique": True, ...}}`` on every driver."""
        information = await _resolve(self.raw.index_information())
        normalised: dict[str, dict[str, Any]] = {}
        for name, spec in information.items():
            entry = dict(spec)
            entry["key"] = [(field, _plain_number(direction)) for field, direction in spec["key"]]
            normalised[name] = entry
        return normalised

    async def create_index(self, keys: list[tuple[str, Any]], **options: Any) -> str:
        """Create an index on ``keys`` (``(field, 1 | -1 | "text" | ...)``); return its name."""
        name: str = await self.raw.create_index(list(keys), **options)
        return name

    async def drop_index(self, name: str) -> None:
        await self.raw.drop_index(name)

    async def drop(self) -> None:
        """Drop the collection with its indexes."""
        await self.raw.drop()

    async def create(self) -> None:
        """Create the collection if it does not exist yet."""
        if self.name in await self.database.list_collection_names():
            return
        try:
            await self.database.raw.create_collection(self.name)
        except CollectionInvalid:
            return
        except OperationFailure as exc:
            if exc.code != NAMESPACE_EXISTS_CODE:
                raise

    # -- duplicate keys -----------------------------------------------------------------

    async def _write(
        self,
        write: Awaitable[Any],
        candidates: Callable[[], Callable[[], Awaitable[list[tuple[dict[str, Any], Any]]]]],
    ) -> Any:
        """Await one write command; a duplicate-key error becomes :class:`DuplicateKeyInfo`
        (``candidates`` gives the documents the write wanted to store), others pass."""
        try:
            return await write
        except PyMongoError as exc:
            reported = _duplicate_key_report(exc)
            if reported is None:
                raise
            raise await self._duplicate_key_info(reported, candidates()) from exc

    async def _duplicate_key_info(
        self,
        reported: dict[str, Any],
        candidates: Callable[[], Awaitable[list[tuple[dict[str, Any], Any]]]],
        *,
        batch_index: int | None = None,
        inserted_ids: Sequence[Any] = (),
    ) -> DuplicateKeyInfo:
        """Complete the driver's report: index name, key pattern and key value.

        ``candidates`` gives the documents as the failed write wanted them stored, each
        with the ``_id`` of the stored document it would replace; it is read (once) only
        when the driver's report is incomplete.
        """
        message = str(reported.get("errmsg") or "")
        name_match = _INDEX_NAME_IN_MESSAGE.search(message)
        index_name = name_match.group("name") if name_match else None
        key_pattern = _as_dict(reported.get("keyPattern")) or _mock_key_pattern(message)
        key_value = _as_dict(reported.get("keyValue"))
        if index_name is None or key_pattern is None or key_value is None:
            indexes = await self.index_information()
            wanted = await candidates()
            if index_name is None:
                # No server names the index: this is mongomock, whose report may name the
                # wrong index, so the broken one is searched for with the written documents.
                found = await self._locate_broken_index(indexes, wanted)
                if found is not None:
                    index_name, key_pattern, key_value = found
                elif key_pattern is not None:
                    index_name = _index_named_by_keys(indexes, key_pattern)
            if key_pattern is None and index_name in indexes:
                key_pattern = dict(indexes[index_name]["key"])
            if key_value is None and key_pattern is not None:
                key_value = (
                    _key_value_of(wanted[0][0], key_pattern)
                    if wanted
                    else _parse_key_value(message, key_pattern)
                )
        return DuplicateKeyInfo(
            index_name=index_name,
            key_pattern=key_pattern,
            key_value=key_value,
            batch_index=batch_index,
            inserted_ids=inserted_ids,
            message=message,
        )

    async def _locate_broken_index(
        self,
        indexes: dict[str, dict[str, Any]],
        candidates: list[tuple[dict[str, Any], Any]],
    ) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        """The first unique index under which another stored document has a candidate's key."""
        for candidate, own_id in candidates:
            for name, spec in indexes.items():
                if not (spec.get("unique") or name == "_id_"):
                    continue
                pattern = dict(spec["key"])
                value = _key_value_of(candidate, pattern)
                if spec.get("sparse") and all(not _has_path(candidate, field) for field in pattern):
                    continue
                clauses: list[dict[str, Any]] = [value]
                if own_id is not _NO_ID:
                    clauses.append({"_id": {"$ne": own_id}})
                if spec.get("partialFilterExpression"):
                    clauses.append(spec["partialFilterExpression"])
                if await self.raw.count_documents({"$and": clauses}, limit=1):
                    return name, pattern, value
        return None

    def _replaced_candidates(
        self, query: Mapping[str, Any], doc: dict[str, Any]
    ) -> Callable[[], Awaitable[list[tuple[dict[str, Any], Any]]]]:
        async def candidates() -> list[tuple[dict[str, Any], Any]]:
            target = await self.raw.find_one(query, {"_id": 1})
            if target is None:
                return [(doc, _NO_ID)]
            return [({**doc, "_id": target["_id"]}, target["_id"])]

        return candidates

    def _updated_candidates(
        self,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        upsert: bool,
        many: bool,
        sort: Sequence[tuple[str, int]] | None = None,
    ) -> Callable[[], Awaitable[list[tuple[dict[str, Any], Any]]]]:
        # Only plain $set / $setOnInsert updates can be replayed here; for other operators
        # the driver's own report is used.
        async def candidates() -> list[tuple[dict[str, Any], Any]]:
            if not set(update) <= {"$set", "$setOnInsert"}:
                return []
            found: list[tuple[dict[str, Any], Any]] = []
            cursor = self.raw.find(query, sort=list(sort) if sort else None)
            try:
                async for target in cursor:
                    found.append((_apply_set(target, update.get("$set", {})), target["_id"]))
                    if not many or len(found) >= _MAX_CANDIDATES_SCANNED:
                        break
            finally:
                await _resolve(cursor.close())
            if not found and upsert:
                inserted = {k: v for k, v in query.items() if not k.startswith("$")}
                inserted = _apply_set(inserted, update.get("$setOnInsert", {}))
                found.append((_apply_set(inserted, update.get("$set", {})), _NO_ID))
            return found

        return candidates


class _NoId:
    """Marks a candidate document that is not stored (so no stored document to exclude)."""


_NO_ID: Any = _NoId()


def _fixed_candidates(
    candidates: list[tuple[dict[str, Any], Any]],
) -> Callable[[], Awaitable[list[tuple[dict[str, Any], Any]]]]:
    async def given() -> list[tuple[dict[str, Any], Any]]:
        return candidates

    return given


def _ensure_id(doc: dict[str, Any]) -> None:
    # Ids are set before sending so that insert_many knows the ids stored before a failure
    # the same way on every driver.
    if "_id" not in doc:
        doc["_id"] = ObjectId()


def _duplicate_key_report(exc: PyMongoError) -> dict[str, Any] | None:
    """The driver's details of a duplicate-key error, or ``None`` for any other error."""
    if isinstance(exc, BulkWriteError):
        for write_error in exc.details.get("writeErrors", []):
            if write_error.get("code") in DUPLICATE_KEY_CODES:
                return dict(write_error)
        return None
    if isinstance(exc, OperationFailure) and exc.code in DUPLICATE_KEY_CODES:
        report = dict(exc.details or {})
        report.setdefault("errmsg", str(exc))
        return report
    return None


def _as_dict(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) else None


def _mock_key_pattern(message: str) -> dict[str, Any] | None:
    # mongomock's BulkWriteError carries its details only as the repr in the message.
    match = _KEY_PATTERN_IN_MOCK_MESSAGE.search(message)
    if match is None:
        return None
    try:
        pattern = ast.literal_eval(match.group("pattern"))
    except (ValueError, SyntaxError):
        return None
    return pattern if isinstance(pattern, dict) else None


def _index_named_by_keys(
    indexes: dict[str, dict[str, Any]], key_pattern: Mapping[str, Any]
) -> str | None:
    wanted = [(field, _plain_number(direction)) for field, direction in key_pattern.items()]
    for name, spec in indexes.items():
        if list(spec["key"]) == wanted:
            return name
    return None


def _plain_number(direction: Any) -> Any:
    if isinstance(direction, float) and direction.is_integer():
        return int(direction)
    return direction


_MISSING = object()


def _get_path(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def _has_path(doc: Mapping[str, Any], path: str) -> bool:
    return _get_path(doc, path) is not _MISSING


def _key_value_of(doc: Mapping[str, Any], key_pattern: Mapping[str, Any]) -> dict[str, Any]:
    # A missing field is indexed as null, as the server does.
    values = {field: _get_path(doc, field) for field in key_pattern}
    return {field: (None if value is _MISSING else value) for field, value in values.items()}


def _apply_set(doc: Mapping[str, Any], assignments: Mapping[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(dict(doc))
    for path, value in assignments.items():
        target = updated
        *parents, last = path.split(".")
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[last] = value
    return updated


def _parse_key_value(message: str, key_pattern: Mapping[str, Any]) -> dict[str, Any] | None:
    """Read ``dup key: { field: value, ... }`` from a server message (old servers only)."""
    match = _KEY_VALUE_IN_MESSAGE.search(message)
    if match is None:
        return None
    fields = list(key_pattern)
    parsed: dict[str, Any] = {}
    for position, part in enumerate(_KEY_VALUE_PART.finditer(match.group("body"))):
        field = (part.group("field") or "").strip()
        if not field and position < len(fields):
            field = fields[position]
        parsed[field] = _parse_shell_value(part.group("value").strip())
    return parsed or None


def _parse_shell_value(text: str) -> Any:
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            return text.strip('"')
    constants: dict[str, Any] = {"null": None, "true": True, "false": False}
    if text in constants:
        return constants[text]
    for number_type in (int, float):
        try:
            return number_type(text)
        except ValueError:
            pass
    return text
