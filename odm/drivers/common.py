"""The adapter as a MongoDB server sees it: what pymongo async and motor share.

:class:`ServerDatabase` and :class:`ServerCollection` implement
:class:`~odm.drivers.interface.Database` / :class:`~odm.drivers.interface.Collection`
over a driver with pymongo's async API; each driver module overrides only what its
client does differently (sessions, transactions, closing). Driver errors are mapped
here, once: a duplicate key becomes :class:`odm.DuplicateKeyError` raised ``from`` the
driver's exception; anything else passes unchanged.
"""

from __future__ import annotations

import contextlib
import datetime
import inspect
import json
import re
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, Unpack

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, CollectionInvalid, OperationFailure, PyMongoError

from odm.encoded import encodes_like_odm, sendable
from odm.errors import DuplicateKeyError, ODMError

from .interface import Database, Document, FieldNames, ReadOptions, Session, SortSpec
from .sessions import bound_session

__all__ = [
    "CLIENT_DEFAULTS",
    "DuplicateKey",
    "ServerCollection",
    "ServerDatabase",
    "WriteAttempt",
    "client_options",
    "resolve",
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
_KEY_VALUE_PART = re.compile(
    r"\s*(?P<field>[^\s:,{}][^:,{}]*?)?\s*:\s*"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|[^,{}]+|\{[^{}]*\})\s*(?:,|$)"
)


def client_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` over :data:`CLIENT_DEFAULTS`."""
    merged = {**CLIENT_DEFAULTS, **options}
    if not merged.get("tz_aware") and "tzinfo" not in options:
        merged.pop("tzinfo")  # pymongo refuses a tzinfo without tz_aware
    return merged


async def resolve(value: Any) -> Any:
    """Await ``value`` when the driver returned an awaitable, else return it as is."""
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass(frozen=True)
class WriteAttempt:
    """What a failed write wanted to store: read only when a duplicate-key report is
    incomplete (old servers, mongomock). Built after the failure, never before."""

    #: the inserted documents, or the replacement
    documents: Sequence[Document] = ()
    query: Mapping[str, Any] | None = None
    update: Mapping[str, Any] | None = None
    replacement: bool = False
    upsert: bool = False
    many: bool = False
    sort: SortSpec | None = None


@dataclass
class DuplicateKey:
    """A broken unique index in the driver's field names, completed where it was silent."""

    index_name: str | None
    key_pattern: dict[str, Any] | None
    key_value: dict[str, Any] | None
    message: str = ""
    batch_index: int | None = None


class _FieldsAsProperties:
    """The names of a collection used without a model: fields are the properties."""

    def __init__(self, collection: str) -> None:
        self.name = collection

    def property_path(self, field_path: str) -> str:
        return field_path

    def hides(self, property_path: str) -> bool:
        return False


class ServerCollection:
    """One collection of a driver with pymongo's async API (pymongo's and motor's)."""

    #: inserts send validated documents as the BSON they were checked as (odm.encoded)
    sends_raw: ClassVar[bool] = True

    def __init__(self, collection: Any, database: ServerDatabase, names: FieldNames | None) -> None:
        self.raw: Any = collection
        #: what the commands go to: the driver's collection, or a stand-in that corrects it
        self._driver: Any = collection
        self.name: str = collection.name
        self.database = database
        self.names: FieldNames = names if names is not None else _FieldsAsProperties(self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.database.kind}, {self.database.name}.{self.name})"

    def _session_option(self, session: Session | None) -> dict[str, Any]:
        # Passed only when there is a session (the caller's, else the transaction this task
        # is in on this client: odm.drivers.sessions); the drivers' defaults stay untouched.
        session = bound_session(self.database.raw.client) if session is None else session
        return {} if session is None else {"session": session}

    # -- writes -------------------------------------------------------------------------

    async def insert_one(self, doc: Document, *, session: Session | None = None) -> Any:
        """Insert ``doc`` (an ``_id`` is added to it when missing); return its ``_id``."""
        sent = sendable(doc, self.sends_raw and encodes_like_odm(self.raw.codec_options))
        try:
            await self._driver.insert_one(sent, **self._session_option(session))
        except PyMongoError as error:
            raise await self._mapped(error, WriteAttempt(documents=[doc])) from error
        return doc["_id"]

    async def insert_many(
        self, docs: list[Document], *, session: Session | None = None
    ) -> list[Any]:
        """Insert ``docs`` in order; return their ids.

        Every document gets its ``_id`` before anything is sent, so on a failure the ids
        of the documents stored before it are in ``docs`` (``DuplicateKeyError``'s
        ``index_in_batch`` is the failed position; the documents before it stay stored).
        """
        if not docs:
            return []
        raw = self.sends_raw and encodes_like_odm(self.raw.codec_options)
        sent = [sendable(doc, raw) for doc in docs]  # each with its _id: odm.encoded
        try:
            await self._driver.insert_many(sent, ordered=True, **self._session_option(session))
        except PyMongoError as error:
            raise await self._mapped(error, WriteAttempt(documents=docs, many=True)) from error
        return [doc["_id"] for doc in docs]

    async def update_one(
        self,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        upsert: bool = False,
        session: Session | None = None,
    ) -> int:
        """Update the first matching document; return the matched count (0 or 1)."""
        try:
            result = await self._driver.update_one(
                query, update, upsert=upsert, **self._session_option(session)
            )
        except PyMongoError as error:
            attempt = WriteAttempt(query=query, update=update, upsert=upsert)
            raise await self._mapped(error, attempt) from error
        return int(result.matched_count)

    async def update_many(
        self, query: Mapping[str, Any], update: Mapping[str, Any], *, session: Session | None = None
    ) -> int:
        """Update every matching document; return the matched count."""
        try:
            result = await self._driver.update_many(query, update, **self._session_option(session))
        except PyMongoError as error:
            attempt = WriteAttempt(query=query, update=update, many=True)
            raise await self._mapped(error, attempt) from error
        return int(result.matched_count)

    async def replace_one(
        self,
        query: Mapping[str, Any],
        doc: Document,
        *,
        upsert: bool = False,
        session: Session | None = None,
    ) -> int:
        """Replace the first matching document with ``doc`` (or, with ``upsert``, insert
        it when none matches); return the matched count."""
        try:
            result = await self._driver.replace_one(
                query, doc, upsert=upsert, **self._session_option(session)
            )
        except PyMongoError as error:
            attempt = WriteAttempt(documents=[doc], query=query, replacement=True, upsert=upsert)
            raise await self._mapped(error, attempt) from error
        return int(result.matched_count)

    async def find_one_and_update(
        self,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        sort: SortSpec | None = None,
        projection: Mapping[str, Any] | None = None,
        return_new: bool = True,
        upsert: bool = False,
        session: Session | None = None,
    ) -> Document | None:
        """Atomically update the first document in ``sort`` order; return it (after or before)."""
        options: dict[str, Any] = {
            "projection": projection or None,
            "upsert": upsert,
            "return_document": ReturnDocument.AFTER if return_new else ReturnDocument.BEFORE,
            **self._session_option(session),
        }
        if sort:
            options["sort"] = list(sort)
        try:
            document: Document | None = await self._driver.find_one_and_update(
                query, update, **options
            )
        except PyMongoError as error:
            attempt = WriteAttempt(query=query, update=update, upsert=upsert, sort=sort)
            raise await self._mapped(error, attempt) from error
        return document

    async def delete_one(self, query: Mapping[str, Any], *, session: Session | None = None) -> int:
        """Delete the first matching document; return the deleted count."""
        result = await self._driver.delete_one(query, **self._session_option(session))
        return int(result.deleted_count)

    async def delete_many(self, query: Mapping[str, Any], *, session: Session | None = None) -> int:
        """Delete every matching document; return the deleted count."""
        result = await self._driver.delete_many(query, **self._session_option(session))
        return int(result.deleted_count)

    # -- reads --------------------------------------------------------------------------

    def _cursor(
        self, query: Mapping[str, Any], batch_size: int | None, options: ReadOptions
    ) -> Any:
        sent: dict[str, Any] = {
            "skip": options.get("skip", 0),
            "limit": options.get("limit", 0),
            **self._session_option(options.get("session")),
        }
        if options.get("sort"):
            sent["sort"] = list(options["sort"] or ())
        if batch_size is not None:
            sent["batch_size"] = batch_size
        return self._driver.find(query, options.get("projection") or None, **sent)

    async def find(
        self,
        query: Mapping[str, Any],
        *,
        batch_size: int | None = None,
        **options: Unpack[ReadOptions],
    ) -> AsyncIterator[Document]:
        """Stream the matching documents with the driver's cursor (never all in memory)."""
        cursor = self._cursor(query, batch_size, options)
        try:
            async for document in cursor:
                yield document
        finally:
            await resolve(cursor.close())

    async def find_all(
        self, query: Mapping[str, Any], **options: Unpack[ReadOptions]
    ) -> list[Document]:
        """Every matching document as one list, read by the driver's own ``to_list``
        (no await per document)."""
        documents: list[Document] = await self._cursor(query, None, options).to_list(None)
        return documents

    async def find_one(
        self,
        query: Mapping[str, Any],
        *,
        projection: Mapping[str, Any] | None = None,
        sort: SortSpec | None = None,
        skip: int = 0,
        session: Session | None = None,
    ) -> Document | None:
        """The first matching document in ``sort`` order, or ``None``."""
        options: dict[str, Any] = {"skip": skip, **self._session_option(session)}
        if sort:
            options["sort"] = list(sort)
        document: Document | None = await self._driver.find_one(
            query, projection or None, **options
        )
        return document

    async def aggregate(
        self, pipeline: Sequence[Mapping[str, Any]], *, session: Session | None = None
    ) -> list[Document]:
        """Every document ``pipeline`` returns (pymongo's cursor is awaited, motor's not)."""
        cursor = await resolve(
            self._driver.aggregate(list(pipeline), **self._session_option(session))
        )
        documents: list[Document] = await cursor.to_list(None)
        return documents

    async def count(
        self,
        query: Mapping[str, Any],
        *,
        skip: int = 0,
        limit: int = 0,
        session: Session | None = None,
    ) -> int:
        """Count the matching documents, after ``skip`` and up to ``limit`` (0: no limit)."""
        options: dict[str, Any] = self._session_option(session)
        if skip:
            options["skip"] = skip
        if limit:
            options["limit"] = limit
        return int(await self._driver.count_documents(query, **options))

    # -- indexes and the collection itself ----------------------------------------------

    async def index_information(self) -> dict[str, dict[str, Any]]:
        """``{name: {"key": [(field, direction), ...], "unique": True, ...}}`` on every driver."""
        information = await resolve(self.raw.index_information())
        normalised: dict[str, dict[str, Any]] = {}
        for name, spec in information.items():
            entry = dict(spec)
            entry["key"] = [(field, plain_number(direction)) for field, direction in spec["key"]]
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

    # -- errors -------------------------------------------------------------------------

    async def _mapped(self, error: PyMongoError, attempt: WriteAttempt) -> DuplicateKeyError:
        """odm's error for the driver's ``error`` (raise it ``from error``); an error odm
        does not map is raised again here, unchanged."""
        report = duplicate_key_report(error)
        if report is None:
            _raise_unchanged(error)
        batch_index = None
        if attempt.many and attempt.documents:
            batch_index = _batch_index(error, report, len(attempt.documents))
        duplicate = await self._duplicate_key(report, attempt, batch_index)
        return self._duplicate_key_error(duplicate)

    async def _duplicate_key(
        self, report: dict[str, Any], attempt: WriteAttempt, batch_index: int | None
    ) -> DuplicateKey:
        """The server's report, completed from the message and the collection's indexes
        where an old server (before MongoDB 4.2) left out the key pattern or value."""
        message = str(report.get("errmsg") or "")
        duplicate = DuplicateKey(
            index_name=index_name_in(message),
            key_pattern=as_dict(report.get("keyPattern")),
            key_value=as_dict(report.get("keyValue")),
            message=message,
            batch_index=batch_index,
        )
        if duplicate.key_pattern is None and duplicate.index_name is not None:
            indexes = await self.index_information()
            if duplicate.index_name in indexes:
                duplicate.key_pattern = dict(indexes[duplicate.index_name]["key"])
        if duplicate.key_value is None and duplicate.key_pattern is not None:
            duplicate.key_value = parse_key_value(message, duplicate.key_pattern)
        return duplicate

    def _duplicate_key_error(self, duplicate: DuplicateKey) -> DuplicateKeyError:
        names = self.names
        fields = list((duplicate.key_pattern or {}).keys())
        value = None
        if duplicate.key_value is not None:
            paths = {k: names.property_path(k) for k in duplicate.key_value}
            # a hidden property's value stays out of the error (errors end up in logs)
            value = {
                paths[k]: None if names.hides(paths[k]) else v
                for k, v in duplicate.key_value.items()
            }
        return DuplicateKeyError(
            names.name,
            properties=[names.property_path(field) for field in fields],
            index=duplicate.index_name,
            value=value,
            index_in_batch=duplicate.batch_index,
        )


class ServerDatabase:
    """A database of a driver with pymongo's async API (the base of every adapter)."""

    #: the label of the driver (``Database.kind``)
    kind: ClassVar[str] = "server"
    #: the collection adapter class of this driver
    collection_class: ClassVar[type[ServerCollection]] = ServerCollection
    supports_transactions: ClassVar[bool] = True
    supports_change_streams: ClassVar[bool] = True
    #: whether ``open_client(uri, driver=kind)`` opens a client of this driver
    connects: ClassVar[bool] = False
    #: ``(module, class name)`` of the driver's database and client classes; the module
    #: is not imported here: a database of a driver exists only once it was imported
    database_class: ClassVar[tuple[str, str]]
    client_class: ClassVar[tuple[str, str]]

    def __init__(self, db: Any) -> None:
        self.raw: Any = db
        self.name: str = db.name
        self._collections: dict[str, ServerCollection] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind}, {self.name!r})"

    # -- what differs between drivers: each adapter says how its client does it --------

    @classmethod
    def owns_database(cls, db: object) -> bool:
        """Whether ``db`` is a database of this driver."""
        return _is_instance(db, cls.database_class)

    @classmethod
    def owns_client(cls, client: object) -> bool:
        """Whether ``client`` is a client of this driver."""
        return _is_instance(client, cls.client_class)

    @classmethod
    def open_client(cls, uri: str, options: dict[str, Any]) -> Any:
        """A client of this driver connected to ``uri`` (drivers with ``connects``)."""
        raise NotImplementedError

    @classmethod
    async def close_client(cls, client: Any) -> None:
        raise NotImplementedError

    async def _start_session(self) -> Any:
        raise NotImplementedError

    async def _transaction_context(self, session: Any) -> AbstractAsyncContextManager[Any]:
        raise NotImplementedError

    # -- the shared behaviour ------------------------------------------------------------

    def collection(
        self,
        name: str,
        *,
        names: FieldNames | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ServerCollection:
        """The adapter of collection ``name`` (created lazily by the server, as usual).

        ``names`` (a model's metadata) names the properties in duplicate-key errors;
        without it they are the field names and the model is the collection's name.
        ``options`` (``write_concern``, ``read_concern``, ``read_preference``: pymongo
        objects, see ``odm.drivers.concerns``) apply to every command of the collection.
        """
        if options:
            return self.collection_class(self.with_options(self.raw[name], options), self, names)
        if names is not None:
            return self.collection_class(self.raw[name], self, names)
        adapter = self._collections.get(name)
        if adapter is None:
            adapter = self.collection_class(self.raw[name], self, None)
            self._collections[name] = adapter
        return adapter

    def with_options(self, collection: Any, options: Mapping[str, Any]) -> Any:
        """The driver's collection with read/write concerns and read preference."""
        return collection.with_options(**options)

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        """Start a session and a transaction; yield the session.

        Commits when the block ends normally, aborts when it raises. However the commit
        ends (refused, or unknown after the driver's retry), the session is ended on the
        server, so no transaction stays open holding its documents' locks.
        """
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Session]:
        session = await self._start_session()
        async with session:
            transaction = await self._transaction_context(session)
            try:
                async with transaction:
                    yield session
            except Exception:
                # The driver sends no abort after a failed commit and ignores a failed
                # abort: ending the session is what makes the server drop the transaction.
                with contextlib.suppress(PyMongoError):
                    await resolve(
                        self.raw.client.admin.command("endSessions", [session.session_id])
                    )
                raise

    async def drop(self) -> None:
        """Drop the whole database."""
        await resolve(self.raw.client.drop_database(self.name))
        self._collections.clear()

    async def list_collection_names(self) -> list[str]:
        names = await resolve(self.raw.list_collection_names())
        return sorted(names)

    def same_database(self, other: Database) -> bool:
        """Whether ``other`` is the same database of the same client."""
        return self.raw is other.raw or bool(self.raw == other.raw)


def _is_instance(value: object, where: tuple[str, str]) -> bool:
    module, name = where
    found = getattr(sys.modules.get(module), name, None)
    return isinstance(found, type) and isinstance(value, found)


def _raise_unchanged(error: PyMongoError) -> NoReturn:
    raise error


def _batch_index(error: PyMongoError, report: Mapping[str, Any], size: int) -> int:
    position = report.get("index")
    if isinstance(position, int) and 0 <= position < size:
        return position
    details = error.details if isinstance(error, BulkWriteError) else None
    return int((details or {}).get("nInserted", 0))


def duplicate_key_report(exc: PyMongoError) -> dict[str, Any] | None:
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


def index_name_in(message: str) -> str | None:
    """The index a server's duplicate-key message names (mongomock names none)."""
    match = _INDEX_NAME_IN_MESSAGE.search(message)
    return match.group("name") if match else None


def as_dict(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) else None


def plain_number(direction: Any) -> Any:
    if isinstance(direction, float) and direction.is_integer():
        return int(direction)
    return direction


def parse_key_value(message: str, key_pattern: Mapping[str, Any]) -> dict[str, Any] | None:
    """Read ``dup key: { field: value, ... }`` from a server message (old servers only)."""
    match = _KEY_VALUE_IN_MESSAGE.search(message)
    if match is None:
        return None
    fields = list(key_pattern)
    parsed: dict[str, Any] = {}
    for position, part in enumerate(_KEY_VALUE_PART.finditer(match.group("body"))):
        field_name = (part.group("field") or "").strip()
        if not field_name and position < len(fields):
            field_name = fields[position]
        parsed[field_name] = _parse_shell_value(part.group("value").strip())
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


def unknown_database(db: object) -> ODMError:
    """The error for something that is no driver's database."""
    return ODMError(
        f"odm cannot use {type(db).__module__}.{type(db).__qualname__} as a database: pass a "
        "database from pymongo.AsyncMongoClient, motor's AsyncIOMotorClient or "
        "mongomock_motor.AsyncMongoMockClient (or use odm.connect(uri))"
    )
