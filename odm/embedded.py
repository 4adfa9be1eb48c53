"""The embedded SecantusDB server: a local MongoDB wire-protocol server run as a child
process, bound to 127.0.0.1, that never outlives the program that started it.

::

    with EmbeddedServer() as server:                  # a temporary directory, removed after
        client = pymongo.AsyncMongoClient(server.uri)
    with EmbeddedServer("/var/lib/shop/odm"):         # data kept between runs
        ...

The server runs under a small supervisor (``odm/_supervisor.py``) holding one end of a
pipe from this process: when this process ends, however it ends (a return, SIGTERM,
SIGKILL), the supervisor stops the server and removes its temporary directory. A data
directory is locked while a server uses it; a second server on it is refused with an
``ODMError`` naming the process that holds it and the address of its server.
"""

from __future__ import annotations

import atexit
import collections
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any

from odm._distribution import install_hint
from odm.errors import ODMError

__all__ = ["DATA_DIR_ENV", "EmbeddedServer", "default_data_dir"]

logger = logging.getLogger(__name__)

EMBEDDED_HOST = "127.0.0.1"
DATA_DIR_ENV = "ODM_DATA_DIR"
LOCK_FILE = "odm-embedded.lock"
_SERVER_SCRIPT = "secantusd-py"
_SERVER_MODULE = "secantus"
_SUPERVISOR = Path(__file__).with_name("_supervisor.py")
_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(?P<port>\d+)")
_SERVER_PID = re.compile(r"^odm-supervisor: server pid (?P<pid>\d+)$")
_STOP_GRACE = 15.0

_running_servers: weakref.WeakSet[EmbeddedServer] = weakref.WeakSet()


def _stop_running_servers() -> None:
    for server in list(_running_servers):
        server.stop()


# A normal exit stops a server its caller never stopped; the supervisor covers the rest.
atexit.register(_stop_running_servers)


def default_data_dir() -> Path:
    """``ODM_DATA_DIR``, else the per-user data directory (``~/.local/share/odm`` on Linux,
    ``~/Library/Application Support/odm`` on macOS), via ``platformdirs``."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    try:
        import platformdirs
    except ImportError as exc:
        raise ODMError(
            "the embedded server's default data directory needs platformdirs: "
            f"{install_hint('embedded')}, or set {DATA_DIR_ENV}"
        ) from exc
    return Path(platformdirs.user_data_dir("odm", appauthor=False)).resolve()


def _server_command() -> list[str]:
    """How to run SecantusDB with this interpreter's installation."""
    try:
        import secantus  # noqa: F401
    except ImportError as exc:
        raise ODMError(
            f"the embedded server needs SecantusDB, which is not installed: "
            f"{install_hint('embedded')}"
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
        f"cannot find the SecantusDB server ({_SERVER_SCRIPT}); reinstall it: "
        f"{install_hint('embedded')}"
    )


def _prepare_directory(path: Path) -> None:
    """Create the data directory if needed (readable by this user only); a clear ODMError
    when it cannot be used."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise ODMError(
            f"the embedded data directory {path} is a file, not a directory: "
            "give a directory path (or remove the file)"
        ) from None
    except NotADirectoryError:
        raise ODMError(
            f"cannot create the embedded data directory {path}: a part of that path is a file"
        ) from None
    except OSError as error:
        raise ODMError(
            f"cannot create the embedded data directory {path}: {error.strerror}"
        ) from None
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise ODMError(
            f"the embedded data directory {path} is not writable by this user: "
            "fix its permissions or choose another directory"
        )


def _lock_directory(path: Path) -> int:
    """Lock ``path`` for one server; an ODMError naming the holder when it is taken.

    The lock (``flock`` on ``odm-embedded.lock``) is released by the system when the
    last process holding it ends, so it never outlives the server and its owner.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: the server's own lock still refuses
        return -1
    lock_path = path / LOCK_FILE
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise ODMError(
            f"cannot lock the embedded data directory {path}: {error.strerror}"
        ) from None
    # The owner gone, the lock is held by its server still stopping (a program restarted
    # right after it was killed): wait for that server, as long as it may take to stop.
    deadline = time.monotonic() + _STOP_GRACE + 5
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = _read_holder(fd)
            if _is_running(holder.get("pid")) or time.monotonic() > deadline:
                os.close(fd)
                raise ODMError(_in_use_message(path, holder)) from None
            time.sleep(0.1)
    _write_holder(fd, {"pid": os.getpid()})
    return fd


def _is_running(pid: Any) -> bool:
    if not isinstance(pid, int):
        return True  # unknown: assume it runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _read_holder(fd: int) -> dict[str, Any]:
    with suppress(OSError, ValueError):
        data = json.loads(os.pread(fd, 4096, 0).decode())
        if isinstance(data, dict):
            return data
    return {}


def _write_holder(fd: int, holder: dict[str, Any]) -> None:
    data = json.dumps(holder).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _in_use_message(path: Path, holder: dict[str, Any]) -> str:
    who = f"process {holder['pid']}" if "pid" in holder else "another process"
    message = f"the embedded data directory {path} is in use by {who}"
    if "port" in holder:
        address = f"{EMBEDDED_HOST}:{holder['port']}"
        message += (
            f" (its server, pid {holder.get('server_pid', '?')}, listens on {address}): "
            f"connect to that server with ODM_URI='mongodb://{address}/?directConnection=true', "
        )
    else:
        message += ": "
    return message + f"stop that program, or choose another directory ({DATA_DIR_ENV})"


class EmbeddedServer:
    """A local SecantusDB server run as a child process, bound to 127.0.0.1 only.

    ``storage_path`` keeps the data between runs (the directory is created if needed and
    locked while the server runs); without it a temporary directory is used and removed
    when the server stops. ``extra_args`` are appended to the command line
    (``["--enable-test-commands"]`` for instance). The server stops with :meth:`stop`, at
    the end of a ``with`` block, at interpreter exit, and when this process is killed.
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
        self.storage_path = (
            Path(storage_path).expanduser().resolve() if storage_path is not None else None
        )
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.cache_size = cache_size
        self.log_level = log_level
        self._process: subprocess.Popen[str] | None = None  # the supervisor
        self._server_pid: int | None = None
        self._port: int | None = None
        self._storage: Path | None = None
        self._temporary = False
        self._lock_fd = -1
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
        """The server's process id."""
        if self._server_pid is None:
            raise ODMError("the embedded server is not started: call start() first")
        return self._server_pid

    @property
    def supervisor_pid(self) -> int:
        """The process id of the supervisor that stops the server when this process ends."""
        if self._process is None:
            raise ODMError("the embedded server is not started: call start() first")
        return self._process.pid

    @property
    def storage(self) -> Path:
        """The data directory in use (a temporary one unless ``storage_path`` was given)."""
        if self._storage is None:
            raise ODMError("the embedded server is not started: call start() first")
        return self._storage

    @property
    def temporary(self) -> bool:
        """Whether the data directory is temporary (removed when the server stops)."""
        return self.storage_path is None

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
            storage = Path(tempfile.mkdtemp(prefix="odm-embedded-"))
        else:
            storage = self.storage_path
            _prepare_directory(storage)
            self._lock_fd = _lock_directory(storage)
        self._storage = storage
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
        # a temporary server's data is thrown away: no need to wait for its shutdown
        grace = 0.0 if self.storage_path is None else _STOP_GRACE
        supervisor = [sys.executable, "-I", str(_SUPERVISOR), "--grace", str(grace)]
        if self.storage_path is None:
            supervisor += ["--remove", str(storage)]
        if self._lock_fd >= 0:
            supervisor += ["--keep-fd", str(self._lock_fd)]
        ready = threading.Event()
        try:
            self._process = subprocess.Popen(
                [*supervisor, "--", *command],
                stdin=subprocess.PIPE,  # the watchdog pipe: never written, closed to stop
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
                cwd=storage,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                pass_fds=(self._lock_fd,) if self._lock_fd >= 0 else (),
                start_new_session=True,  # a terminal's Ctrl-C reaches this program only
            )
        except OSError as error:
            self.stop()  # releases the lock, removes a temporary directory
            raise ODMError(f"cannot start the embedded server: {error}") from error
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
        if self._lock_fd >= 0:
            _write_holder(
                self._lock_fd,
                {"pid": os.getpid(), "server_pid": self._server_pid, "port": self._port},
            )
        logger.info(
            "embedded server started: pid %s, port %s, data in %s%s",
            self._server_pid,
            self._port,
            storage,
            " (temporary)" if self.temporary else "",
        )
        return self

    def _read_output(self, process: subprocess.Popen[str], ready: threading.Event) -> None:
        # Keeps draining after startup so the server never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            if self._server_pid is None:
                match = _SERVER_PID.match(line.rstrip("\n"))
                if match is not None:
                    self._server_pid = int(match.group("pid"))
                    continue
            self._output.append(line)
            if self._port is None:
                found = _LISTENING.search(line)
                if found is not None:
                    self._port = int(found.group("port"))
                    ready.set()
        ready.set()

    def stop(self) -> None:
        """Stop the server and remove temporary storage.

        Closing the watchdog pipe tells the supervisor to stop the server (SIGTERM, SIGKILL
        after 15 s); this waits until it has.
        """
        process, self._process = self._process, None
        _running_servers.discard(self)
        pid, port, storage = self._server_pid, self._port, self._storage
        if process is not None:
            if process.stdin is not None:
                with suppress(OSError):
                    process.stdin.close()
            try:
                process.wait(timeout=_STOP_GRACE + 10)
            except subprocess.TimeoutExpired:  # the supervisor is stuck: do its job
                process.kill()
                process.wait()
                if pid is not None:
                    with suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            if self._reader is not None:
                self._reader.join(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        if self.temporary and storage is not None:
            shutil.rmtree(storage, ignore_errors=True)  # the supervisor removed it already
        if process is not None and pid is not None:
            logger.info("embedded server stopped: pid %s, port %s, data in %s", pid, port, storage)
        self._reader = None
        self._port = None
        self._server_pid = None
        self._storage = None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
