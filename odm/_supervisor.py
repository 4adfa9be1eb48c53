"""Keeps an embedded server from outliving the program that started it.

Run by :class:`odm.embedded.EmbeddedServer` as a script (standard library only, so it
needs nothing from the program's ``sys.path``)::

    python _supervisor.py [--remove DIR] [--keep-fd N] [--grace SECONDS] -- COMMAND...

It starts ``COMMAND`` (the server) as its child, relays the server's output to its own
standard output (first a line ``odm-supervisor: server pid N``) and watches its standard
input, a pipe whose other end only the owning program holds. End of file on that pipe
means the owner closed it (``EmbeddedServer.stop()``) or died, whatever killed it
(SIGTERM, SIGKILL, a crash): the supervisor then stops the server (SIGTERM, SIGKILL after
``--grace`` seconds), removes ``--remove DIR`` (a temporary data directory) and exits.
SIGTERM to the supervisor does the same. On Linux the server also gets SIGTERM if the
supervisor itself dies (a parent-death signal). ``--keep-fd`` passes an open file (the
data directory's lock) on to the server, so the lock lasts as long as the server does.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

_PR_SET_PDEATHSIG = 1
_stop_requested = False


def _request_stop(signum: int, frame: object) -> None:
    global _stop_requested
    _stop_requested = True


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """In the server, before exec: SIGTERM when the supervisor dies (Linux only)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class _Relay:
    """Copies bytes to standard output until the reader (the owner) is gone."""

    def __init__(self) -> None:
        self.open = True

    def write(self, data: bytes) -> None:
        while self.open and data:
            try:
                written = os.write(1, data)
            except OSError:  # EPIPE: the owner is gone; keep draining the server
                self.open = False
                return
            data = data[written:]


def _parse(argv: Sequence[str]) -> tuple[str | None, list[int], float, list[str]]:
    remove: str | None = None
    keep: list[int] = []
    grace = 15.0
    args = list(argv)
    while args and args[0] != "--":
        option, value = args.pop(0), args.pop(0)
        if option == "--remove":
            remove = value
        elif option == "--keep-fd":
            keep.append(int(value))
        elif option == "--grace":
            grace = float(value)
        else:
            raise SystemExit(f"odm-supervisor: unknown option {option}")
    if not args[1:]:
        raise SystemExit("odm-supervisor: no server command after --")
    return remove, keep, grace, args[1:]


def main(argv: Sequence[str]) -> int:
    remove, keep, grace, command = _parse(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the owner decides; its end of the pipe tells
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    relay = _Relay()
    try:
        server = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=keep,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    except OSError as error:
        relay.write(f"odm-supervisor: cannot start the server: {error}\n".encode())
        if remove:
            shutil.rmtree(remove, ignore_errors=True)
        return 127
    relay.write(f"odm-supervisor: server pid {server.pid}\n".encode())
    assert server.stdout is not None
    output = server.stdout.fileno()
    watched = [0, output]
    stopping_since: float | None = None
    exited_at: float | None = None
    while True:
        if _stop_requested and 0 in watched:
            watched.remove(0)
        if 0 not in watched and stopping_since is None:
            stopping_since = time.monotonic()
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
        readable, _, _ = select.select(watched, [], [], 0.2)
        for fd in readable:
            data = os.read(fd, 65536)
            if not data:
                watched.remove(fd)
            elif fd == output:
                relay.write(data)
        now = time.monotonic()
        if server.poll() is not None:
            exited_at = exited_at or now
            # the output ends with the server, unless something it started holds it open
            if output not in watched or now - exited_at > 1.0:
                break
        elif stopping_since is not None and now - stopping_since > grace:
            server.kill()
    server.stdout.close()
    if remove:
        shutil.rmtree(remove, ignore_errors=True)
    if stopping_since is not None:
        return 0
    code = server.returncode
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
