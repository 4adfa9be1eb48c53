"""What odm needs from a database, as types: the seam between the repository and a driver.

- :class:`DriverDatabase`: what a user passes as ``db`` (a database of
  ``pymongo.AsyncMongoClient``, motor's ``AsyncIOMotorClient`` or
  ``mongomock_motor.AsyncMongoMockClient``);
- :class:`Session`: what ``transaction()`` yields and every ``session=`` takes;
- :class:`Database` and :class:`Collection`: the adapter every driver implements
  (documents in, documents out, cursors, sessions); odm's own errors come out of it,
  with the driver's exception as ``__cause__``;
- :class:`FieldNames`: how an adapter names properties in its errors (a model's
  compiled metadata is one).

Use them in annotations::

    from odm.drivers import DriverDatabase, Session

    async def transfer(db: DriverDatabase, session: Session) -> None: ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypedDict, Unpack, runtime_checkable

#: A BSON-ready document, as the drivers take and return it.
Document = dict[str, Any]
#: ``[(field_path, 1 | -1), ...]``
SortSpec = Sequence[tuple[str, int]]


@runtime_checkable
class DriverDatabase(Protocol):
    """A driver's async database handle: ``client[name]`` of pymongo's
    ``AsyncMongoClient``, motor's ``AsyncIOMotorClient`` or mongomock-motor's client."""

    @property
    def name(self) -> str: ...

    def __getitem__(self, name: str) -> Any: ...

    def __getattr__(self, name: str) -> Any: ...


class Session(Protocol):
    """A driver session (pymongo's ``AsyncClientSession`` or motor's session), as yielded
    by ``transaction()``; pass it as ``session=`` to the calls inside the transaction."""

    async def commit_transaction(self) -> None: ...

    async def abort_transaction(self) -> None: ...

    async def end_session(self) -> None: ...


class FieldNames(Protocol):
    """Names the properties behind stored field paths (a model's compiled metadata)."""

    @property
    def name(self) -> str:
        """The model's name, as errors show it."""
        ...

    def property_path(self, field_path: str) -> str:
        """The property path stored at ``field_path`` (``"mail"`` -> ``"email"``)."""
        ...

    def hides(self, property_path: str) -> bool:
        """Whether the value at ``property_path`` is hidden (kept out of errors)."""
        ...


class ReadOptions(TypedDict, total=False):
    """What a read returns (``projection``), in which order (``sort``), which slice
    (``skip``; ``limit``, 0 for all) and in which ``session``."""

    projection: Mapping[str, Any] | None
    sort: SortSpec | None
    skip: int
    limit: int
    session: Session | None


class Reads(Protocol):
    """The reads of a collection (a repository's reads go through these: its
    collection's, or the ``$geoNear`` reads of a where with ``near``)."""

    def find(
        self,
        query: Mapping[str, Any],
        *,
        batch_size: int | None = None,
        **options: Unpack[ReadOptions],
    ) -> AsyncIterator[Document]: ...

    async def find_all(
        self, query: Mapping[str, Any], **options: Unpack[ReadOptions]
    ) -> list[Document]: ...

    async def find_one(
        self,
        query: Mapping[str, Any],
        *,
        projection: Mapping[str, Any] | None = None,
        sort: SortSpec | None = None,
        skip: int = 0,
        session: Session | None = None,
    ) -> Document | None: ...

    async def count(
        self,
        query: Mapping[str, Any],
        *,
        skip: int = 0,
        limit: int = 0,
        session: Session | None = None,
    ) -> int: ...


class Collection(Reads, Protocol):
    """One collection, the same on every driver.

    Writes raise :class:`odm.DuplicateKeyError` (property names from the
    :class:`FieldNames` given to :meth:`Database.collection`, the driver's error as
    ``__cause__``); other driver errors pass unchanged.
    """

    @property
    def name(self) -> str: ...

    @property
    def raw(self) -> Any:
        """The driver's own collection (the escape hatch)."""
        ...

    @property
    def database(self) -> Database: ...

    async def insert_one(self, doc: Document, *, session: Session | None = None) -> Any: ...

    async def insert_many(
        self, docs: list[Document], *, session: Session | None = None
    ) -> list[Any]: ...

    async def update_one(
        self,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        upsert: bool = False,
        session: Session | None = None,
    ) -> int: ...

    async def update_many(
        self, query: Mapping[str, Any], update: Mapping[str, Any], *, session: Session | None = None
    ) -> int: ...

    async def replace_one(
        self,
        query: Mapping[str, Any],
        doc: Document,
        *,
        upsert: bool = False,
        session: Session | None = None,
    ) -> int: ...

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
    ) -> Document | None: ...

    async def delete_one(
        self, query: Mapping[str, Any], *, session: Session | None = None
    ) -> int: ...

    async def delete_many(
        self, query: Mapping[str, Any], *, session: Session | None = None
    ) -> int: ...

    async def aggregate(
        self, pipeline: Sequence[Mapping[str, Any]], *, session: Session | None = None
    ) -> list[Document]:
        """Every document the aggregation ``pipeline`` returns, as one list."""
        ...

    async def index_information(self) -> dict[str, dict[str, Any]]: ...

    async def create_index(self, keys: list[tuple[str, Any]], **options: Any) -> str: ...

    async def drop_index(self, name: str) -> None: ...

    async def drop(self) -> None: ...

    async def create(self) -> None: ...


class Database(Protocol):
    """One database, the same on every driver."""

    @property
    def kind(self) -> str:
        """``"pymongo"``, ``"motor"`` or ``"mongomock"``."""
        ...

    @property
    def name(self) -> str: ...

    @property
    def raw(self) -> Any:
        """The driver's own database."""
        ...

    @property
    def supports_transactions(self) -> bool: ...

    @property
    def supports_change_streams(self) -> bool: ...

    def collection(
        self,
        name: str,
        *,
        names: FieldNames | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Collection:
        """The adapter of collection ``name``; ``options`` (``write_concern``,
        ``read_concern``, ``read_preference``: pymongo objects) apply to its commands."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Session]: ...

    async def drop(self) -> None: ...

    async def list_collection_names(self) -> list[str]: ...

    def same_database(self, other: Database) -> bool: ...
