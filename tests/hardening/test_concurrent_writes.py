"""Concurrent writes on every backend, beyond ``test_concurrency.py``: a claim's update
applies exactly once even with more claimers than jobs, and racing ``create_all``
batches that share one unique value keep exactly the items before the duplicate."""

from __future__ import annotations

import asyncio
from typing import Any

from odm import DuplicateKeyError, Repository

from .models import Account, Job
from .tally import count

SECTION = "concurrency"
CLAIMERS = 40
JOBS = 25
BATCHES = 20
BATCH_SIZE = 6
SHARED_AT = 2


async def test_more_claimers_than_jobs_apply_each_claim_once(odm_db: Any) -> None:
    jobs = Repository(Job, odm_db, allow_extended_operators=True)
    created = await jobs.create_all([{"name": f"job-{i:02}"} for i in range(JOBS)])

    async def claim(worker: str) -> Job | None:
        return await jobs.find_one_and_update(
            {"status": "queued"},
            {"status": "running", "worker": worker, "$inc": {"attempts": 1}},
            order="name ASC",
        )

    claims = await asyncio.gather(*(claim(f"w{i:03}") for i in range(CLAIMERS)))

    won = [job for job in claims if job is not None]
    assert len(won) == JOBS and claims.count(None) == CLAIMERS - JOBS
    assert sorted(job.id for job in won) == sorted(job.id for job in created)
    stored = {job.id: job for job in await jobs.find()}
    for job in won:
        assert (job.status, job.attempts) == ("running", 1)
        assert (stored[job.id].worker, stored[job.id].attempts) == (job.worker, 1)
    count(SECTION, "concurrent find_one_and_update claims ($inc attempts)", CLAIMERS)


async def test_racing_create_all_batches_sharing_a_unique_value(odm_db: Any) -> None:
    accounts = Repository(Account, odm_db)
    await accounts.migrate()

    async def create_all(n: int) -> int | None:
        items: list[dict[str, Any]] = [
            {"email": f"own-{n}-{i}@example.com"} for i in range(BATCH_SIZE - 1)
        ]
        items.insert(SHARED_AT, {"email": "shared@example.com"})
        try:
            await accounts.create_all(items)
        except DuplicateKeyError as error:
            assert error.properties == ["email"]
            assert error.value == {"email": "shared@example.com"}
            return error.index_in_batch
        return None

    outcomes = await asyncio.gather(*(create_all(n) for n in range(BATCHES)))

    assert outcomes.count(None) == 1  # one batch stored every item
    assert outcomes.count(SHARED_AT) == BATCHES - 1  # the others failed at the shared one
    assert await accounts.count({"email": "shared@example.com"}) == 1
    # each failed batch kept exactly the items before the duplicate, none after it
    assert await accounts.count() == BATCH_SIZE + (BATCHES - 1) * SHARED_AT
    count(SECTION, "concurrent create_all batches", BATCHES)
