"""Faults in the middle of writes, injected with the server's ``failCommand`` failpoint.

A SecantusDB server of its own, started with ``--enable-test-commands`` (module scope,
127.0.0.1 only, stopped by pid at the end), with pymongo and motor clients. Each fault is
scoped to the client under test (``appName``), so the checking client is never hit.

Three kinds of fault:

- a command error (``errorCode``): the server refuses the command before running it;
- a network error (``closeConnection``): the connection drops before the command runs;
- a lost acknowledgement (``blockConnection`` longer than the client's socket timeout):
  the server runs the command after the client gave up on it.

Each must surface as a clear error, lose nothing acknowledged before it, write nothing
twice, and leave no partial transaction. With ``retryWrites=True`` the driver retries
retryable writes once, and the server's retryable-write record keeps a retried write from
applying twice; odm's own clients use ``retryWrites=false`` for the embedded server.

Mock (mongomock-motor) has no failpoints: these tests run on the server drivers only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import AutoReconnect, NetworkTimeout, OperationFailure, PyMongoError

from odm import Repository
from odm.drivers import close_client, open_client
from odm.embedded import EmbeddedServer

from .models import Blob, Job, Meter
from .tally import count, note

SECTION = "faults (failCommand on the embedded server)"
TARGET_APP = "odm-fault-target"
WRITE_CONFLICT = 112  # a command error no retryable write retries
BLOB = "x" * 1_000_000
BIG_BATCH = 52  # ~52 MB: more than one 48 MB message, so two insert commands
SOCKET_TIMEOUT_MS = 300
BLOCK_MS = 900


@pytest.fixture(scope="module")
def fault_server() -> Iterator[EmbeddedServer]:
    """A server that accepts configureFailPoint; stopped (SIGTERM to its pid) at the end."""
    server = EmbeddedServer(extra_args=["--enable-test-commands"]).start()
    try:
        yield server
    finally:
        server.stop()


class Commands(monitoring.CommandListener):
    """The commands the client under test sent, and those that failed."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.failures[event.command_name] += 1


@dataclass
class Lab:
    server: EmbeddedServer
    driver: str
    admin: AsyncMongoClient[Any]
    name: str
    commands: Commands = field(default_factory=Commands)
    clients: list[Any] = field(default_factory=list)

    def database(self, *, retry_writes: bool, socket_timeout_ms: int | None = None) -> Any:
        """A database of a new client under test (the faults' target)."""
        options: dict[str, Any] = {
            "appName": TARGET_APP,
            "retryWrites": retry_writes,
            "event_listeners": [self.commands],
        }
        if socket_timeout_ms is not None:
            options["socketTimeoutMS"] = socket_timeout_ms
        client = open_client(self.server.uri, driver=self.driver, **options)
        self.clients.append(client)
        return client[self.name]

    @property
    def checked(self) -> Any:
        """The same database through the checking client, which no fault reaches."""
        return self.admin[self.name]

    async def fail(
        self,
        command: str,
        *,
        skip: int = 0,
        error_code: int | None = None,
        close: bool = False,
        block_ms: int = 0,
    ) -> None:
        """Arm one fault on the next ``command`` of the client under test (after ``skip``)."""
        data: dict[str, Any] = {"failCommands": [command], "appName": TARGET_APP}
        if error_code is not None:
            data["errorCode"] = error_code
        if close:
            data["closeConnection"] = True
        if block_ms:
            data.update(blockConnection=True, blockTimeMS=block_ms)
        mode: dict[str, int] = {"times": 1, **({"skip": skip} if skip else {})}
        await self.admin.admin.command(
            {"configureFailPoint": "failCommand", "mode": mode, "data": data}
        )

    def injected(self, command: str, expected: int = 1) -> None:
        """Check that the armed fault fired, and count it."""
        assert self.commands.failures[command] == expected, dict(self.commands.failures)
        count(SECTION, "faults injected", expected)
        self.commands.failures.clear()


@pytest_asyncio.fixture(params=["pymongo", "motor"])
async def lab(request: pytest.FixtureRequest, fault_server: EmbeddedServer) -> AsyncIterator[Lab]:
    admin: AsyncMongoClient[Any] = open_client(fault_server.uri)
    name = f"odm_faults_{uuid.uuid4().hex[:16]}"
    lab = Lab(fault_server, request.param, admin, name)
    try:
        yield lab
    finally:
        await admin.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        for client in lab.clients:
            await close_client(client)
        await admin.drop_database(name)
        await close_client(admin)


async def settled(check: Callable[[], Awaitable[bool]], *, timeout: float = 5.0) -> None:
    """Wait until the server ran a command the client gave up on (a lost acknowledgement),
    then a little longer, so that a second application would show."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "the blocked command never ran"
        await asyncio.sleep(0.05)
    await asyncio.sleep(BLOCK_MS / 1000)


async def stored_seqs(lab: Lab) -> list[int]:
    return [doc["seq"] async for doc in lab.checked["h_blobs"].find({}, sort=[("seq", 1)])]


def big_batch(start: int = 0) -> list[dict[str, Any]]:
    return [{"seq": start + i, "blob": BLOB} for i in range(BIG_BATCH)]


# --- create and create_all ----------------------------------------------------------------


async def test_network_error_on_create_is_clear_and_writes_nothing(lab: Lab) -> None:
    blobs = Repository(Blob, lab.database(retry_writes=False))
    await blobs.create({"seq": 0})
    await lab.fail("insert", close=True)

    with pytest.raises(AutoReconnect):
        await blobs.create({"seq": 1})
    lab.injected("insert")

    assert await stored_seqs(lab) == [0]  # acknowledged before: kept; refused: absent
    await blobs.create({"seq": 1})  # the caller's retry stores it once
    assert await stored_seqs(lab) == [0, 1]


async def test_retryable_writes_recover_a_network_error_on_create(lab: Lab) -> None:
    blobs = Repository(Blob, lab.database(retry_writes=True))
    await lab.fail("insert", close=True)

    created = await blobs.create({"seq": 7})
    lab.injected("insert")

    assert lab.commands.sent["insert"] == 2  # the driver sent it again
    assert await stored_seqs(lab) == [7]
    assert (await blobs.find_by_id(created.id)).seq == 7
    note(SECTION, "retryWrites=true recovers: create after a dropped connection")


async def test_command_error_in_the_middle_of_create_all_keeps_the_acknowledged_prefix(
    lab: Lab,
) -> None:
    blobs = Repository(Blob, lab.database(retry_writes=False))
    await blobs.create({"seq": -1})
    await lab.fail("insert", skip=1, error_code=WRITE_CONFLICT)  # the batch's 2nd command

    with pytest.raises(OperationFailure) as caught:
        await blobs.create_all(big_batch())
    lab.injected("insert")
    assert caught.value.code == WRITE_CONFLICT

    first_command = lab.commands.sent["insert"] - 2  # after create: the 2 of the batch
    assert first_command == 1
    stored = await stored_seqs(lab)
    # the earlier create and the first insert command's documents, each once, no gap
    assert stored[0] == -1 and stored[1:] == list(range(len(stored) - 1))
    kept = len(stored) - 1
    assert 0 < kept < BIG_BATCH
    note(
        SECTION,
        f"create_all of {BIG_BATCH} x 1 MB failed in its 2nd insert command: the first "
        f"{kept} documents stay stored; the error is the driver's OperationFailure, "
        "with no item index (only duplicate keys carry one)",
    )
    # the caller stores the rest: every document once
    await blobs.create_all([{"seq": seq, "blob": BLOB} for seq in range(kept, BIG_BATCH)])
    assert await stored_seqs(lab) == [-1, *range(BIG_BATCH)]


async def test_retryable_writes_recover_a_network_error_in_the_middle_of_create_all(
    lab: Lab,
) -> None:
    blobs = Repository(Blob, lab.database(retry_writes=True))
    await lab.fail("insert", skip=1, close=True)

    created = await blobs.create_all(big_batch())
    lab.injected("insert")

    assert lab.commands.sent["insert"] == 3  # two commands, the second sent twice
    assert await stored_seqs(lab) == list(range(BIG_BATCH))  # all, each once
    assert len({entity.id for entity in created}) == BIG_BATCH
    note(
        SECTION,
        "retryWrites=true recovers: create_all whose 2nd insert command lost its connection",
    )


async def test_lost_acknowledgement_of_a_create(lab: Lab) -> None:
    for retry_writes in (False, True):
        database = lab.database(retry_writes=retry_writes, socket_timeout_ms=SOCKET_TIMEOUT_MS)
        blobs = Repository(Blob, database)
        seq = int(retry_writes)
        await blobs.count()  # connected before the fault
        await lab.fail("insert", block_ms=BLOCK_MS)
        if retry_writes:
            await blobs.create({"seq": seq})
        else:
            with pytest.raises(NetworkTimeout):
                await blobs.create({"seq": seq})
        lab.injected("insert")

        async def arrived(seq: int = seq) -> bool:
            return await lab.checked["h_blobs"].count_documents({"seq": seq}) > 0

        await settled(arrived)
        # stored exactly once either way: the error meant "outcome unknown", not "not written"
        assert await lab.checked["h_blobs"].count_documents({"seq": seq}) == 1
    note(
        SECTION,
        "a lost acknowledgement (server ran the insert after the client timed out): without "
        "retryWrites the caller gets NetworkTimeout although the document is stored; with "
        "retryWrites the retry is answered from the server's record, stored once",
    )


# --- update_all, update_by_id ---------------------------------------------------------------


async def test_faults_on_update_all_apply_it_never_partly_never_twice(lab: Lab) -> None:
    rows = Repository(Meter, lab.database(retry_writes=True), allow_extended_operators=True)
    await rows.create_all([{"name": f"c{i}"} for i in range(10)])

    async def totals() -> list[int]:
        return [doc["n"] async for doc in lab.checked["h_counters"].find({}, sort=[("name", 1)])]

    await lab.fail("update", error_code=WRITE_CONFLICT)
    with pytest.raises(OperationFailure):
        await rows.update_all({"$inc": {"n": 1}})
    lab.injected("update")
    assert await totals() == [0] * 10

    await lab.fail("update", close=True)
    with pytest.raises(AutoReconnect):  # multi-document updates are not retryable writes
        await rows.update_all({"$inc": {"n": 1}})
    lab.injected("update")
    assert await totals() == [0] * 10

    assert await rows.update_all({"$inc": {"n": 1}}) == 10
    assert await totals() == [1] * 10
    note(
        SECTION,
        "not retried even with retryWrites=true: update_all (a multi-document update is "
        "not a retryable write); the error surfaces and nothing was applied",
    )


async def test_lost_acknowledgement_of_update_all_applies_it_once(lab: Lab) -> None:
    database = lab.database(retry_writes=True, socket_timeout_ms=SOCKET_TIMEOUT_MS)
    rows = Repository(Meter, database, allow_extended_operators=True)
    await rows.create_all([{"name": f"c{i}"} for i in range(5)])
    await lab.fail("update", block_ms=BLOCK_MS)

    with pytest.raises(NetworkTimeout):
        await rows.update_all({"$inc": {"n": 1}})
    lab.injected("update")

    async def applied() -> bool:
        return await lab.checked["h_counters"].count_documents({"n": 1}) == 5

    await settled(applied)
    assert await lab.checked["h_counters"].count_documents({"n": {"$ne": 1}}) == 0


async def test_lost_acknowledgement_of_an_increment(lab: Lab) -> None:
    admin_rows = Repository(Meter, lab.checked)
    counter = await admin_rows.create({"name": "hits"})
    for retry_writes, expected in ((False, 1), (True, 2)):
        database = lab.database(retry_writes=retry_writes, socket_timeout_ms=SOCKET_TIMEOUT_MS)
        rows = Repository(Meter, database, allow_extended_operators=True)
        await rows.count()
        await lab.fail("update", block_ms=BLOCK_MS)
        if retry_writes:
            await rows.update_by_id(counter.id, {"$inc": {"n": 1}})
        else:
            with pytest.raises(NetworkTimeout):
                await rows.update_by_id(counter.id, {"$inc": {"n": 1}})
        lab.injected("update")

        async def applied(expected: int = expected) -> bool:
            return (await admin_rows.find_by_id(counter.id)).n >= expected

        await settled(applied)
        assert (await admin_rows.find_by_id(counter.id)).n == expected  # +1, never +2
    note(
        SECTION,
        "retryWrites=true recovers: update_by_id {$inc} whose acknowledgement was lost, "
        "applied once (the server answers the retry from its retryable-write record)",
    )


# --- find_one_and_update (job claims) ------------------------------------------------------


async def test_faults_on_a_job_claim_never_claim_twice(lab: Lab) -> None:
    plain = Repository(Job, lab.database(retry_writes=False), allow_extended_operators=True)
    retrying = Repository(Job, lab.database(retry_writes=True), allow_extended_operators=True)
    await plain.create_all([{"name": "j1"}, {"name": "j2"}])
    claim = {"status": "running", "$inc": {"attempts": 1}}

    async def jobs() -> dict[str, tuple[str, int]]:
        found = lab.checked["h_jobs"].find({})
        return {doc["name"]: (doc["status"], doc["attempts"]) async for doc in found}

    await lab.fail("findAndModify", error_code=WRITE_CONFLICT)
    with pytest.raises(OperationFailure):
        await plain.find_one_and_update({"status": "queued"}, claim, order="name ASC")
    lab.injected("findAndModify")
    await lab.fail("findAndModify", close=True)
    with pytest.raises(AutoReconnect):
        await plain.find_one_and_update({"status": "queued"}, claim, order="name ASC")
    lab.injected("findAndModify")
    assert await jobs() == {"j1": ("queued", 0), "j2": ("queued", 0)}  # nothing claimed

    await lab.fail("findAndModify", close=True)
    claimed = await retrying.find_one_and_update({"status": "queued"}, claim, order="name ASC")
    lab.injected("findAndModify")
    assert claimed is not None and (claimed.name, claimed.attempts) == ("j1", 1)
    assert await jobs() == {"j1": ("running", 1), "j2": ("queued", 0)}
    note(SECTION, "retryWrites=true recovers: find_one_and_update after a dropped connection")


async def test_lost_acknowledgement_of_a_job_claim_with_retryable_writes(lab: Lab) -> None:
    database = lab.database(retry_writes=True, socket_timeout_ms=SOCKET_TIMEOUT_MS)
    jobs = Repository(Job, database, allow_extended_operators=True)
    await jobs.create_all([{"name": "j1"}, {"name": "j2"}])
    await lab.fail("findAndModify", block_ms=BLOCK_MS)

    claimed = await jobs.find_one_and_update(
        {"status": "queued"}, {"status": "running", "$inc": {"attempts": 1}}, order="name ASC"
    )
    lab.injected("findAndModify")

    async def ran() -> bool:
        return await lab.checked["h_jobs"].count_documents({"status": "running"}) > 0

    await settled(ran)
    assert claimed is not None and (claimed.name, claimed.attempts) == ("j1", 1)
    docs = {doc["name"]: doc async for doc in lab.checked["h_jobs"].find({})}
    assert (docs["j1"]["status"], docs["j1"]["attempts"]) == ("running", 1)
    assert docs["j2"]["status"] == "queued"  # the retry did not claim a second job


# --- transactions ---------------------------------------------------------------------------


async def test_a_failed_statement_leaves_no_partial_transaction(lab: Lab) -> None:
    database = lab.database(retry_writes=False)
    rows = Repository(Meter, database, allow_extended_operators=True)
    before = await rows.create({"name": "before", "n": 5})
    for fault in ({"error_code": WRITE_CONFLICT}, {"close": True}):
        await lab.fail("insert", skip=1, **fault)
        with pytest.raises(PyMongoError):
            async with rows.transaction() as session:
                await rows.create({"name": "in-1"}, session=session)
                await rows.update_all({"$inc": {"n": 10}}, session=session)
                await rows.create({"name": "in-2"}, session=session)  # the fault
        lab.injected("insert")
        docs = [doc async for doc in lab.checked["h_counters"].find({})]
        assert [(d["name"], d["n"]) for d in docs] == [("before", 5)]
    assert (await rows.find_by_id(before.id)).n == 5


async def test_a_failed_commit_leaves_no_partial_transaction(lab: Lab) -> None:
    rows = Repository(Meter, lab.database(retry_writes=False))
    await rows.create({"name": "before"})
    await lab.fail("commitTransaction", error_code=WRITE_CONFLICT)

    with pytest.raises(OperationFailure):
        async with rows.transaction() as session:
            await rows.create({"name": "in-1"}, session=session)
            await rows.update_all({"n": 3}, session=session)
    lab.injected("commitTransaction")

    docs = [(d["name"], d["n"]) async for d in lab.checked["h_counters"].find({})]
    assert docs == [("before", 0)]


async def test_a_commit_whose_connection_drops_is_retried_and_applied_once(lab: Lab) -> None:
    for retry_writes in (False, True):
        rows = Repository(
            Meter, lab.database(retry_writes=retry_writes), allow_extended_operators=True
        )
        await rows.delete_all()
        await rows.create({"name": "before"})
        await lab.fail("commitTransaction", close=True)

        async with rows.transaction() as session:
            await rows.create({"name": "in-1"}, session=session)
            await rows.update_all({"$inc": {"n": 1}}, session=session)
        lab.injected("commitTransaction")

        docs = sorted([(d["name"], d["n"]) async for d in lab.checked["h_counters"].find({})])
        assert docs == [("before", 1), ("in-1", 1)]
    note(
        SECTION,
        "the driver retries a commitTransaction whose connection dropped, with or without "
        "retryWrites: committed once",
    )
