"""A background worker: claim jobs atomically, process them, stream a report.

    python examples/worker.py                          # demo: 300 jobs, 3 workers, a report
    python examples/worker.py demo --jobs 20000 --workers 8

Against a shared database, run as many copies as you like, on as many machines::

    export ODM_URI=mongodb://localhost:27017/jobs
    python examples/worker.py enqueue --jobs 1000
    python examples/worker.py work --name w1 &         # each copy claims its own jobs
    python examples/worker.py work --name w2 &
    python examples/worker.py report                   # streams every job, with a progress bar
    python examples/worker.py requeue --older-than 300 # jobs of crashed workers, back in line
    python examples/worker.py follow                   # each job as it finishes (change stream)

Why it is safe in several copies: a job is claimed with one atomic
``find_one_and_update`` (queued -> running, with the worker's name), so two workers never
get the same job; its result is written to a collection with a unique index on the job
id, so even a job that is reclaimed after a crash is recorded once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from random import Random
from typing import TYPE_CHECKING, Any, Literal

from tqdm import tqdm

import odm
from odm import Entity, Repository, model, prop

if TYPE_CHECKING:
    from odm.changes import ChangeStream

Status = Literal["queued", "running", "done", "failed"]


@model(
    collection="example_jobs",
    # the claim query: queued jobs, highest priority first, oldest first
    indexes={"claim_order": {"keys": {"status": 1, "priority": -1, "created": 1}}},
)
class Job(Entity):
    id: str = prop(id=True, generated=True)
    number: int  # the work: factorize this number
    priority: int = 0
    status: Status = "queued"
    created: datetime = prop(default_fn="now")
    worker: str | None = None
    started: datetime | None = None
    finished: datetime | None = None
    attempts: int = 0  # raised by every claim: 1 when nothing went wrong
    factors: list[int] = prop(default_factory=list)
    error: str | None = None


@model(collection="example_job_results", timestamps=True)  # created_at, updated_at by odm
class JobResult(Entity):
    job_id: str = prop(unique=True)  # the database refuses a second result for one job
    worker: str
    factors: list[int]

    @odm.hook("before save")
    def smallest_first(ctx: odm.HookContext) -> None:
        """Every path that stores a result stores its factors in order (the hook's change
        is validated like the caller's data)."""
        if ctx.instance is not None:
            ctx.instance.factors = sorted(ctx.instance.factors)


def factorize(number: int) -> list[int]:
    """The prime factors of ``number`` (>= 2), smallest first."""
    if number < 2:
        raise ValueError(f"cannot factorize {number}")
    factors: list[int] = []
    divisor = 2
    while divisor * divisor <= number:
        while number % divisor == 0:
            factors.append(divisor)
            number //= divisor
        divisor += 1
    if number > 1:
        factors.append(number)
    return factors


def now() -> datetime:
    return datetime.now(UTC)


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """Claims queued jobs one at a time and processes them until none is left."""

    def __init__(self, db: Any, name: str | None = None) -> None:
        self.name = name or default_name()
        # $inc needs extended operators; filters here are ours, never a client's
        self.jobs = Repository(Job, db, allow_extended_operators=True)
        self.results = Repository(JobResult, db)
        self.processed = 0
        # counted by an operation hook: after save fires only for a result that was stored
        self.results.observe("after save", self._stored)

    def _stored(self, ctx: odm.HookContext) -> None:
        self.processed += 1

    async def claim(self) -> Job | None:
        """Atomically move the next queued job to running, in this worker's name."""
        return await self.jobs.find_one_and_update(
            {"status": "queued"},
            {"status": "running", "worker": self.name, "started": now(), "$inc": {"attempts": 1}},
            order=["priority DESC", "created ASC"],
        )

    async def process(self, job: Job) -> None:
        try:
            # CPU work off the event loop; a real job would await I/O here
            factors = await asyncio.to_thread(factorize, job.number)
        except ValueError as error:
            await self.finish(job, {"status": "failed", "error": str(error)})
            return
        try:
            await self.results.create({"job_id": job.id, "worker": self.name, "factors": factors})
        except odm.DuplicateKeyError:
            # the job was reclaimed after its first worker died having written the result:
            # keep that result, just close the job
            first = await self.results.find_one({"where": {"job_id": job.id}})
            assert first is not None
            factors = first.factors
        await self.finish(job, {"status": "done", "factors": factors})

    async def finish(self, job: Job, outcome: dict[str, Any]) -> None:
        # only while the job is still ours: requeue() may have handed it to another worker
        await self.jobs.update_all(
            {**outcome, "finished": now()},
            where={"id": job.id, "worker": self.name, "status": "running"},
        )

    async def run(self, *, keep_polling: bool = False, poll_interval: float = 1.0) -> int:
        """Process jobs until none is queued (or forever with ``keep_polling``); return
        how many this worker processed."""
        while True:
            job = await self.claim()
            if job is None:
                if not keep_polling:
                    return self.processed
                await asyncio.sleep(poll_interval)
                continue
            await self.process(job)


async def migrate(db: Any) -> None:
    await odm.migrate([Repository(Job, db), Repository(JobResult, db)])


async def enqueue(db: Any, count: int, *, seed: int = 7, batch: int = 1000) -> int:
    """Queue ``count`` jobs (numbers to factorize, random priorities) in batches."""
    jobs = Repository(Job, db)
    rng = Random(seed)
    for start in range(0, count, batch):
        size = min(batch, count - start)
        await jobs.create_all(
            [
                {"number": rng.randrange(10**5, 10**7), "priority": rng.randrange(3)}
                for _ in range(size)
            ]
        )
    return count


async def requeue(db: Any, older_than: timedelta) -> int:
    """Put back in line the jobs running for longer than ``older_than`` (their worker
    probably died); returns how many."""
    jobs = Repository(Job, db)
    return await jobs.update_all(
        {"status": "queued", "worker": None, "started": None},
        where={"status": "running", "started": {"lt": now() - older_than}},
    )


async def report(db: Any, *, progress: bool = True) -> dict[str, Any]:
    """Stream every finished job with ``iterate()`` (memory stays flat however many there
    are) behind a progress bar; count the jobs per worker and per status."""
    jobs = Repository(Job, db)
    per_worker: Counter[str] = Counter()
    per_status: Counter[str] = Counter()
    attempts: Counter[int] = Counter()
    with tqdm(
        total=await jobs.count(), unit="job", desc="report", disable=not progress, file=sys.stderr
    ) as bar:
        async for job in jobs.iterate({"fields": ["status", "worker", "attempts"]}, batch_size=500):
            per_status[job.status] += 1
            per_worker[job.worker or "-"] += 1
            attempts[job.attempts] += 1
            bar.update()
    return {
        "jobs": sum(per_status.values()),
        "results": await Repository(JobResult, db).count(),
        "per_status": dict(per_status),
        "per_worker": dict(per_worker),
        "attempts": dict(attempts),
    }


def finished_jobs(db: Any, *, resume_after: Any = None) -> ChangeStream[Job]:
    """The jobs as workers finish them, pushed by the server (a change stream: no polling).
    ``resume_after`` (an event's ``resume_token``) continues where a follower stopped."""
    where = {"status": {"inq": ["done", "failed"]}}
    return Repository(Job, db).watch(where, resume_after=resume_after)


async def follow(changes: ChangeStream[Job], *, count: int | None = None) -> int:
    """Print each job as it finishes, until ``count`` of them (or forever)."""
    seen = 0
    async for event in changes:
        # the where tests the job as the server finds it when the event is read (a claim
        # read late shows the job done already): the update's own status says what it did
        if event.entity is None or event.updated.get("status") not in ("done", "failed"):
            continue
        job = event.entity
        print(f"{job.id} {job.status} by {job.worker}: {job.factors or job.error}")
        seen += 1
        if count is not None and seen >= count:
            break
    return seen


def describe(summary: dict[str, Any]) -> str:
    """The report as three lines of text."""

    def counts(counter: dict[Any, int]) -> str:
        return ", ".join(f"{key}: {count}" for key, count in sorted(counter.items()))

    return (
        f"{summary['jobs']} jobs, {summary['results']} results\n"
        f"  by status: {counts(summary['per_status'])}\n"
        f"  by worker: {counts(summary['per_worker'])}\n"
        f"  by number of claims: {counts(summary['attempts'])}"
    )


async def demo(db: Any, *, jobs: int, workers: int, progress: bool = True) -> dict[str, Any]:
    """Empty the example collections, queue ``jobs``, run ``workers`` concurrently."""
    await Repository(Job, db).delete_all()
    await Repository(JobResult, db).delete_all()
    await migrate(db)
    await enqueue(db, jobs)
    print(f"queued {jobs} jobs; running {workers} workers concurrently")
    crew = [Worker(db, f"worker-{n + 1}") for n in range(workers)]
    done = await asyncio.gather(*(worker.run() for worker in crew))
    for worker, count in zip(crew, done, strict=True):
        print(f"  {worker.name}: {count} jobs")
    summary = await report(db, progress=progress)
    print(describe(summary))
    exactly_once = summary["results"] == jobs and summary["attempts"] == {1: jobs}
    verdict = "each processed exactly once" if exactly_once else "NOT each processed once"
    print(f"demo finished: {jobs} jobs, {verdict}")
    if not exactly_once:
        raise SystemExit(1)
    return summary


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a job queue worker on odm")
    parser.add_argument("--uri", help="database URI (default: ODM_URI, MONGODB_URI, embedded)")
    commands = parser.add_subparsers(dest="command")
    demo_command = commands.add_parser("demo", help="queue jobs and run workers (the default)")
    demo_command.add_argument("--jobs", type=int, default=300)
    demo_command.add_argument("--workers", type=int, default=3)
    commands.add_parser("enqueue", help="queue jobs").add_argument("--jobs", type=int, default=1000)
    work = commands.add_parser("work", help="process jobs until none is queued")
    work.add_argument("--name", help="this worker's name (default: host-pid)")
    work.add_argument("--forever", action="store_true", help="keep polling for new jobs")
    commands.add_parser("report", help="stream every job and count them")
    again = commands.add_parser("requeue", help="requeue the jobs of crashed workers")
    again.add_argument("--older-than", type=float, default=300, metavar="SECONDS")
    watch = commands.add_parser("follow", help="print each job as it finishes")
    watch.add_argument("--count", type=int, help="stop after this many (default: never)")
    args = parser.parse_args(argv)

    async with odm.connect(args.uri) as db:
        if args.command in (None, "demo"):
            await demo(db, jobs=getattr(args, "jobs", 300), workers=getattr(args, "workers", 3))
        elif args.command == "enqueue":
            await migrate(db)
            print(f"queued {await enqueue(db, args.jobs)} jobs")
        elif args.command == "work":
            await migrate(db)
            worker = Worker(db, args.name)
            count = await worker.run(keep_polling=args.forever)
            print(f"{worker.name}: processed {count} jobs")
        elif args.command == "report":
            print(describe(await report(db)))
        elif args.command == "requeue":
            print(f"requeued {await requeue(db, timedelta(seconds=args.older_than))} jobs")
        elif args.command == "follow":
            async with finished_jobs(db) as changes:
                await follow(changes, count=args.count)


if __name__ == "__main__":
    asyncio.run(main())
