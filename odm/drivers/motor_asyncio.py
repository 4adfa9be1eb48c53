"""motor's ``AsyncIOMotorClient`` (the ``motor`` extra).

Its own ways: ``await client.start_session()`` is a coroutine and
``session.start_transaction()`` is the transaction context itself; ``client.close()``
is sync. motor is imported only when it is used: a database of it exists only then.
"""

from __future__ import annotations

import sys
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

from odm.errors import ODMError

from .common import ServerCollection, ServerDatabase

__all__ = ["MotorCollection", "MotorDatabase"]

_MODULE = "motor.motor_asyncio"


def _loaded_class(name: str) -> type[Any] | None:
    module = sys.modules.get(_MODULE)
    found: type[Any] | None = getattr(module, name, None)
    return found


class MotorCollection(ServerCollection):
    """A collection of a motor database."""


class MotorDatabase(ServerDatabase):
    """A database of motor's ``AsyncIOMotorClient``."""

    kind: ClassVar[str] = "motor"
    connects: ClassVar[bool] = True
    collection_class: ClassVar[type[ServerCollection]] = MotorCollection

    @classmethod
    def owns_database(cls, db: object) -> bool:
        database_class = _loaded_class("AsyncIOMotorDatabase")
        return database_class is not None and isinstance(db, database_class)

    @classmethod
    def owns_client(cls, client: object) -> bool:
        client_class = _loaded_class("AsyncIOMotorClient")
        return client_class is not None and isinstance(client, client_class)

    @classmethod
    def open_client(cls, uri: str, options: dict[str, Any]) -> Any:
        try:
            from motor.motor_asyncio import AsyncIOMotorClient
        except ImportError as exc:
            raise ODMError(
                "driver='motor' needs the motor package: pip install 'odm[motor]'"
            ) from exc
        return AsyncIOMotorClient(uri, **options)

    @classmethod
    async def close_client(cls, client: Any) -> None:
        client.close()

    async def _start_session(self) -> Any:
        return await self.raw.client.start_session()

    async def _transaction_context(self, session: Any) -> AbstractAsyncContextManager[Any]:
        context: AbstractAsyncContextManager[Any] = session.start_transaction()
        return context
