"""Implicit transactions: every repository on the client joins ``odm.transaction(db)`` /
``repo.transaction()`` without ``session=``; explicit sessions win; nesting joins; other
clients and concurrent tasks stay out. The retries of ``run_in_transaction`` after
injected failures are in test_transaction_commit_failure.py (its failpoint server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import odm
from odm import Entity, ODMError, Repository
from odm.drivers import Session, close_client, open_client
from odm.drivers.common import resolve
from odm.embedded import EmbeddedServer
from odm.transactions import current_session

NO_TRANSACTIONS = "mongomock-motor has no sessions or transactions"
WAIT_S = 5


class Account(Entity):
    owner: str
    balance: int = 0


class Entry(Entity):
    account: str
    amount: int


async def stored(repo: Repository[Any]) -> list[dict[str, Any]]:
    """What the collection holds, read with the raw driver outside any transaction."""
    return [doc async for doc in repo.collection.find({}, {"_id": 0}).sort("_id")]


async def repositories(odm_db: Any) -> tuple[Repository[Account], Repository[Entry]]:
    accounts, entries = Repository(Account, odm_db), Repository(Entry, odm_db)
    for repo in (accounts, entries):  # collections exist before the transactions
        await repo.collection.database.create_collection(repo.collection.name)
    return accounts, entries


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_two_repositories_share_the_transaction_and_roll_back_together(
    odm_db: Any,
) -> None:
    accounts, entries = await repositories(odm_db)
    with pytest.raises(RuntimeError, match="boom"):
        async with accounts.transaction():
            await accounts.create({"owner": "ann", "balance": 5})
            await entries.create({"account": "ann", "amount": 5})
            # inside, the writes are visible in the transaction, not outside it
            assert await accounts.count() == 1
            assert await stored(accounts) == []
            raise RuntimeError("boom")
    assert await stored(accounts) == [] and await stored(entries) == []


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_a_committed_transaction_is_visible_after_the_block(odm_db: Any) -> None:
    accounts, entries = await repositories(odm_db)
    async with odm.transaction(odm_db) as session:
        ann = await accounts.create({"owner": "ann", "balance": 5})
        await entries.create({"account": "ann", "amount": 5})
        await accounts.update_by_id(ann.id, {"balance": 7})
        assert (await accounts.find_by_id(ann.id, session=session)).balance == 7
        assert await stored(accounts) == []
        assert current_session(odm_db) is session  # for the raw driver's calls
    assert current_session(odm_db) is None
    assert await stored(accounts) == [{"owner": "ann", "balance": 7}]
    assert await stored(entries) == [{"account": "ann", "amount": 5}]


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_a_nested_transaction_joins_the_outer_one(odm_db: Any) -> None:
    accounts, entries = await repositories(odm_db)
    with pytest.raises(RuntimeError, match="outer"):
        async with accounts.transaction() as outer:
            async with odm.transaction(odm_db) as inner:
                assert inner is outer
                await entries.create({"account": "ann", "amount": 1})
            assert await stored(entries) == []  # the inner end committed nothing
            raise RuntimeError("outer")
    assert await stored(entries) == []


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_an_explicit_session_wins(odm_db: Any) -> None:
    accounts, _ = await repositories(odm_db)
    async with accounts.transaction() as first:
        await accounts.create({"owner": "in-first"})
        async with await resolve(odm_db.client.start_session()) as other:
            await accounts.create({"owner": "no-transaction"}, session=other)
        assert [doc["owner"] for doc in await stored(accounts)] == ["no-transaction"]
        # the transaction reads its own snapshot: its write, not the later one outside
        assert [a.owner for a in await accounts.find(session=first)] == ["in-first"]
    assert sorted(doc["owner"] for doc in await stored(accounts)) == ["in-first", "no-transaction"]


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_a_repository_on_another_client_ignores_the_transaction(
    odm_db: Any, odm_backend: str, odm_backend_server: EmbeddedServer
) -> None:
    accounts, _ = await repositories(odm_db)
    driver = "motor" if odm_backend == "motor" else "pymongo"
    other_client = open_client(odm_backend_server.uri, driver=driver)
    try:
        elsewhere = Repository(Account, other_client[odm_db.name])
        with pytest.raises(RuntimeError):
            async with accounts.transaction():
                await accounts.create({"owner": "rolled back"})
                await elsewhere.create({"owner": "other client"})
                raise RuntimeError
        assert [doc["owner"] for doc in await stored(accounts)] == ["other client"]
    finally:
        await close_client(other_client)


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_concurrent_tasks_do_not_leak_into_each_other(odm_db: Any) -> None:
    accounts, _ = await repositories(odm_db)
    inside = asyncio.Event()
    outside_done = asyncio.Event()

    async def in_transaction() -> None:
        with pytest.raises(RuntimeError):
            async with accounts.transaction():
                await accounts.create({"owner": "rolled back"})
                inside.set()
                await asyncio.wait_for(outside_done.wait(), WAIT_S)
                raise RuntimeError

    async def outside() -> None:
        await asyncio.wait_for(inside.wait(), WAIT_S)
        await accounts.create({"owner": "outside"})  # not in the other task's transaction
        outside_done.set()

    await asyncio.gather(in_transaction(), outside())
    assert [doc["owner"] for doc in await stored(accounts)] == ["outside"]


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_a_task_started_inside_joins_and_cannot_outlive_it(odm_db: Any) -> None:
    accounts, _ = await repositories(odm_db)
    release = asyncio.Event()

    async def late_write() -> None:
        await release.wait()
        await accounts.create({"owner": "late"})

    with pytest.raises(RuntimeError):
        async with accounts.transaction():
            await asyncio.create_task(accounts.create({"owner": "joined"}))
            late = asyncio.create_task(late_write())
            raise RuntimeError
    release.set()
    with pytest.raises(ODMError, match="transaction that has ended"):
        await asyncio.wait_for(late, WAIT_S)
    assert await stored(accounts) == []  # the joined write was rolled back with it


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_run_in_transaction_returns_fn_result_and_commits(odm_db: Any) -> None:
    accounts, entries = await repositories(odm_db)

    async def transfer(session: Session) -> str:
        ann = await accounts.create({"owner": "ann", "balance": 3})
        await entries.create({"account": ann.id, "amount": 3})
        assert await stored(entries) == []
        return ann.id

    ann_id = await odm.run_in_transaction(odm_db, transfer)
    assert (await accounts.find_by_id(ann_id)).balance == 3
    assert await stored(entries) == [{"account": ann_id, "amount": 3}]

    async def failing(session: Session) -> None:
        await accounts.create({"owner": "bob"})
        raise RuntimeError("no retry for this")

    with pytest.raises(RuntimeError, match="no retry"):
        await odm.run_in_transaction(odm_db, failing)
    assert [doc["owner"] for doc in await stored(accounts)] == ["ann"]


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_run_in_transaction_inside_a_transaction_joins_it(odm_db: Any) -> None:
    accounts, _ = await repositories(odm_db)
    runs: list[Session] = []

    async def body(session: Session) -> None:
        runs.append(session)
        await accounts.create({"owner": "joined"})

    with pytest.raises(RuntimeError):
        async with odm.transaction(odm_db) as outer:
            await odm.run_in_transaction(odm_db, body)
            assert runs == [outer]  # one run, in the outer session
            raise RuntimeError
    assert await stored(accounts) == []


@pytest.mark.backend_limit(
    embedded="checks the mock's refusal; the embedded server runs real transactions",
    uri="checks the mock's refusal; a MongoDB server runs real transactions",
)
async def test_the_mock_refuses_implicit_transactions(odm_db: Any) -> None:
    async def nothing(session: Session) -> None:
        raise AssertionError("not run")

    with pytest.raises(ODMError, match="mongomock-motor has no transactions"):
        odm.transaction(odm_db)  # at the call, as repo.transaction() always did
    with pytest.raises(ODMError, match="mongomock-motor has no transactions"):
        async with Repository(Account, odm_db).transaction():
            pass
    with pytest.raises(ODMError, match="mongomock-motor has no transactions"):
        await odm.run_in_transaction(odm_db, nothing)
