"""The seam between odm and the three async MongoDB drivers.

``pymongo.AsyncMongoClient``, motor's ``AsyncIOMotorClient`` and
``mongomock_motor.AsyncMongoMockClient`` databases all go through :func:`adapt`, which
picks the adapter from one table; nothing else in odm knows which driver it has.

- ``interface``: the types (``DriverDatabase``, ``Session``, the ``Database`` and
  ``Collection`` adapters the repository uses);
- ``common``: the adapter over pymongo's async API, and driver errors mapped to odm's
  (``DuplicateKeyError`` raised ``from`` the driver's exception);
- ``pymongo_async``, ``motor_asyncio``: how each client starts sessions and closes;
- ``mock``: mongomock-motor, with every mock quirk (no transactions; null parents,
  ``$mul`` and duplicate-key reports made to agree with a server);
- ``table``: the table of drivers, ``adapt``, ``open_client``, ``close_client``;
- ``sessions``: the session a call with no ``session=`` runs in (``odm.transaction``);
- ``streams``: change streams opened the same way on every driver.
"""

from .common import CLIENT_DEFAULTS
from .interface import (
    Collection,
    Database,
    Document,
    DriverDatabase,
    FieldNames,
    ReadOptions,
    Session,
)
from .mock import open_mock_client
from .table import DRIVERS, adapt, close_client, open_client

__all__ = [
    "CLIENT_DEFAULTS",
    "DRIVERS",
    "Collection",
    "Database",
    "Document",
    "DriverDatabase",
    "FieldNames",
    "ReadOptions",
    "Session",
    "adapt",
    "close_client",
    "open_client",
    "open_mock_client",
]
