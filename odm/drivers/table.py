"""The one table of drivers: which adapter serves a database, a client or a driver name.

Adding a driver is one module (a :class:`~odm.drivers.common.ServerDatabase` subclass
saying how its client differs) and one row in :data:`DRIVERS`; nothing else in odm
changes.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database as SyncDatabase
from pymongo.mongo_client import MongoClient as SyncClient

from odm.errors import ODMError

from .common import ServerDatabase, client_options, unknown_database
from .interface import Database
from .mock import MockDatabase
from .motor_asyncio import MotorDatabase
from .pymongo_async import PymongoDatabase

__all__ = ["DRIVERS", "adapt", "close_client", "open_client"]

#: In the order they are asked: mongomock-motor's classes pass for motor's, so it comes first.
DRIVERS: tuple[type[ServerDatabase], ...] = (MockDatabase, PymongoDatabase, MotorDatabase)
#: ``open_client(uri, driver=...)``: the drivers that connect to a server, by name
CLIENTS: dict[str, type[ServerDatabase]] = {
    driver.kind: driver for driver in DRIVERS if driver.connects
}


def adapt(db: Any) -> Database:
    """The adapter of a driver database (pymongo async, motor or mongomock-motor).

    An adapter is returned as is. A client, a synchronous pymongo database or anything
    else raises ``ODMError`` saying what to pass.
    """
    if isinstance(db, ServerDatabase):
        return db
    for driver in DRIVERS:
        if driver.owns_database(db):
            return driver(db)
    raise _refusal(db)


def _refusal(db: object) -> ODMError:
    for driver in DRIVERS:
        if driver.owns_client(db):
            return ODMError(
                f"odm needs a database, not a client: got {type(db).__qualname__} "
                f"({driver.kind}); pass client['name'] or client.get_default_database()"
            )
    if isinstance(db, SyncDatabase | SyncClient):
        return ODMError(
            f"odm needs an async database; got the synchronous {type(db).__qualname__}: "
            "use pymongo.AsyncMongoClient(...)[name] (or odm.connect(uri))"
        )
    return unknown_database(db)


def open_client(uri: str, *, driver: str = "pymongo", **options: Any) -> Any:
    """Create a ``pymongo.AsyncMongoClient`` (or motor's client with ``driver="motor"``).

    ``CLIENT_DEFAULTS`` apply unless ``options`` override them.
    """
    opener = CLIENTS.get(driver)
    if opener is None:
        known = " or ".join(f"driver={name!r}" for name in CLIENTS)
        raise ODMError(f"unknown driver {driver!r}: use {known}")
    return opener.open_client(uri, client_options(options))


async def close_client(client: Any) -> None:
    """Close a client of any of the drivers."""
    for driver in DRIVERS:
        if driver.owns_client(client):
            await driver.close_client(client)
            return
    raise ODMError(f"cannot close {type(client).__qualname__}: it is no driver's client")
