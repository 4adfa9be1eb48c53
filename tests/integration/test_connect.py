"""connect() and the embedded server, as a user sees them."""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from odm.connection import connect, default_uri
from odm.drivers import adapt
from odm.embedded import EmbeddedServer
from odm.errors import ODMError


def pid_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
    async with connect("embedded://") as db:
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
    async with connect("embedded://", driver="motor") as db:
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
        storage = server._temporary_dir
        assert storage is not None and Path(storage).is_dir()
    assert not server.running
    assert not pid_is_alive(pid)
    assert not Path(storage).exists()
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


async def test_without_any_uri_the_embedded_server_is_used(no_uri_env: pytest.MonkeyPatch) -> None:
    assert default_uri() == "embedded://"
    async with connect() as db:
        assert adapt(db).kind == "pymongo"
        pid = await server_pid(db)
    assert not pid_is_alive(pid)


# -- errors -------------------------------------------------------------------------------


async def test_missing_motor_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, odm_embedded_server: EmbeddedServer
) -> None:
    monkeypatch.setitem(sys.modules, "motor", None)
    monkeypatch.setitem(sys.modules, "motor.motor_asyncio", None)
    with pytest.raises(ODMError, match=r"pip install 'odm\[motor\]'"):
        async with connect(odm_embedded_server.uri, driver="motor"):
            pass


async def test_missing_mongomock_motor_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mongomock_motor", None)
    with pytest.raises(ODMError, match=r"pip install 'odm\[mock\]'"):
        async with connect("mongomock://"):
            pass


async def test_missing_secantus_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "secantus", None)
    with pytest.raises(ODMError, match=r"pip install 'odm\[embedded\]'"):
        async with connect("embedded://"):
            pass


async def test_unknown_scheme_lists_the_accepted_ones() -> None:
    with pytest.raises(ODMError, match="mongodb://, mongodb\\+srv://, mongomock:// or embedded://"):
        async with connect("postgres://localhost/db"):
            pass


async def test_unknown_driver_names_the_accepted_ones() -> None:
    with pytest.raises(ODMError, match="driver='pymongo' or driver='motor'"):
        async with connect("mongodb://127.0.0.1:1/", driver="asyncmongo"):
            pass
