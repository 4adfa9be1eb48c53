"""``connect()`` and the embedded SecantusDB server process.

::

    async with odm.connect("mongodb://localhost/shop") as db:      # pymongo AsyncMongoClient
        ...
    async with odm.connect("embedded://") as db:                   # a local server, removed after
        ...
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from odm.drivers import close_client, open_client, open_mock_client
from odm.errors import ODMError

__all__ = ["DEFAULT_DATABASE", "EmbeddedServer", "connect", "default_uri"]

DEFAULT_DATABASE = "odm"
EMBEDDED_HOST = "127.0.0.1"
_SERVER_SCRIPT = "secantusd-py"
_SERVER_MODULE = "secantus"
_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(?P<port>\d+)")
_INSTALL_EMBEDDED = "pip install 'odm[embedded]'"

_running_servers: weakref.WeakSet[EmbeddedServer] = weakref.WeakSet()


def _stop_running_servers() -> None:
    for server in list(_running_servers):
        server.stop()


# A server left running by a caller that never stopped it dies with the interpreter.
atexit.register(_stop_running_servers)


def _server_command() -> list[str]:
    """How to run SecantusDB with this interpreter's installation."""
    try:
        import secantus  # noqa: F401
    except ImportError as exc:
        raise ODMError(
            f"the embedded server needs SecantusDB, which is not installed: {_INSTALL_EMBEDDED}"
        ) from exc
    # The console script next to this interpreter belongs to the same environment; when
    # it is absent (user installs put scripts elsewhere) the module runs with this
    # interpreter, and a script found on PATH is the last resort.
    sibling = Path(sys.executable).parent / _SERVER_SCRIPT
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return [str(sibling)]
    import importlib.util

    if importlib.util.find_spec(f"{_SERVER_MODULE}.__main__") is not None:
        return [sys.executable, "-m", _SERVER_MODULE]
    on_path = shutil.which(_SERVER_SCRIPT)
    if on_path is not None:
        return [on_path]
    raise ODMError(
        f"cannot find the SecantusDB server ({_SERVER_SCRIPT}); reinstall it: {_INSTALL_EMBEDDED}"
    )


class EmbeddedServer:
    """A local SecantusDB server run as a child process, bound to 127.0.0.1 only.

    ::

        with EmbeddedServer() as server:          # temp storage, removed on stop()
            client = pymongo.AsyncMongoClient(server.uri)

    ``storage_path`` keeps the data between runs; without it a temporary directory is
    used and removed when the server stops. ``extra_args`` are appended to the command
    line (``["--enable-test-commands"]`` for instance).
    """

    def __init__(
        self,
        storage_path: str | os.PathLike[str] | None = None,
        *,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        cache_size: str = "256M",
        log_level: str = "INFO",
    ) -> None:
        self.storage_path = Path(storage_path).resolve() if storage_path is not None else None
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.cache_size = cache_size
        self.log_level = log_level
        self._process: subprocess.Popen[str] | None = None
        self._port: int | None = None
        self._temporary_dir: str | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=200)
        self._reader: threading.Thread | None = None

    def __repr__(self) -> str:
        state = f"pid {self.pid}, {self.uri}" if self.running else "stopped"
        return f"EmbeddedServer({state})"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def port(self) -> int:
        if self._port is None:
            raise ODMError("the embedded server is not started: call start() first")
        return self._port

    @property
    def pid(self) -> int:
        if self._process is None:
            raise ODMError("the embedded server is not started: call start() first")
        return self._process.pid

    @property
    def uri(self) -> str:
        """The connection string; ``directConnection`` skips the replica-set discovery."""
        return f"mongodb://{EMBEDDED_HOST}:{self.port}/?retryWrites=false&directConnection=true"

    @property
    def output(self) -> str:
        """The last lines the server printed (for diagnostics)."""
        return "".join(self._output)

    def start(self) -> EmbeddedServer:
        """Start the server and wait until it listens; return ``self``."""
        if self._process is not None:
            return self
        command = _server_command()
        if self.storage_path is None:
            self._temporary_dir = tempfile.mkdtemp(prefix="odm-embedded-")
            storage = Path(self._temporary_dir)
        else:
            storage = self.storage_path
            storage.mkdir(parents=True, exist_ok=True)
        command += [
            "--host",
            EMBEDDED_HOST,
            "--port",
            "0",
            "--storage-path",
            str(storage),
            "--log-level",
            self.log_level,
            "--cache-size",
            self.cache_size,
            *self.extra_args,
        ]
        ready = threading.Event()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            cwd=storage,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        _running_servers.add(self)
        self._reader = threading.Thread(
            target=self._read_output,
            args=(self._process, ready),
            name=f"odm-embedded-{self._process.pid}",
            daemon=True,
        )
        self._reader.start()
        if not ready.wait(self.startup_timeout) or self._port is None:
            exit_code: int | None = None
            if ready.is_set():
                # the output ended without the line: the process is exiting
                with suppress(subprocess.TimeoutExpired):
                    exit_code = self._process.wait(timeout=5)
            self.stop()
            if exit_code is not None:
                state = f"exited with code {exit_code}"
            elif ready.is_set():
                state = "closed its output without listening"
            else:
                state = f"did not listen within {self.startup_timeout:g} s"
            raise ODMError(
                f"the embedded SecantusDB server {state} (command: {' '.join(command)}); "
                f"its output:\n{self.output or '(none)'}"
            )
        return self

    def _read_output(self, process: subprocess.Popen[str], ready: threading.Event) -> None:
        # Keeps draining after startup so the server never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            self._output.append(line)
            if self._port is None:
                match = _LISTENING.search(line)
                if match is not None:
                    self._port = int(match.group("port"))
                    ready.set()
        ready.set()

    def stop(self) -> None:
        """Stop the server (SIGTERM to its pid, SIGKILL after 15 s) and remove temp storage."""
        process, self._process = self._process, None
        _running_servers.discard(self)
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if self._reader is not None:
                self._reader.join(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        self._reader = None
        self._port = None
        if self._temporary_dir is not None:
            shutil.rmtree(self._temporary_dir, ignore_errors=True)
            self._temporary_dir = None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def default_uri() -> str:
    """``ODM_URI``, else ``MONGODB_URI``, else ``embedded://``."""
    return os.environ.get("ODM_URI") or os.environ.get("MONGODB_URI") or "embedded://"


def connect(
    uri: str | None = None, *, driver: str = "pymongo", **client_options: Any
) -> AbstractAsyncContextManager[Any]:
    """Open a client and yield the driver database named in the URI (default ``odm``).

    - ``mongodb://`` / ``mongodb+srv://``: ``pymongo.AsyncMongoClient`` (``driver="motor"``:
      motor's ``AsyncIOMotorClient``).
    - ``mongomock://`` or ``mongomock:///name``: an in-memory mongomock-motor database.
    - ``embedded://`` or ``embedded:///path/to/dir``: starts a local SecantusDB server
      (temporary storage unless a directory is given; ``?database=name`` picks the
      database) and stops it on exit.

    Without ``uri``: ``ODM_URI``, then ``MONGODB_URI``, then ``embedded://``. Clients use
    ``uuidRepresentation="standard"`` and ``tz_aware=True``; ``client_options`` override.
    Everything opened is closed on exit::

        async with odm.connect("embedded://") as db:
            customers = Repository(Customer, db)
    """
    return _connect(uri if uri is not None else default_uri(), driver, client_options)


@asynccontextmanager
async def _connect(uri: str, driver: str, client_options: dict[str, Any]) -> AsyncIterator[Any]:
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    options = dict(client_options)
    if scheme in ("mongodb", "mongodb+srv"):
        client = open_client(uri, driver=driver, **options)
        try:
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
        # embedded:///abs/dir is absolute; embedded://rel/dir is relative to the working dir
        storage = unquote(parts.netloc + parts.path) or None
        name = parse_qs(parts.query).get("database", [DEFAULT_DATABASE])[0]
        server = EmbeddedServer(storage)
        await asyncio.to_thread(server.start)
        try:
            client = open_client(server.uri, driver=driver, **{"retryWrites": False, **options})
            try:
                yield client[name]
            finally:
                await close_client(client)
        finally:
            await asyncio.to_thread(server.stop)
    else:
        raise ODMError(
            f"cannot connect to {uri!r}: the URI must start with mongodb://, mongodb+srv://, "
            "mongomock:// or embedded://"
        )
