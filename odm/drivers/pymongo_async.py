"""pymongo's ``AsyncMongoClient``: the reference driver, whose API the adapter follows.

Its own ways: ``client.start_session()`` is sync and ``await session.start_transaction()``
gives the transaction context; ``client.close()`` is a coroutine.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from .common import ServerCollection, ServerDatabase

__all__ = ["PymongoCollection", "PymongoDatabase"]


class PymongoCollection(ServerCollection):
    """A collection of a pymongo async database."""


class PymongoDatabase(ServerDatabase):
    """A database of ``pymongo.AsyncMongoClient``."""

    kind: ClassVar[str] = "pymongo"
    connects: ClassVar[bool] = True
    collection_class: ClassVar[type[ServerCollection]] = PymongoCollection

    @classmethod
    def owns_database(cls, db: object) -> bool:
        return isinstance(db, AsyncDatabase)

    @classmethod
    def owns_client(cls, client: object) -> bool:
        return isinstance(client, AsyncMongoClient)

    @classmethod
    def open_client(cls, uri: str, options: dict[str, Any]) -> Any:
        return AsyncMongoClient(uri, **options)

    @classmethod
    async def close_client(cls, client: Any) -> None:
        await client.close()

    async def _start_session(self) -> Any:
        return self.raw.client.start_session()

    async def _transaction_context(self, session: Any) -> AbstractAsyncContextManager[Any]:
        context: AbstractAsyncContextManager[Any] = await session.start_transaction()
        return context
