"""connect() and the embedded server, as a user sees them."""

from __future__ import annotations

import datetime
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from odm import connection
from odm.connection import connect, default_uri
from odm.drivers import adapt
from odm.embedded import EmbeddedServer
from odm.errors import ODMError

from .processes import pid_is_alive

TEMPORARY = "embedded://?temporary=true"


async def server_pid(db: Any) -> int:
    status = await db.command("serverStatus")
    return int(status["pid"])


@pytest.fixture
def no_uri_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("ODM_URI", raising=False)
    monkeypatch.delenv("MONGODB_URI", raising=False)
    return monkeypatch


# -- mongomock:// -------------------------------------------------------------------------


async def test_mongomock_uri_gives_an_in_memory_database_named_odm() -> None:
    async with connect("mongomock://") as db:
        database = adapt(db)
        assert (database.kind, database.name) == ("mongomock", "odm")
        await database.collection("people").insert_one({"_id": 1, "name": "Ann"})
        assert await database.collection("people").find_one({}) == {"_id": 1, "name": "Ann"}


async def test_mongomock_uri_path_names_the_database() -> None:
    async with connect("mongomock:///shop") as db:
        assert db.name == "shop"


async def test_mongomock_reads_datetimes_back_timezone_aware() -> None:
    moment = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC)
    async with connect("mongomock://") as db:
        people = adapt(db).collection("people")
        await people.insert_one({"_id": 1, "at": moment})
        stored = await people.find_one({"_id": 1})
    assert stored is not None and stored["at"] == moment
    assert stored["at"].utcoffset() == datetime.timedelta(0)


# -- mongodb:// ---------------------------------------------------------------------------


async def test_mongodb_uri_uses_pymongo_and_the_database_in_the_path(
    odm_embedded_server: EmbeddedServer,
) -> None:
    uri = f"mongodb://127.0.0.1:{odm_embedded_server.port}/shop?directConnection=true"
    async with connect(uri) as db:
        assert adapt(db).kind == "pymongo"
        assert db.name == "shop"
        assert db.client.codec_options.tz_aware is True
        assert db.client.codec_options.uuid_representation == 4  # STANDARD
        await adapt(db).drop()


async def test_mongodb_uri_without_a_path_uses_the_odm_database(
    odm_embedded_server: EmbeddedServer,
) -> None:
    async with connect(odm_embedded_server.uri, driver="motor") as db:
        assert adapt(db).kind == "motor"
        assert db.name == "odm"
        assert db.client.codec_options.tz_aware is True


async def test_client_options_override_the_defaults(odm_embedded_server: EmbeddedServer) -> None:
    async with connect(odm_embedded_server.uri, tz_aware=False, appname="billing") as db:
        assert db.client.codec_options.tz_aware is False
        assert db.client.options.pool_options.metadata["application"] == {"name": "billing"}


# -- embedded:// --------------------------------------------------------------------------


async def test_embedded_uri_starts_a_server_and_stops_it_on_exit() -> None:
    async with connect(TEMPORARY) as db:
        database = adapt(db)
        assert (database.kind, database.name) == ("pymongo", "odm")
        host, _ = await db.client.address
        assert host == "127.0.0.1"
        pid = await server_pid(db)
        assert pid != os.getpid() and pid_is_alive(pid)
        people = database.collection("people")
        await people.insert_one({"_id": 1, "name": "Ann"})
        assert await people.count({}) == 1
        async with database.transaction() as session:
            await people.insert_one({"_id": 2, "name": "Bob"}, session=session)
        assert await people.count({}) == 2
    assert not pid_is_alive(pid)


async def test_embedded_uri_with_motor() -> None:
    async with connect(TEMPORARY, driver="motor") as db:
        assert adapt(db).kind == "motor"
        pid = await server_pid(db)
        await adapt(db).collection("people").insert_one({"_id": 1})
        assert await adapt(db).collection("people").count({}) == 1
    assert not pid_is_alive(pid)


async def test_embedded_uri_with_a_directory_keeps_the_data(tmp_path: Path) -> None:
    storage = tmp_path / "data"
    async with connect(f"embedded://{storage}?database=shop") as db:
        assert db.name == "shop"
        await adapt(db).collection("people").insert_one({"_id": 1, "name": "Ann"})
    assert storage.is_dir()
    async with connect(f"embedded://{storage}?database=shop") as db:
        assert await adapt(db).collection("people").find_one({}) == {"_id": 1, "name": "Ann"}


def test_embedded_server_binds_localhost_and_removes_its_temporary_storage() -> None:
    with EmbeddedServer() as server:
        assert server.running
        assert server.uri == (
            f"mongodb://127.0.0.1:{server.port}/?retryWrites=false&directConnection=true"
        )
        assert "listening on 127.0.0.1" in server.output
        pid = server.pid
        storage = server.storage
        assert server.temporary and storage.is_dir()
    assert not server.running
    assert not pid_is_alive(pid)
    assert not storage.exists()
    with pytest.raises(ODMError, match="not started"):
        _ = server.uri


def test_embedded_server_that_fails_to_start_shows_its_output() -> None:
    server = EmbeddedServer(extra_args=["--no-such-flag"])
    with pytest.raises(ODMError) as caught:
        server.start()
    message = str(caught.value)
    assert "exited with code 2" in message
    assert "unrecognized arguments: --no-such-flag" in message
    assert not server.running


# -- no URI: the environment --------------------------------------------------------------


async def test_odm_uri_comes_before_mongodb_uri(no_uri_env: pytest.MonkeyPatch) -> None:
    no_uri_env.setenv("ODM_URI", "mongomock:///from_odm_uri")
    no_uri_env.setenv("MONGODB_URI", "mongomock:///from_mongodb_uri")
    async with connect() as db:
        assert db.name == "from_odm_uri"


async def test_mongodb_uri_is_used_without_odm_uri(no_uri_env: pytest.MonkeyPatch) -> None:
    no_uri_env.setenv("MONGODB_URI", "mongomock:///from_mongodb_uri")
    async with connect() as db:
        assert db.name == "from_mongodb_uri"


async def test_without_any_uri_the_embedded_server_keeps_data_in_odm_data_dir(
    no_uri_env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert default_uri() == "embedded://"
    no_uri_env.setenv("ODM_DATA_DIR", str(tmp_path / "data"))
    no_uri_env.setattr(connection, "_announced", False)
    caplog.set_level(logging.INFO, logger="odm")
    async with connect() as db:
        assert adapt(db).kind == "pymongo"
        pid = await server_pid(db)
        await adapt(db).collection("people").insert_one({"_id": 1, "name": "Ann"})
    assert not pid_is_alive(pid)
    async with connect() as db:  # a second run finds the first run's data
        assert await adapt(db).collection("people").find_one({}) == {"_id": 1, "name": "Ann"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [  # once, however many connect() calls
        f"no ODM_URI or MONGODB_URI set: using an embedded server with data in {tmp_path / 'data'}"
    ]
    assert (tmp_path / "data" / "odm-embedded.lock").is_file()
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700  # created for this user only


async def test_embedded_uri_without_a_path_is_the_default_directory(
    no_uri_env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    no_uri_env.setenv("ODM_DATA_DIR", str(tmp_path))
    caplog.set_level(logging.INFO, logger="odm")
    async with connect("embedded://") as db:
        pid = await server_pid(db)
    started, stopped = (r.getMessage() for r in caplog.records if r.name == "odm.embedded")
    assert started.startswith(f"embedded server started: pid {pid}, port ")
    assert started.endswith(f", data in {tmp_path}")
    assert stopped.startswith(f"embedded server stopped: pid {pid}, port ")
    assert not any(r.levelno >= logging.WARNING for r in caplog.records)  # it was asked for


# -- errors -------------------------------------------------------------------------------


async def test_missing_motor_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, odm_embedded_server: EmbeddedServer
) -> None:
    monkeypatch.setitem(sys.modules, "motor", None)
    monkeypatch.setitem(sys.modules, "motor.motor_asyncio", None)
    with pytest.raises(ODMError, match=r"pip install 'loopback-odm\[motor\]'"):
        async with connect(odm_embedded_server.uri, driver="motor"):
            pass


async def test_missing_mongomock_motor_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mongomock_motor", None)
    with pytest.raises(ODMError, match=r"pip install 'loopback-odm\[mock\]'"):
        async with connect("mongomock://"):
            pass


async def test_missing_secantus_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "secantus", None)
    with pytest.raises(ODMError, match=r"pip install 'loopback-odm\[embedded\]'"):
        async with connect(TEMPORARY):
            pass


async def test_an_error_about_a_uri_shows_no_credentials() -> None:
    with pytest.raises(ODMError) as caught:
        async with connect("postgres://alice:s3cret@db.example.com/shop"):
            pass
    assert str(caught.value).startswith("cannot connect to 'postgres://***@db.example.com/shop'")
    assert "s3cret" not in str(caught.value) and "alice" not in str(caught.value)


async def test_unknown_scheme_lists_the_accepted_ones() -> None:
    with pytest.raises(ODMError, match="mongodb://, mongodb\\+srv://, mongomock:// or embedded://"):
        async with connect("postgres://localhost/db"):
            pass


async def test_unknown_driver_names_the_accepted_ones() -> None:
    with pytest.raises(ODMError, match="driver='pymongo' or driver='motor'"):
        async with connect("mongodb://127.0.0.1:1/", driver="asyncmongo"):
            pass


# -- an unreachable server ----------------------------------------------------------------


async def test_an_unreachable_server_fails_at_connect_within_five_seconds() -> None:
    started = time.monotonic()
    with pytest.raises(ODMError) as caught:
        async with connect("mongodb://alice:s3cret@127.0.0.1:1/shop"):
            pytest.fail("connect() yielded a database for a server that is not there")
    elapsed = time.monotonic() - started
    assert 4.5 <= elapsed < 6.5
    message = str(caught.value)
    assert message.startswith("cannot reach MongoDB at 127.0.0.1:1 within 5 s: check that the")
    assert "\n" not in message and "s3cret" not in message and "alice" not in message


@pytest.mark.parametrize(
    ("uri", "options"),
    [
        ("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300", {}),
        ("mongodb://127.0.0.1:1/", {"serverSelectionTimeoutMS": 300}),
    ],
    ids=["in-the-uri", "as-an-option"],
)
async def test_the_timeout_is_configurable(uri: str, options: dict[str, Any]) -> None:
    started = time.monotonic()
    with pytest.raises(ODMError, match=r"within 0\.3 s"):
        async with connect(uri, **options):
            pass
    assert time.monotonic() - started < 2.5


UNREACHABLE_FAST = "mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=500"


def test_migrate_on_an_unreachable_server_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "shop_models.py").write_text(
        "from odm import Entity, model\n\n\n@model()\nclass Customer(Entity):\n    name: str\n"
    )
    root = Path(__file__).resolve().parents[2]
    started = time.monotonic()
    result = subprocess.run(
        # the 5 s default is shown by the test above; here the CLI's one line, sooner
        [sys.executable, "-m", "odm", "migrate", "shop_models", "--uri", UNREACHABLE_FAST],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(tmp_path)])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - started < 5  # 0.5 s and the interpreter's start
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "odm migrate: error: cannot reach MongoDB at 127.0.0.1:1 within 0.5 s: check that the "
        "server is running and that the host, port and network allow the connection "
        "(serverSelectionTimeoutMS in the URI or as a connect() option waits longer)"
    ]


# -- embedded:// options ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("embedded:///tmp/x?temporary=true", "names a directory and temporary=true: choose one"),
        ("embedded://?temporary=maybe", "temporary='maybe' in 'embedded://?temporary=maybe'"),
        ("embedded://?tempoary=true", "unknown option 'tempoary'"),
    ],
)
async def test_embedded_uri_mistakes_are_clear_errors(uri: str, message: str) -> None:
    with pytest.raises(ODMError, match=re.escape(message)):
        async with connect(uri):
            pass
