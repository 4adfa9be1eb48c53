"""Concurrency: many odm operations in flight at once (``asyncio.gather``), on every backend.

On mock they interleave on one event loop; on the embedded server (pymongo and motor)
they run on a connection pool against a real multi-connection server, and the job claims
are also spread over several independent clients. Every result is checked with the raw
driver.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from odm import DuplicateKeyError, Entity, Repository, model, prop
from odm.drivers import close_client, open_client
from odm.embedded import EmbeddedServer
from odm.testing import backend_label

INCREMENTS = 500
JOBS = 40
CLAIMERS = 40
DUPLICATES = 50


@model(collection="cc_tallies")
class Tally(Entity):
    name: str
    counter: int = 0


@model(collection="cc_tasks")
class Task(Entity):
    seq: int
    status: str = "queued"
    worker: str | None = None


@model(collection="cc_members")
class Member(Entity):
    email: str = prop(unique=True)
    name: str = ""


async def test_concurrent_increments_lose_no_update(
    odm_db: Any, measurement: Callable[[str], None]
) -> None:
    tallies = Repository(Tally, odm_db, allow_extended_operators=True)
    tally = await tallies.create({"name": "hits"})
    other = await tallies.create({"name": "untouched"})

    await asyncio.gather(
        *(tallies.update_by_id(tally.id, {"$inc": {"counter": 1}}) for _ in range(INCREMENTS))
    )

    raw = odm_db[Tally.odm_meta().collection]
    stored = {doc["name"]: doc["counter"] async for doc in raw.find({})}
    assert stored == {"hits": INCREMENTS, "untouched": 0}
    assert (await tallies.find_by_id(tally.id)).counter == INCREMENTS
    assert (await tallies.find_by_id(other.id)).counter == 0
    measurement(f"{INCREMENTS} concurrent $inc update_by_id: final counter {stored['hits']}")


async def _claim_all(repos: list[Repository[Task]], claimers: int) -> list[tuple[str, Task | None]]:
    """``claimers`` workers, each claiming one queued job, spread over ``repos``."""

    async def claim(n: int) -> tuple[str, Task | None]:
        worker = f"worker-{n}"
        repo = repos[n % len(repos)]
        task = await repo.find_one_and_update(
            {"status": "queued"}, {"status": "running", "worker": worker}, order="seq ASC"
        )
        return worker, task

    return await asyncio.gather(*(claim(n) for n in range(claimers)))


async def _check_claims(
    db: Any, claims: list[tuple[str, Task | None]], *, jobs: int
) -> tuple[int, int]:
    """Every job claimed by exactly one claimer; returns (claimed, empty-handed)."""
    won = {worker: task for worker, task in claims if task is not None}
    empty = [worker for worker, task in claims if task is None]
    assert len(won) == min(jobs, len(claims))
    assert len(empty) == max(0, len(claims) - jobs)
    # each winner got a distinct job, returned as updated, in its own name
    assert len({task.id for task in won.values()}) == len(won)
    for worker, task in won.items():
        assert task.status == "running"
        assert task.worker == worker

    raw = db[Task.odm_meta().collection]
    stored = [doc async for doc in raw.find({})]
    assert len(stored) == jobs
    by_id = {str(doc["_id"]): doc for doc in stored}
    # the stored worker of every job is the claimer that was given that job
    assert {doc["worker"] for doc in stored} == set(won)
    assert all(doc["status"] == "running" for doc in stored)
    for worker, task in won.items():
        assert by_id[task.id]["worker"] == worker
    return len(won), len(empty)


async def test_concurrent_claims_give_each_job_to_one_claimer(
    odm_db: Any, measurement: Callable[[str], None]
) -> None:
    tasks = Repository(Task, odm_db)
    await tasks.create_all([{"seq": n} for n in range(JOBS)])

    claims = await _claim_all([tasks], CLAIMERS)
    claimed, empty = await _check_claims(odm_db, claims, jobs=JOBS)
    assert (claimed, empty) == (JOBS, 0)
    # nothing is left to claim
    assert await tasks.find_one_and_update({"status": "queued"}, {"status": "running"}) is None
    measurement(f"{CLAIMERS} concurrent claims over {JOBS} jobs: {claimed} claimed once each")


@pytest.mark.backend_limit(mock="several clients need a server shared between them")
async def test_concurrent_claims_across_clients(
    odm_db: Any,
    odm_backend: str,
    odm_backend_server: EmbeddedServer | None,
    measurement: Callable[[str], None],
) -> None:
    assert odm_backend_server is not None
    driver = "motor" if backend_label(odm_backend) == "motor" else "pymongo"
    clients = [open_client(odm_backend_server.uri, driver=driver) for _ in range(3)]
    try:
        # three independent clients (own pools, own connections) on the same database
        repos = [Repository(Task, client[odm_db.name]) for client in clients]
        await repos[0].create_all([{"seq": n} for n in range(JOBS)])
        # oversubscribed: one and a half claimers per job
        claims = await _claim_all(repos, CLAIMERS + CLAIMERS // 2)
        claimed, empty = await _check_claims(odm_db, claims, jobs=JOBS)
        assert (claimed, empty) == (JOBS, CLAIMERS // 2)
        per_client = [
            sum(1 for n, (_, task) in enumerate(claims) if task and n % 3 == c) for c in range(3)
        ]
        assert sum(per_client) == JOBS
    finally:
        for client in clients:
            await close_client(client)
    measurement(
        f"{len(claims)} claims over {JOBS} jobs on 3 clients: {claimed} claimed once each "
        f"(per client {per_client}), {empty} found none"
    )


async def test_concurrent_duplicate_creates_one_wins(
    odm_db: Any, measurement: Callable[[str], None]
) -> None:
    members = Repository(Member, odm_db)
    await members.migrate()  # the unique index on email

    results = await asyncio.gather(
        *(
            members.create({"email": "same@example.com", "name": f"m{n}"})
            for n in range(DUPLICATES)
        ),
        return_exceptions=True,
    )

    created = [r for r in results if isinstance(r, Member)]
    refused = [r for r in results if isinstance(r, DuplicateKeyError)]
    others = [r for r in results if not isinstance(r, (Member, DuplicateKeyError))]
    assert others == []
    assert len(created) == 1
    assert len(refused) == DUPLICATES - 1
    for error in refused:
        assert error.properties == ["email"]
        assert error.value == {"email": "same@example.com"}

    raw = odm_db[Member.odm_meta().collection]
    stored = [doc async for doc in raw.find({})]
    assert len(stored) == 1
    assert str(stored[0]["_id"]) == created[0].id
    assert stored[0]["name"] == created[0].name
    measurement(
        f"{DUPLICATES} concurrent creates of one unique email: "
        f"{len(created)} created, {len(refused)} DuplicateKeyError"
    )
