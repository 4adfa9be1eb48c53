"""A commit that fails leaves no transaction open on the server, whatever its outcome:
refused, or unknown after the driver's retry (two retryable failures). A transaction
left open would hold its documents' write locks until the server's transaction lifetime,
and every later write on them would block.

The faults come from the server's ``failCommand`` failpoint on an embedded server of this
module's own (127.0.0.1, started with ``--enable-test-commands``, stopped by pid).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo.errors import OperationFailure, PyMongoError

import odm
from odm import Entity, Repository
from odm.drivers import close_client, open_client
from odm.embedded import EmbeddedServer
from odm.testing import backend_label

NO_FAILPOINTS = "mongomock-motor has no transactions and no failpoints"
# a later write waits at most this long: a lingering transaction would hold it far longer
UNBLOCKED_WITHIN_S = 5


class Counter(Entity):
    n: int = 0


@pytest.fixture(scope="module")
def failpoint_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(extra_args=["--enable-test-commands"]) as server:
        yield server


@pytest_asyncio.fixture
async def counters(
    odm_backend: str, failpoint_server: EmbeddedServer
) -> AsyncIterator[Repository[Counter]]:
    driver = "motor" if backend_label(odm_backend) == "motor" else "pymongo"
    client = open_client(failpoint_server.uri, driver=driver)
    admin = open_client(failpoint_server.uri)
    database = f"odm_commit_failure_{driver}"
    try:
        yield Repository(Counter, client[database], allow_extended_operators=True)
    finally:
        await admin.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        await admin.drop_database(database)
        await close_client(admin)
        await close_client(client)


async def fail_commits(counters: Repository[Counter], times: int, **data: Any) -> None:
    command = {
        "configureFailPoint": "failCommand",
        "mode": {"times": times},
        "data": {"failCommands": ["commitTransaction"], **data},
    }
    await counters.collection.database.client.admin.command(command)


async def later_writes_do_not_block(counters: Repository[Counter], counter: Counter) -> None:
    # A transaction left open would hold the document's write lock: this write would block.
    await asyncio.wait_for(
        counters.update_by_id(counter.id, {"$inc": {"n": 10}}), UNBLOCKED_WITHIN_S
    )
    assert (await counters.find_by_id(counter.id)).n == 10  # the failed +1 is gone
    # the client's sessions still work: a new transaction commits
    async with counters.transaction() as session:
        await counters.update_by_id(counter.id, {"$inc": {"n": 100}}, session=session)
    assert (await counters.find_by_id(counter.id)).n == 110


@pytest.mark.backend_limit(mock=NO_FAILPOINTS)
async def test_refused_commit_leaves_no_open_transaction(counters: Repository[Counter]) -> None:
    counter = await counters.create({"n": 0})
    await fail_commits(counters, 1, errorCode=2)
    with pytest.raises(OperationFailure) as caught:
        async with counters.transaction() as session:
            await counters.update_by_id(counter.id, {"$inc": {"n": 1}}, session=session)
    assert caught.value.code == 2
    await later_writes_do_not_block(counters, counter)


@pytest.mark.backend_limit(mock=NO_FAILPOINTS)
async def test_commit_with_an_unknown_result_leaves_no_open_transaction(
    counters: Repository[Counter],
) -> None:
    counter = await counters.create({"n": 0})
    # two dropped connections: the commit and the driver's one retry both fail
    await fail_commits(counters, 2, closeConnection=True)
    with pytest.raises(PyMongoError) as caught:
        async with counters.transaction() as session:
            await counters.update_by_id(counter.id, {"$inc": {"n": 1}}, session=session)
    assert caught.value.has_error_label("UnknownTransactionCommitResult")
    await later_writes_do_not_block(counters, counter)


@pytest.mark.backend_limit(mock=NO_FAILPOINTS)
async def test_commit_with_retryable_errors_twice_leaves_no_open_transaction(
    counters: Repository[Counter],
) -> None:
    counter = await counters.create({"n": 0})
    await fail_commits(
        counters, 2, errorCode=9001, errorLabels=["RetryableWriteError"]
    )  # SocketException, retryable
    with pytest.raises(PyMongoError) as caught:
        async with counters.transaction() as session:
            await counters.update_by_id(counter.id, {"$inc": {"n": 1}}, session=session)
    assert caught.value.has_error_label("UnknownTransactionCommitResult")
    await later_writes_do_not_block(counters, counter)


@pytest.mark.backend_limit(mock=NO_FAILPOINTS)
async def test_an_exception_in_the_block_leaves_no_open_transaction(
    counters: Repository[Counter],
) -> None:
    counter = await counters.create({"n": 0})
    with pytest.raises(RuntimeError, match="boom"):
        async with counters.transaction() as session:
            await counters.update_by_id(counter.id, {"$inc": {"n": 1}}, session=session)
            raise RuntimeError("boom")
    await later_writes_do_not_block(counters, counter)


# --- run_in_transaction: the drivers' retry rules, after injected failures ----------------


async def fail_next(counters: Repository[Counter], command: str, times: int, **data: Any) -> None:
    await counters.collection.database.client.admin.command(
        {
            "configureFailPoint": "failCommand",
            "mode": {"times": times},
            "data": {"failCommands": [command], **data},
        }
    )


def incrementing(counters: Repository[Counter], counter: Counter) -> tuple[list[int], Any]:
    """A transaction body adding 1 (with no session=: it joins implicitly); the list
    counts its runs."""
    runs: list[int] = []

    async def body(session: Any) -> str:
        runs.append(1)
        await counters.update_by_id(counter.id, {"$inc": {"n": 1}})
        return "done"

    return runs, body


TRANSIENT = {"errorCode": 112, "errorLabels": ["TransientTransactionError"]}  # WriteConflict
# LockTimeout: no server-state error, so the client keeps its connection pool
UNKNOWN_COMMIT = {"errorCode": 24, "errorLabels": ["UnknownTransactionCommitResult"]}


@pytest.mark.backend_limit(mock=NO_FAILPOINTS)
@pytest.mark.parametrize("failing", ["update", "commitTransaction"])
async def test_a_transient_error_runs_the_whole_transaction_again_once_applied(
    counters: Repository[Counter], failing: str
) -> None:
    counter = await counters.create({"n": 0})
    runs, body = incrementing(counters, counter)
    await fail_next(counters, failing, 1, **TRANSIENT)
    assert await odm.run_in_transaction(counters.collection.database, body) == "done"
    assert len(runs) == 2
    assert (await counters.find_by_id(counter.id)).n == 1


@pytest.mark.backend_limit(mock=NO_FAILPOINTS)
async def test_an_unknown_commit_result_retries_the_commit_alone(
    counters: Repository[Counter],
) -> None:
    counter = await counters.create({"n": 0})
    runs, body = incrementing(counters, counter)
    await fail_next(counters, "commitTransaction", 2, **UNKNOWN_COMMIT)
    await odm.run_in_transaction(counters.collection.database, body)
    assert len(runs) == 1
    assert (await counters.find_by_id(counter.id)).n == 1


@pytest.mark.backend_limit(mock=NO_FAILPOINTS)
async def test_retries_stop_at_max_attempts_with_the_last_error(
    counters: Repository[Counter],
) -> None:
    counter = await counters.create({"n": 0})
    runs, body = incrementing(counters, counter)
    await fail_next(counters, "update", 5, **TRANSIENT)
    with pytest.raises(OperationFailure) as caught:
        await odm.run_in_transaction(counters.collection.database, body, max_attempts=2)
    assert caught.value.has_error_label("TransientTransactionError")
    assert len(runs) == 2
    admin = counters.collection.database.client.admin
    await admin.command({"configureFailPoint": "failCommand", "mode": "off"})
    await later_writes_do_not_block(counters, counter)  # the session was ended
