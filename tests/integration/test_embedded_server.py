"""The embedded server as real programs see it: it ends with the program that started it
(however that program ends), one server per data directory, clear errors for bad paths.

Each test starts real child programs (``sys.executable`` with this worktree's odm first on
``sys.path``) and looks at real processes and directories."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from odm.connection import connect
from odm.drivers import adapt
from odm.embedded import EmbeddedServer
from odm.errors import ODMError

from .processes import pid_is_alive

ROOT = Path(__file__).resolve().parents[2]

# A program that opens an embedded server, says which processes and directory it has,
# and waits to be killed (or for a line on stdin, then exits normally).
OWNER = textwrap.dedent(
    """
    import asyncio, json, sys
    import odm

    async def main(uri):
        async with odm.connect(uri) as db:
            status = await db.command("serverStatus")
            print(json.dumps({"server_pid": int(status["pid"])}), flush=True)
            await asyncio.to_thread(sys.stdin.readline)

    asyncio.run(main(sys.argv[1]))
    """
)


def wait_until(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def child_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ODM_URI", "MONGODB_URI")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["TMPDIR"] = str(tmp_path)  # the temporary data directory goes where we can see it
    return env


@contextlib.contextmanager
def owner_program(uri: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A running child program holding an embedded server; yields it and its server's pid."""
    program = subprocess.Popen(
        [sys.executable, "-c", OWNER, uri],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(tmp_path),
        cwd=tmp_path,
    )
    try:
        assert program.stdout is not None
        line = program.stdout.readline()
        if not line:
            raise AssertionError(f"the owner program failed: {program.communicate()[1]}")
        yield program, int(json.loads(line)["server_pid"])
    finally:
        if program.poll() is None:
            program.kill()
        program.wait(timeout=30)


def temporary_dirs(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("odm-embedded-*"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_server_and_its_temporary_directory_end_with_a_killed_owner(
    signum: signal.Signals, tmp_path: Path
) -> None:
    with owner_program("embedded://?temporary=true", tmp_path) as (program, server):
        assert pid_is_alive(server)
        [storage] = temporary_dirs(tmp_path)
        assert any(storage.iterdir())  # the server's files
        program.send_signal(signum)
        assert program.wait(timeout=10) == -signum  # killed: no atexit, no finally ran
        assert wait_until(lambda: not pid_is_alive(server)), "the server outlived its owner"
        assert wait_until(lambda: not storage.exists()), "its temporary directory stayed"


def test_a_killed_owner_releases_its_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with owner_program(f"embedded://{data}", tmp_path) as (program, server):
        program.send_signal(signal.SIGKILL)
        program.wait(timeout=10)
        assert wait_until(lambda: not pid_is_alive(server))
    assert data.is_dir()  # a data directory is kept, and opens again once its server stopped
    with EmbeddedServer(data) as again:
        assert again.running


def test_a_normal_exit_stops_the_server(tmp_path: Path) -> None:
    with owner_program("embedded://?temporary=true", tmp_path) as (program, server):
        [storage] = temporary_dirs(tmp_path)
        _, errors = program.communicate("\n", timeout=60)
        assert program.returncode == 0, errors
        assert not pid_is_alive(server) and not storage.exists()


async def test_a_second_program_on_the_same_directory_is_told_who_holds_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with owner_program(f"embedded://{data}", tmp_path) as (program, server):
        with pytest.raises(ODMError) as caught:
            async with connect(f"embedded://{data}"):
                pass
        message = str(caught.value)
        assert message.startswith(
            f"the embedded data directory {data} is in use by process {program.pid} "
            f"(its server, pid {server}, listens on 127.0.0.1:"
        )
        # the message says how to reach that server instead: it works
        uri = message.split("ODM_URI='")[1].split("'")[0]
        async with connect(uri) as db:
            assert int((await db.command("serverStatus"))["pid"]) == server
        program.communicate("\n", timeout=60)
    async with connect(f"embedded://{data}") as db:  # free again once the first one ended
        assert await adapt(db).collection("people").count({}) == 0


async def test_two_connects_in_one_program_share_the_server(tmp_path: Path) -> None:
    uri = f"embedded://{tmp_path / 'data'}"
    async with connect(uri) as first:
        async with connect(uri) as second:
            assert (await first.command("serverStatus"))["pid"] == (
                await second.command("serverStatus")
            )["pid"]
            await adapt(second).collection("people").insert_one({"_id": 1})
        # the first is still connected after the second left
        assert await adapt(first).collection("people").count({}) == 1
        server = int((await first.command("serverStatus"))["pid"])
    assert not pid_is_alive(server)


# -- bad data directories -----------------------------------------------------------------


async def test_a_file_where_the_directory_should_be_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_text("not a directory")
    with pytest.raises(ODMError, match=f"the embedded data directory {path} is a file, not a"):
        async with connect(f"embedded://{path}"):
            pass
    assert path.read_text() == "not a directory"


async def test_a_directory_below_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "data"
    with pytest.raises(ODMError, match="a part of that path is a file"):
        async with connect(f"embedded://{path}"):
            pass


async def test_a_directory_that_cannot_be_created_is_a_clear_error() -> None:
    with pytest.raises(ODMError, match="cannot create the embedded data directory /sys/odm-"):
        async with connect("embedded:///sys/odm-data"):  # sysfs refuses even root
            pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any directory")
async def test_an_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.mkdir(mode=0o500)
    with pytest.raises(ODMError, match="is not writable by this user"):
        async with connect(f"embedded://{path}"):
            pass
