"""pymongo's ``AsyncMongoClient``: the reference driver, whose API the adapter follows.

Its own ways: ``client.start_session()`` is sync and ``await session.start_transaction()``
gives the transaction context; ``client.close()`` is a coroutine.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

from pymongo import AsyncMongoClient

from .common import ServerDatabase

__all__ = ["PymongoDatabase"]


class PymongoDatabase(ServerDatabase):
    """A database of ``pymongo.AsyncMongoClient``."""

    kind: ClassVar[str] = "pymongo"
    connects: ClassVar[bool] = True
    database_class: ClassVar[tuple[str, str]] = ("pymongo.asynchronous.database", "AsyncDatabase")
    client_class: ClassVar[tuple[str, str]] = (
        "pymongo.asynchronous.mongo_client",
        "AsyncMongoClient",
    )

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
