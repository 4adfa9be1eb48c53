"""The worker example on every backend: concurrent workers process each job exactly once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import odm
from examples.worker import (
    Job,
    JobResult,
    Worker,
    enqueue,
    finished_jobs,
    follow,
    migrate,
    report,
    requeue,
)
from odm import Repository
from odm.embedded import EmbeddedServer
from odm.testing import backend_label

WORKER_SCRIPT = Path(__file__).parents[2] / "examples" / "worker.py"
QUEUED = 60  # jobs for three workers side by side: enough for each to claim some


@asynccontextmanager
async def worker_databases(
    odm_db: Any, odm_backend: str, server: EmbeddedServer | None, count: int
) -> AsyncIterator[list[Any]]:
    """The test's database once per worker: through a client of its own when the backend
    is a server (as separate processes would be); the in-memory mock has one client."""
    label = backend_label(odm_backend)
    if label == "mock":
        yield [odm_db] * count
        return
    uri = server.uri if server is not None else odm_backend
    async with AsyncExitStack() as stack:
        databases = []
        for _ in range(count):
            default = await stack.enter_async_context(
                odm.connect(uri, driver="motor" if label == "motor" else "pymongo")
            )
            databases.append(default.client[odm_db.name])
        yield databases


def check_each_job_processed_once(
    jobs: list[Job], results: list[JobResult], names: set[str]
) -> None:
    assert all(job.status == "done" for job in jobs)
    assert all(job.attempts == 1 for job in jobs)
    assert {job.worker for job in jobs} <= names
    by_job = Counter(result.job_id for result in results)
    assert by_job == Counter({job.id: 1 for job in jobs})
    worker_of = {job.id: job.worker for job in jobs}
    assert all(worker_of[result.job_id] == result.worker for result in results)
    assert all(
        job.factors == result.factors
        for job, result in zip(
            sorted(jobs, key=lambda j: j.id), sorted(results, key=lambda r: r.job_id), strict=True
        )
    )


async def test_three_concurrent_workers_process_every_job_exactly_once(
    odm_db: Any, odm_backend: str, odm_backend_server: EmbeddedServer | None
) -> None:
    await migrate(odm_db)
    await enqueue(odm_db, QUEUED)
    async with worker_databases(odm_db, odm_backend, odm_backend_server, 3) as databases:
        workers = [Worker(db, f"w{n}") for n, db in enumerate(databases)]
        processed = await asyncio.gather(*(worker.run() for worker in workers))

    assert sum(processed) == QUEUED
    assert all(count > 0 for count in processed), processed  # they really ran side by side
    jobs = await Repository(Job, odm_db).find()
    results = await Repository(JobResult, odm_db).find()
    assert len(jobs) == QUEUED
    check_each_job_processed_once(jobs, results, {worker.name for worker in workers})
    per_worker = Counter(job.worker for job in jobs)
    assert per_worker == {
        worker.name: count for worker, count in zip(workers, processed, strict=True)
    }

    summary = await report(odm_db, progress=False)
    assert summary["jobs"] == summary["results"] == QUEUED
    assert summary["per_status"] == {"done": QUEUED} and summary["attempts"] == {1: QUEUED}
    assert summary["per_worker"] == dict(per_worker)


async def test_jobs_are_claimed_by_priority_then_age(odm_db: Any) -> None:
    jobs = Repository(Job, odm_db)
    await jobs.create_all(
        [{"number": n, "priority": p} for n, p in [(10, 0), (11, 2), (12, 1), (13, 2)]]
    )
    worker = Worker(odm_db, "w")
    claimed = [await worker.claim() for _ in range(5)]
    assert [job.number if job else None for job in claimed] == [11, 13, 12, 10, None]
    assert all(job.status == "running" and job.worker == "w" for job in claimed if job)


async def test_a_job_that_cannot_be_processed_is_marked_failed(odm_db: Any) -> None:
    jobs = Repository(Job, odm_db)
    await jobs.create_all([{"number": 1}, {"number": 12}])
    assert await Worker(odm_db, "w").run() == 1
    failed = await jobs.find_one({"where": {"status": "failed"}})
    assert failed is not None and failed.number == 1 and "cannot factorize" in (failed.error or "")
    done = await jobs.find_one({"where": {"status": "done"}})
    assert done is not None and done.factors == [2, 2, 3]


async def test_a_job_reclaimed_after_a_crash_is_recorded_once(odm_db: Any) -> None:
    await migrate(odm_db)
    await enqueue(odm_db, 5)
    crashed = Worker(odm_db, "crashed")
    lost = await crashed.claim()
    assert lost is not None
    # it wrote its result and died before closing the job
    await crashed.results.create({"job_id": lost.id, "worker": "crashed", "factors": [7]})

    assert await requeue(odm_db, timedelta(hours=1)) == 0  # not stale yet
    await asyncio.sleep(0.01)  # dates are kept to the millisecond: let one pass
    assert await requeue(odm_db, timedelta(0)) == 1
    survivor = Worker(odm_db, "survivor")
    assert await survivor.run() == 4  # the fifth result was already there

    jobs = {job.id: job for job in await Repository(Job, odm_db).find()}
    assert all(job.status == "done" for job in jobs.values())
    assert jobs[lost.id].attempts == 2 and jobs[lost.id].worker == "survivor"
    assert jobs[lost.id].factors == [7]  # the recorded result is kept
    results = await Repository(JobResult, odm_db).find()
    assert Counter(result.job_id for result in results) == Counter(dict.fromkeys(jobs, 1))


async def test_a_requeued_job_is_not_closed_by_its_old_worker(odm_db: Any) -> None:
    await enqueue(odm_db, 1)
    slow = Worker(odm_db, "slow")
    job = await slow.claim()
    assert job is not None
    await asyncio.sleep(0.01)  # dates are kept to the millisecond: let one pass
    assert await requeue(odm_db, timedelta(0)) == 1
    await slow.finish(job, {"status": "done", "factors": [1]})  # too late: no longer its job
    stored = await Repository(Job, odm_db).find_by_id(job.id)
    assert (stored.status, stored.worker, stored.factors) == ("queued", None, [])


@pytest.mark.backend_limit(
    mock="separate processes cannot share an in-memory mock",
    motor="the worker processes use pymongo: the pymongo run covers them",
    uri="runs on the embedded server",
)
async def test_three_worker_processes_share_the_queue(
    odm_db: Any, odm_backend_server: EmbeddedServer
) -> None:
    await migrate(odm_db)
    await enqueue(odm_db, 90)
    uri = odm_backend_server.uri.replace("/?", f"/{odm_db.name}?", 1)
    command = [sys.executable, str(WORKER_SCRIPT), "--uri", uri, "work", "--name"]
    processes = [
        await asyncio.create_subprocess_exec(
            *command, f"p{n}", stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for n in range(3)
    ]
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr.decode()
        assert b"processed" in stdout

    jobs = await Repository(Job, odm_db).find()
    results = await Repository(JobResult, odm_db).find()
    assert len(jobs) == 90
    check_each_job_processed_once(jobs, results, {"p0", "p1", "p2"})


@pytest.mark.backend_limit(mock="mongomock-motor has no change streams")
async def test_a_follower_prints_each_job_as_it_finishes(
    odm_db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    await enqueue(odm_db, 4)
    async with finished_jobs(odm_db) as changes:  # open before the work starts
        assert await Worker(odm_db, "w").run() == 4
        assert await asyncio.wait_for(follow(changes, count=4), 5) == 4
    jobs = await Repository(Job, odm_db).find()
    printed = capsys.readouterr().out.splitlines()
    assert sorted(printed) == sorted(f"{job.id} done by w: {job.factors}" for job in jobs)


async def test_results_are_stamped_and_their_factors_ordered_by_a_hook(odm_db: Any) -> None:
    await migrate(odm_db)
    worker = Worker(odm_db, "w")
    result = await worker.results.create({"job_id": "j1", "worker": "w", "factors": [7, 2, 3]})
    assert worker.processed == 1  # counted by the after-save observer
    raw = await worker.results.collection.find_one({"job_id": "j1"})
    assert raw["factors"] == [2, 3, 7] == result.factors  # the before-save class hook
    assert raw["created_at"] == raw["updated_at"] == result.created_at  # timestamps=True
    assert result.created_at is not None and result.created_at.tzinfo is not None
    with pytest.raises(odm.DuplicateKeyError):
        await worker.results.create({"job_id": "j1", "worker": "w", "factors": [5]})
    assert worker.processed == 1  # nothing stored, no after save
