"""``connect()``: a database from a URI, checked reachable before it is handed out.

::

    async with odm.connect("mongodb://localhost/shop") as db:      # pymongo AsyncMongoClient
        ...
    async with odm.connect("embedded://?temporary=true") as db:    # a throwaway local server
        ...
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from odm.drivers import DriverDatabase, close_client, open_client, open_mock_client
from odm.embedded import EmbeddedServer, default_data_dir
from odm.errors import ODMError

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_TIMEOUT_MS",
    "TEMPORARY_EMBEDDED_URI",
    "connect",
    "default_uri",
    "environment_uri",
]

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "odm"
#: How long connect() waits for a server before it gives up (``serverSelectionTimeoutMS``).
DEFAULT_TIMEOUT_MS = 5000
#: A throwaway embedded server: a temporary directory, removed when it stops.
TEMPORARY_EMBEDDED_URI = "embedded://?temporary=true"
_TIMEOUT_OPTION = "serverselectiontimeoutms"
_EMBEDDED_OPTIONS = ("database", "temporary")

_announced = False
# data directory -> (the server this process runs on it, how many connect() use it)
_shared: dict[Path, tuple[EmbeddedServer, int]] = {}
_shared_lock = threading.Lock()


def environment_uri() -> str | None:
    """``ODM_URI``, else ``MONGODB_URI``, else None."""
    return os.environ.get("ODM_URI") or os.environ.get("MONGODB_URI") or None


def default_uri() -> str:
    """``ODM_URI``, else ``MONGODB_URI``, else ``embedded://`` (the default data directory)."""
    return environment_uri() or "embedded://"


def connect(
    uri: str | None = None, *, driver: str = "pymongo", **client_options: Any
) -> AbstractAsyncContextManager[DriverDatabase]:
    """Open a client, check the server answers, and yield the database the URI names.

    - ``mongodb://`` / ``mongodb+srv://``: ``pymongo.AsyncMongoClient`` (``driver="motor"``:
      motor's ``AsyncIOMotorClient``); the database is the URI's path (default ``odm``).
    - ``mongomock://`` or ``mongomock:///name``: an in-memory mongomock-motor database.
    - ``embedded://``: a local SecantusDB server on the default data directory
      (``ODM_DATA_DIR``, else the per-user data directory), kept between runs;
      ``embedded:///path/to/dir`` picks the directory; ``embedded://?temporary=true`` a
      throwaway server on a temporary directory; ``?database=name`` picks the database.
      The server stops on exit. A second ``connect()`` in the same process shares it; a
      server of another process on that directory is refused with an ``ODMError``.

    Without ``uri``: ``ODM_URI``, then ``MONGODB_URI``, then ``embedded://`` (announced
    once with a warning on the ``odm`` logger). A server that does not answer within 5 s
    raises ``ODMError`` (``serverSelectionTimeoutMS`` in the URI or as an option changes
    it). Clients use ``uuidRepresentation="standard"`` and ``tz_aware=True``;
    ``client_options`` override. Everything opened is closed on exit::

        async with odm.connect("embedded://?temporary=true") as db:
            customers = Repository(Customer, db)
    """
    if uri is None:
        uri = environment_uri()
        if uri is None:
            uri = "embedded://"
            _announce_default()
    return _connect(uri, driver, client_options)


def _announce_default() -> None:
    global _announced
    if _announced:
        return
    _announced = True
    logger.warning(
        "no ODM_URI or MONGODB_URI set: using an embedded server with data in %s",
        default_data_dir(),
    )


@asynccontextmanager
async def _connect(
    uri: str, driver: str, client_options: dict[str, Any]
) -> AsyncIterator[DriverDatabase]:
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    options = dict(client_options)
    if scheme in ("mongodb", "mongodb+srv"):
        client = _open(uri, driver, parts.query, options)
        try:
            await _ping(client, _hosts(parts.netloc), parts.query, options)
            yield client.get_default_database(DEFAULT_DATABASE)
        finally:
            await close_client(client)
    elif scheme == "mongomock":
        name = unquote(parts.path.strip("/")) or parts.netloc or DEFAULT_DATABASE
        client = open_mock_client(**options)
        try:
            yield client[name]
        finally:
            await close_client(client)
    elif scheme == "embedded":
        storage, name = _embedded_target(uri)
        server = await asyncio.to_thread(_acquire, storage)
        try:
            options = {"retryWrites": False, **options}
            client = _open(server.uri, driver, "", options)
            try:
                await _ping(client, f"{server.uri.split('/')[2]} (embedded)", "", options)
                yield client[name]
            finally:
                await close_client(client)
        finally:
            await asyncio.to_thread(_release, server)
    else:
        raise ODMError(
            f"cannot connect to {_redacted(uri)!r}: the URI must start with mongodb://, "
            "mongodb+srv://, mongomock:// or embedded://"
        )


def _redacted(uri: str) -> str:
    """``uri`` without its user name and password."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def _embedded_target(uri: str) -> tuple[Path | None, str]:
    """The data directory (None: temporary) and the database an ``embedded://`` URI names."""
    parts = urlsplit(uri)
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(_EMBEDDED_OPTIONS))
    if unknown:
        raise ODMError(
            f"unknown option {unknown[0]!r} in {uri!r}: an embedded:// URI takes "
            "?database=name and ?temporary=true"
        )
    temporary = query.get("temporary", ["false"])[-1].lower()
    if temporary not in ("true", "false", "1", "0", "yes", "no"):
        raise ODMError(f"temporary={temporary!r} in {uri!r}: use temporary=true or false")
    name = query.get("database", [DEFAULT_DATABASE])[-1] or DEFAULT_DATABASE
    # embedded:///abs/dir is absolute; embedded://rel/dir is relative to the working dir
    path = unquote(parts.netloc + parts.path)
    if temporary in ("true", "1", "yes"):
        if path:
            raise ODMError(
                f"{uri!r} names a directory and temporary=true: choose one (a temporary "
                "directory is created and removed by odm)"
            )
        return None, name
    return (Path(path).expanduser().resolve() if path else default_data_dir()), name


def _acquire(storage: Path | None) -> EmbeddedServer:
    """A running server on ``storage``: this process's own if it runs one there already."""
    if storage is None:
        return EmbeddedServer().start()
    with _shared_lock:
        shared = _shared.get(storage)
        if shared is not None and shared[0].running:
            server, users = shared
        else:
            if shared is not None:  # it died: release its lock before a new one starts
                shared[0].stop()
            server, users = EmbeddedServer(storage).start(), 0
        _shared[storage] = (server, users + 1)
        return server


def _release(server: EmbeddedServer) -> None:
    """Stop ``server`` unless another connect() of this process still uses it."""
    storage = server.storage_path
    with _shared_lock:
        if storage is not None and storage in _shared and _shared[storage][0] is server:
            users = _shared[storage][1]
            if users > 1:
                _shared[storage] = (server, users - 1)
                return
            del _shared[storage]
    server.stop()


def _open(uri: str, driver: str, query: str, options: dict[str, Any]) -> Any:
    """A client with connect()'s default timeout unless the URI or the caller set one."""
    in_uri = any(key.lower() == _TIMEOUT_OPTION for key in parse_qs(query))
    if not in_uri and not any(key.lower() == _TIMEOUT_OPTION for key in options):
        options["serverSelectionTimeoutMS"] = DEFAULT_TIMEOUT_MS
    from pymongo.errors import ConfigurationError

    try:
        return open_client(uri, driver=driver, **options)
    except ConfigurationError as error:
        raise ODMError(f"cannot connect to {_redacted(uri)!r}: {error}") from error


def _hosts(netloc: str) -> str:
    """The hosts of a URI, without any credentials."""
    return unquote(netloc.rpartition("@")[2]) or "localhost"


def _timeout_seconds(query: str, options: dict[str, Any]) -> float:
    for source in (options, {k: v[-1] for k, v in parse_qs(query).items()}):
        for key, value in source.items():
            if key.lower() == _TIMEOUT_OPTION:
                try:
                    return float(value) / 1000
                except (TypeError, ValueError):
                    break
    return DEFAULT_TIMEOUT_MS / 1000


async def _ping(client: Any, hosts: str, query: str, options: dict[str, Any]) -> None:
    """Ask the server for a ping: an unreachable server fails here, in one clear line."""
    from pymongo.errors import ConnectionFailure, OperationFailure

    try:
        await client.admin.command("ping")
    except ConnectionFailure as error:
        raise ODMError(
            f"cannot reach MongoDB at {hosts} within {_timeout_seconds(query, options):g} s: "
            "check that the server is running and that the host, port and network allow "
            "the connection (serverSelectionTimeoutMS in the URI or as a connect() option "
            "waits longer)"
        ) from error
    except OperationFailure as error:
        raise ODMError(f"MongoDB at {hosts} refused the connection: {error}") from error
