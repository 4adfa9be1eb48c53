"""motor's ``AsyncIOMotorClient`` (the ``motor`` extra).

Its own ways: ``await client.start_session()`` is a coroutine and
``session.start_transaction()`` is the transaction context itself; ``client.close()``
is sync. motor is imported only to open a client: a database of it exists only then.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

from odm._distribution import install_hint
from odm.errors import ODMError

from .common import ServerDatabase

__all__ = ["MotorDatabase"]


class MotorDatabase(ServerDatabase):
    """A database of motor's ``AsyncIOMotorClient``."""

    kind: ClassVar[str] = "motor"
    connects: ClassVar[bool] = True
    database_class: ClassVar[tuple[str, str]] = ("motor.motor_asyncio", "AsyncIOMotorDatabase")
    client_class: ClassVar[tuple[str, str]] = ("motor.motor_asyncio", "AsyncIOMotorClient")

    @classmethod
    def open_client(cls, uri: str, options: dict[str, Any]) -> Any:
        try:
            from motor.motor_asyncio import AsyncIOMotorClient
        except ImportError as exc:
            raise ODMError(
                f"driver='motor' needs the motor package: {install_hint('motor')}"
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
