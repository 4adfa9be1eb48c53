"""odm against raw pymongo, pydantic, Beanie and ODMantic, measured side by side.

::

    bash scripts/bench.sh                       # installs the bench extra, then runs this
    python -m benchmarks.run [--size 10000] [--rounds 5] [--iterate-size 100000]
                             [--quick] [--uri mongodb://...] [--out benchmarks/results]

Every task runs for every contender in one process: a warm-up round that is thrown
away, then ``rounds`` timed rounds in which the contenders take turns (round-robin, the
order rotated each round). Each figure is the median of the rounds, and each ratio is
taken against a baseline measured in the same run: pydantic for the codec tasks, raw
pymongo async for the end-to-end tasks. ``gc.collect()`` runs before every measurement.

Every task is timed twice per round: with the cyclic garbage collector running (as
applications run; the targets are judged on this figure) and with it paused (the code's
own cost, as ``timeit`` measures it; shown beside). Each measurement records wall time and
the client process's CPU time (``time.process_time()``): the embedded server shares the
machine's cores and dominates wall time, so client CPU is the figure that shows what the
library costs. Codec targets and the end-to-end CPU targets are judged on client CPU,
the end-to-end wall targets on wall time.

End-to-end tasks use one embedded SecantusDB server (or ``--uri``). Read tasks share a
collection seeded once with raw pymongo; write tasks get a database of their own per
contender and task, emptied before every run. ``iterate`` runs with the repository's
default batch size (no ``batch_size`` given).

:func:`readme_section` renders the performance section of the project's README from a
run's results, and :func:`update_readme` writes it between the README's markers: the
README shows the last run's figures, never figures of its own.

The peak memory of ``iterate`` is measured in a separate pass under ``tracemalloc``, for
half the documents and for all of them: flat memory means the same peak for both.

A contender whose package is missing (Beanie, ODMantic, motor) is skipped with a note,
so :func:`run_benchmarks` works in the plain dev environment.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import inspect
import json
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions

from benchmarks import include as include_bench
from benchmarks.data import make_records, object_id, to_document
from benchmarks.models import COLLECTION, Order, PlainOrder, beanie_models, odmantic_models
from odm import Repository
from odm.codec import decode_many, encode
from odm.embedded import EmbeddedServer
from odm.operations import NO_HOOKS
from odm.rules import ITERATE_BATCH_SIZE

__all__ = [
    "CODEC_TASKS",
    "E2E_TASKS",
    "README_BEGIN",
    "README_END",
    "TARGETS",
    "main",
    "readme_block",
    "readme_section",
    "render_markdown",
    "run_benchmarks",
    "update_readme",
    "write_reports",
]

#: The project's README, whose performance figures are generated from the last run.
README = Path(__file__).resolve().parents[1] / "README.md"
DEFAULT_OUT = "benchmarks/results"

TIMES, DASH = "\u00d7", "\u2013"  # the multiplication sign and the dash of the tables
CLIENT_OPTIONS: dict[str, Any] = {"uuidRepresentation": "standard", "tz_aware": True}
_CODEC_OPTIONS: CodecOptions[dict[str, Any]] = CodecOptions(
    tz_aware=True, uuid_representation=UuidRepresentation.STANDARD
)
DATABASE_PREFIX = "odmbench"
MAX_LOOKUPS = 1000
#: include: up to 1,000 parents (a tenth of the size), each with this many children
MAX_INCLUDE_PARENTS = 1000
INCLUDE_CHILDREN = 10

# contenders (display names)
PYDANTIC = "pydantic"
ODM = "odm"
ODM_TRUSTED = "odm trusted"
RAW = "raw pymongo (dicts)"
ODM_PYMONGO = "odm · pymongo"
ODM_PYMONGO_TRUSTED = "odm trusted · pymongo"
ODM_MOTOR = "odm · motor"
#: the same repository with its hook points forced off (``odm.operations.NO_HOOKS``): the
#: yardstick of what the hook points cost while no hook is registered
ODM_HOOKS_OFF = "odm · pymongo, hook points off"
BEANIE = "beanie"
ODMANTIC = "odmantic"


@dataclass(frozen=True)
class Task:
    """One measured task: what it does, its baseline and its contenders in display order."""

    name: str
    group: str  # "codec" or "e2e"
    title: str
    baseline: str
    contenders: tuple[str, ...]


CODEC_TASKS = (
    Task("encode", "codec", "encode {size} (instance → BSON-ready dict)", PYDANTIC,
         (PYDANTIC, ODM, BEANIE, ODMANTIC)),
    Task("decode", "codec", "decode {size} (stored dict → instance)", PYDANTIC,
         (PYDANTIC, ODM, ODM_TRUSTED, BEANIE, ODMANTIC)),
)  # fmt: skip
_E2E = (RAW, ODM_PYMONGO, ODM_MOTOR, BEANIE, ODMANTIC)
_E2E_READ = (RAW, ODM_PYMONGO, ODM_PYMONGO_TRUSTED, ODM_MOTOR, BEANIE, ODMANTIC)
E2E_TASKS = (
    Task("create_all", "e2e", "create_all {size}", RAW, (*_E2E[:2], ODM_HOOKS_OFF, *_E2E[2:])),
    Task("find", "e2e", "find {size}", RAW, (*_E2E_READ[:2], ODM_HOOKS_OFF, *_E2E_READ[2:])),
    Task("find_by_id", "e2e", "{lookups} find_by_id", RAW, _E2E_READ),
    Task("update_all", "e2e", "update_all on {size}", RAW, _E2E),
    Task("iterate", "e2e", "iterate over {iterate_size}", RAW, _E2E_READ),
    Task("include", "e2e", f"include of {{parents}} parents {TIMES} {INCLUDE_CHILDREN} children",
         RAW, (RAW, ODM_PYMONGO, ODM_PYMONGO_TRUSTED, BEANIE)),
)  # fmt: skip
TASKS = CODEC_TASKS + E2E_TASKS

#: Tasks with a target whose feature has not landed: each is reported "not measured" until
#: its task and ``Bench.e2e_<name>`` are added (none left).
PLANNED_TASKS: dict[str, str] = {}

#: About how many of the benchmark's orders one default server batch (16 MiB of BSON) holds.
ONE_BATCH = 26_000

#: iterate's peak memory is "flat" when all the documents peak at most this much above half.
FLAT_MEMORY_GROWTH = 1.2


@dataclass(frozen=True)
class Target:
    """One performance target of odm (met or missed in a report)."""

    id: str
    description: str
    limit: float
    # "ratio": contender / baseline ≤ limit; "speedup": other / contender ≥ limit;
    # "relative": contender / other ≤ limit; "memory": peak(all) / peak(half) ≤ limit
    kind: str
    task: str
    contender: str
    other: str = ""
    # "cpu": the client process's CPU time; "wall": wall time (both with the collector on)
    measure: str = "cpu"

    @property
    def goal(self) -> str:
        if self.kind == "speedup":
            return f"≥ {self.limit:.1f}{TIMES} faster ({self.measure})"
        if self.kind == "memory":
            return f"peak(all) ≤ {self.limit:.2f}{TIMES} peak(half)"
        return f"≤ {self.limit:.2f}{TIMES} ({self.measure})"


TARGETS = (
    Target("encode_vs_pydantic", "encode, against pydantic model_dump", 1.0, "ratio", "encode",
           ODM),
    Target("encode_vs_beanie", "encode, against Beanie's encoder", 5.0, "speedup", "encode", ODM,
           BEANIE),
    Target("decode_vs_pydantic", "decode (validated), against pydantic model_validate", 1.0,
           "ratio", "decode", ODM),
    Target("trusted_decode_vs_pydantic", "trusted decode, against pydantic model_validate", 0.35,
           "ratio", "decode", ODM_TRUSTED),
    Target("create_all_cpu", "create_all, client CPU against raw insert_many of dicts", 3.0,
           "ratio", "create_all", ODM_PYMONGO),
    Target("create_all_wall", "create_all, wall against raw insert_many of dicts", 1.10,
           "ratio", "create_all", ODM_PYMONGO, measure="wall"),
    Target("find_cpu", "find (validated), client CPU against raw find().to_list()", 2.0,
           "ratio", "find", ODM_PYMONGO),
    Target("find_trusted_cpu", "find (trusted), client CPU against raw find().to_list()", 1.5,
           "ratio", "find", ODM_PYMONGO_TRUSTED),
    Target("find_wall", "find (validated), wall against raw find().to_list()", 1.10, "ratio",
           "find", ODM_PYMONGO, measure="wall"),
    Target("find_by_id_cpu", "find_by_id, client CPU against raw find_one", 1.15, "ratio",
           "find_by_id", ODM_PYMONGO),
    Target("iterate_memory_flat",
           "iterate (default batch size): peak memory independent of the count",
           FLAT_MEMORY_GROWTH, "memory", "iterate", ODM_PYMONGO),
    Target("hooks_none_create_all",
           "create_all, no hook registered, against the hook points forced off", 1.02,
           "relative", "create_all", ODM_PYMONGO, ODM_HOOKS_OFF),
    Target("hooks_none_find", "find, no hook registered, against the hook points forced off",
           1.02, "relative", "find", ODM_PYMONGO, ODM_HOOKS_OFF),
    Target("include_vs_in",
           f"include of 1,000 parents {TIMES} 10 children, against a hand-written $in query", 1.3,
           "ratio", "include", ODM_PYMONGO),
)  # fmt: skip

Runner = Callable[[], Any]  # returns the number of items processed, or an awaitable of it
Prepare = Callable[[], Awaitable[Runner]]  # untimed set-up of one measurement
Progress = Callable[[str], None]


@dataclass
class Config:
    size: int = 10_000
    rounds: int = 5
    iterate_size: int = 100_000
    warmup: int = 1
    uri: str | None = None
    tasks: tuple[str, ...] = tuple(task.name for task in TASKS)
    peers: bool = True

    @property
    def lookups(self) -> int:
        return min(MAX_LOOKUPS, self.size)

    @property
    def parents(self) -> int:
        return max(1, min(MAX_INCLUDE_PARENTS, self.size // INCLUDE_CHILDREN))


@dataclass
class Measurements:
    wall: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    cpu: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, task: str, contender: str, wall: float, cpu: float) -> None:
        self.wall.setdefault((task, contender), []).append(wall)
        self.cpu.setdefault((task, contender), []).append(cpu)


# --- the contenders ------------------------------------------------------------------------


def _as_driver_returns(documents: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    # A BSON round trip gives exactly what a driver hands back (bson's UTC tzinfo, UUIDs).
    return [
        bson.decode(bson.encode(doc, codec_options=_CODEC_OPTIONS), _CODEC_OPTIONS)
        for doc in documents
    ]


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")


async def _count(items: AsyncIterator[Any]) -> int:
    count = 0
    async for _ in items:
        count += 1
    return count


class Bench:
    """Everything the measurements share: the data, the clients and the seeded databases."""

    def __init__(self, config: Config, uri: str | None) -> None:
        self.config = config
        self.uri = uri
        self.records = make_records(config.size)
        self.documents = _as_driver_returns(
            to_document(record, object_id(n)) for n, record in enumerate(self.records)
        )
        picks = random.Random(7).sample(range(config.size), config.lookups)
        self.lookup_ids = [object_id(n) for n in picks]
        self.skipped: dict[str, str] = {}
        self.notes: list[str] = []
        self.pymongo_client: Any = None
        self.motor_client: Any = None
        self._beanie_db: str | None = None
        #: (contender, task) -> why it is not measured there (found at run time)
        self.task_skips: dict[tuple[str, str], str] = {}
        self._include_runners: dict[str, Any] = {}

    # -- availability --------------------------------------------------------------------

    def available(self, contender: str) -> bool:
        return contender not in self.skipped

    def check_contenders(self) -> None:
        if not self.config.peers:
            self.skipped[BEANIE] = "peers disabled (peers=False)"
            self.skipped[ODMANTIC] = "peers disabled (peers=False)"
        else:
            for name, peer in ((BEANIE, beanie_models()), (ODMANTIC, odmantic_models())):
                if peer.missing is not None:
                    self.skipped[name] = peer.missing
        if self.uri is None:
            return
        try:
            import motor.motor_asyncio  # noqa: F401
        except ImportError:
            self.skipped[ODM_MOTOR] = "motor is not installed: pip install -e '.[motor]'"
        if ODMANTIC not in self.skipped and ODM_MOTOR in self.skipped:
            self.skipped[ODMANTIC] = "ODMantic needs motor, which is not installed"

    # -- clients and databases -----------------------------------------------------------

    async def open(self) -> None:
        from pymongo import AsyncMongoClient

        assert self.uri is not None
        self.pymongo_client = AsyncMongoClient(self.uri, **CLIENT_OPTIONS)
        if self.available(ODM_MOTOR) or self.available(ODMANTIC):
            from motor.motor_asyncio import AsyncIOMotorClient

            self.motor_client = AsyncIOMotorClient(self.uri, **CLIENT_OPTIONS)

    async def close(self) -> None:
        if self.pymongo_client is not None:
            for name in await self.pymongo_client.list_database_names():
                if name.startswith(DATABASE_PREFIX):
                    await self.pymongo_client.drop_database(name)
            await self.pymongo_client.close()
        if self.motor_client is not None:
            self.motor_client.close()

    def db_name(self, purpose: str) -> str:
        return f"{DATABASE_PREFIX}_{purpose}"

    async def seed(self, database: str, documents: list[dict[str, Any]]) -> None:
        """Replace the orders of ``database`` with ``documents`` (raw pymongo, untimed)."""
        collection = self.pymongo_client[database][COLLECTION]
        await collection.drop()
        for start in range(0, len(documents), 10_000):
            await collection.insert_many([dict(doc) for doc in documents[start : start + 10_000]])

    async def empty(self, database: str) -> None:
        await self.pymongo_client[database][COLLECTION].drop()

    def database(self, contender: str, name: str) -> Any:
        client = self.motor_client if contender in (ODM_MOTOR, ODMANTIC) else self.pymongo_client
        return client[name]

    async def beanie_on(self, database: str) -> Any:
        """Beanie's order class bound to ``database`` (init_beanie binds one at a time)."""
        from beanie import init_beanie

        order = beanie_models().order
        if self._beanie_db != database:
            await init_beanie(database=self.pymongo_client[database], document_models=[order])
            self._beanie_db = database
        return order

    def odmantic_engine(self, database: str) -> Any:
        from odmantic import AIOEngine

        return AIOEngine(client=self.motor_client, database=database)

    def repository(self, contender: str, database: str) -> Repository[Order]:
        trusted = contender == ODM_PYMONGO_TRUSTED
        repository = Repository(
            Order, self.database(contender, database), validate_on_load=not trusted
        )
        if contender == ODM_HOOKS_OFF:
            repository._hooks = NO_HOOKS  # every point skipped: what the hook points cost
        return repository

    # -- codec tasks ---------------------------------------------------------------------

    async def codec_encode(self, contender: str) -> Runner:
        documents = self.documents
        if contender == PYDANTIC:
            plain = [PlainOrder.model_validate(doc) for doc in documents]
            return lambda: len([order.model_dump(by_alias=True) for order in plain])
        if contender == ODM:
            entities = decode_many(Order, documents)
            return lambda: len([encode(entity) for entity in entities])
        if contender == BEANIE:
            from beanie.odm.utils.dump import get_dict
            from beanie.odm.utils.parsing import parse_obj

            order = await self.beanie_on(self.db_name("read"))
            keep_nulls = order.get_settings().keep_nulls
            documents_ = [parse_obj(order, doc) for doc in documents]
            # what Beanie's insert_many runs for each document
            return lambda: len([get_dict(d, to_db=True, keep_nulls=keep_nulls) for d in documents_])
        if contender == ODMANTIC:
            order = odmantic_models().order
            models = [order.model_validate_doc(doc) for doc in documents]
            return lambda: len([model.model_dump_doc() for model in models])
        raise KeyError(contender)

    async def codec_decode(self, contender: str) -> Runner:
        documents = self.documents
        if contender == PYDANTIC:
            validate = PlainOrder.model_validate
            return lambda: len([validate(doc) for doc in documents])
        if contender == ODM:
            return lambda: len(decode_many(Order, documents))
        if contender == ODM_TRUSTED:
            return lambda: len(decode_many(Order, documents, trusted=True))
        if contender == BEANIE:
            from beanie.odm.utils.parsing import parse_obj

            order = await self.beanie_on(self.db_name("read"))
            # what Beanie's find runs for each document
            return lambda: len([parse_obj(order, doc) for doc in documents])
        if contender == ODMANTIC:
            validate_doc = odmantic_models().order.model_validate_doc
            return lambda: len([validate_doc(doc) for doc in documents])
        raise KeyError(contender)

    # -- end-to-end tasks ----------------------------------------------------------------

    async def e2e_create_all(self, contender: str) -> Runner:
        database = self.db_name(f"create_{_slug(contender)}")
        await self.empty(database)
        records = self.records
        if contender == RAW:
            collection = self.database(contender, database)[COLLECTION]
            # insert_many adds _id to its dicts, so each run gets fresh ones
            documents = [to_document(record) for record in records]

            async def insert() -> int:
                result = await collection.insert_many(documents)
                return len(result.inserted_ids)

            return insert
        if contender in (ODM_PYMONGO, ODM_MOTOR, ODM_HOOKS_OFF):
            repository = self.repository(contender, database)

            async def create_all() -> int:
                return len(await repository.create_all(records))

            return create_all
        if contender == BEANIE:
            order = await self.beanie_on(database)

            async def insert_many() -> int:
                result = await order.insert_many([order(**record) for record in records])
                return len(result.inserted_ids)

            return insert_many
        if contender == ODMANTIC:
            engine = self.odmantic_engine(database)
            model = odmantic_models().order

            async def save_all() -> int:
                return len(await engine.save_all([model(**record) for record in records]))

            return save_all
        raise KeyError(contender)

    async def e2e_find(self, contender: str) -> Runner:
        database = self.db_name("read")
        if contender == RAW:
            collection = self.database(contender, database)[COLLECTION]

            async def to_list() -> int:
                return len(await collection.find({}).to_list())

            return to_list
        if contender in (ODM_PYMONGO, ODM_PYMONGO_TRUSTED, ODM_MOTOR, ODM_HOOKS_OFF):
            repository = self.repository(contender, database)

            async def find() -> int:
                return len(await repository.find())

            return find
        if contender == BEANIE:
            order = await self.beanie_on(database)

            async def find_all() -> int:
                return len(await order.find_all().to_list())

            return find_all
        if contender == ODMANTIC:
            engine = self.odmantic_engine(database)
            model = odmantic_models().order

            async def engine_find() -> int:
                return len(await engine.find(model))

            return engine_find
        raise KeyError(contender)

    async def e2e_find_by_id(self, contender: str) -> Runner:
        database = self.db_name("read")
        ids = self.lookup_ids
        if contender == RAW:
            collection = self.database(contender, database)[COLLECTION]

            async def find_one() -> int:
                return sum([await collection.find_one({"_id": id}) is not None for id in ids])

            return find_one
        if contender in (ODM_PYMONGO, ODM_PYMONGO_TRUSTED, ODM_MOTOR):
            repository = self.repository(contender, database)
            text_ids = [str(id) for id in ids]  # odm's default id is the ObjectId's hex text

            async def find_by_id() -> int:
                return len([await repository.find_by_id(id) for id in text_ids])

            return find_by_id
        if contender == BEANIE:
            order = await self.beanie_on(database)

            async def get() -> int:
                return sum([await order.get(id) is not None for id in ids])

            return get
        if contender == ODMANTIC:
            engine = self.odmantic_engine(database)
            model = odmantic_models().order

            async def engine_find_one() -> int:
                return sum([await engine.find_one(model, model.id == id) is not None for id in ids])

            return engine_find_one
        raise KeyError(contender)

    async def e2e_update_all(self, contender: str) -> Runner:
        database = self.db_name(f"update_{_slug(contender)}")
        await self.seed(database, self.documents)
        change = {"status": "archived"}
        if contender == RAW:
            collection = self.database(contender, database)[COLLECTION]

            async def update_many() -> int:
                result = await collection.update_many({}, {"$set": change})
                return int(result.matched_count)

            return update_many
        if contender in (ODM_PYMONGO, ODM_MOTOR):
            repository = self.repository(contender, database)

            async def update_all() -> int:
                return await repository.update_all(change)

            return update_all
        if contender == BEANIE:
            from beanie.odm.operators.update.general import Set

            order = await self.beanie_on(database)

            async def update() -> int:
                result = await order.find_all().update(Set({order.status: "archived"}))
                return int(result.matched_count)

            return update
        raise KeyError(contender)

    async def e2e_iterate(self, contender: str, limit: int = 0) -> Runner:
        database = self.db_name("iterate")
        if contender == RAW:
            collection = self.database(contender, database)[COLLECTION]
            return lambda: _count(collection.find({}, limit=limit))
        if contender in (ODM_PYMONGO, ODM_PYMONGO_TRUSTED, ODM_MOTOR):
            repository = self.repository(contender, database)
            return lambda: _count(repository.iterate({"limit": limit} if limit else None))
        if contender == BEANIE:
            order = await self.beanie_on(database)
            return lambda: _count(aiter(order.find_all(limit=limit or None)))
        if contender == ODMANTIC:
            engine = self.odmantic_engine(database)
            model = odmantic_models().order
            return lambda: _count(aiter(engine.find(model, limit=limit or None)))
        raise KeyError(contender)

    async def seed_include(self) -> None:
        """Seed the include task's parents and children (and Beanie's DBRef copy), once."""
        beanie = include_bench.beanie_models() if self.available(BEANIE) else None
        client = self.pymongo_client
        await include_bench.seed(client, self.config.parents, INCLUDE_CHILDREN, beanie is not None)
        if beanie is not None:
            from beanie import init_beanie

            database = client[include_bench.BEANIE_DATABASE]
            await init_beanie(database=database, document_models=list(beanie))
            self._beanie_db = None  # the orders' binding is made again when next needed
            if not await include_bench.matches_dbref_paths(client):
                self.task_skips[(BEANIE, "include")] = (
                    "this server does not match Beanie's DBRef path 'parent.$id', so "
                    "fetch_links finds no child: measure it with --uri on a MongoDB server"
                )
                beanie = None
        self._include_runners = await include_bench.contenders(client, beanie)

    async def e2e_include(self, contender: str) -> Runner:
        names = {
            RAW: include_bench.RAW,
            ODM_PYMONGO: include_bench.ODM,
            ODM_PYMONGO_TRUSTED: include_bench.ODM_TRUSTED,
            BEANIE: include_bench.BEANIE,
        }
        runner: Runner = self._include_runners[names[contender]]
        return runner

    def prepare(self, task: Task, contender: str) -> Prepare | None:
        """The set-up of one measurement, or None when the contender does not do the task."""
        if contender == ODMANTIC and task.name == "update_all":
            return None
        if (contender, task.name) in self.task_skips:
            return None
        method = getattr(self, f"{task.group}_{task.name}")
        return lambda: method(contender)

    def expected(self, task: Task) -> int:
        if task.name == "find_by_id":
            return self.config.lookups
        if task.name == "iterate":
            return self.config.iterate_size
        if task.name == "include":
            return self.config.parents * INCLUDE_CHILDREN
        return self.config.size


_NOT_SUPPORTED = {
    (ODMANTIC, "update_all"): "ODMantic has no bulk update (only a save per instance)",
}


async def _measure(runner: Runner, *, pause_gc: bool = False) -> tuple[float, float, Any]:
    gc.collect()
    paused = pause_gc and gc.isenabled()
    if paused:
        gc.disable()
    try:
        cpu_start = time.process_time()
        start = time.perf_counter()
        result = runner()
        if inspect.isawaitable(result):
            result = await result
        wall = time.perf_counter() - start
    finally:
        if paused:
            gc.enable()
    return wall, time.process_time() - cpu_start, result


def _paused_series(task: Task) -> str:
    return f"{task.name}+paused"


async def _peak_memory(runner: Runner) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = runner()
        if inspect.isawaitable(result):
            result = await result
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


async def _run(config: Config, uri: str | None, progress: Progress) -> dict[str, Any]:
    bench = Bench(config, uri)
    tasks = [task for task in TASKS if task.name in config.tasks]
    if uri is None:
        for task in E2E_TASKS:
            if task.name in config.tasks:
                bench.notes.append(f"{task.name}: not run (no database)")
        tasks = [task for task in tasks if task.group == "codec"]
        bench.skipped.setdefault(BEANIE, "Beanie needs a database for init_beanie")
    bench.check_contenders()
    measurements = Measurements()
    memory: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    if uri:
        await bench.open()
    try:
        if uri:
            progress(f"seeding {config.size:,} + {config.iterate_size:,} documents")
            await bench.seed(bench.db_name("read"), bench.documents)
            if any(task.name == "include" for task in tasks):
                await bench.seed_include()
            if any(task.name == "iterate" for task in tasks):
                await bench.seed(
                    bench.db_name("iterate"),
                    _as_driver_returns(
                        to_document(record, object_id(n))
                        for n, record in enumerate(make_records(config.iterate_size, seed=11))
                    ),
                )
        cases: list[tuple[Task, str, Prepare]] = []
        for task in tasks:
            for contender in task.contenders:
                if not bench.available(contender):
                    continue
                prepare = bench.prepare(task, contender)
                if prepare is not None:
                    cases.append((task, contender, prepare))
        total_rounds = config.warmup + config.rounds
        for round_number in range(total_rounds):
            timed = round_number >= config.warmup
            label = (
                f"round {round_number - config.warmup + 1}/{config.rounds}" if timed else "warm-up"
            )
            progress(f"{label} ({time.perf_counter() - started:.0f} s)")
            for task in tasks:
                mine = [case for case in cases if case[0] is task]
                shift = round_number % len(mine) if mine else 0
                for _, contender, prepare in mine[shift:] + mine[:shift]:
                    # with the collector running, as applications run (the targets), then
                    # paused: the code's own cost, as timeit measures it; each measurement
                    # prepared afresh (write tasks start from an empty collection)
                    for pause_gc in (False, True):
                        runner = await prepare()
                        wall, cpu, result = await _measure(runner, pause_gc=pause_gc)
                        if result != bench.expected(task):
                            raise RuntimeError(
                                f"{task.name} · {contender}: processed {result}, "
                                f"expected {bench.expected(task)}"
                            )
                        series = _paused_series(task) if pause_gc else task.name
                        if timed:
                            measurements.add(series, contender, wall, cpu)
                        label = f"{contender} (GC paused)" if pause_gc else contender
                        progress(
                            f"  {task.name:<11} {label:<34} {wall * 1000:10.1f} ms wall "
                            f"{cpu * 1000:10.1f} ms CPU"
                        )
        if any(task.name == "iterate" for task in tasks):
            half = max(1, config.iterate_size // 2)
            bench.notes.append(
                f"iterate memory: odm's iterate asks for {ITERATE_BATCH_SIZE:,} documents per "
                "server batch by default, so its peak is one batch whatever the count; raw "
                "pymongo, Beanie and ODMantic take the server's batches (up to 16 MiB of BSON, "
                f"about {ONE_BATCH:,} of these orders)"
                + (
                    f", so their peaks grow with the count below --iterate-size {2 * ONE_BATCH:,}"
                    if half < ONE_BATCH
                    else ""
                )
            )
            progress(f"iterate peak memory (tracemalloc), {half:,} and {config.iterate_size:,}")
            iterate = next(task for task in tasks if task.name == "iterate")
            for contender in iterate.contenders:
                if not bench.available(contender):
                    continue
                peaks = {}
                for count in (half, config.iterate_size):
                    limit = count if count < config.iterate_size else 0
                    peak, result = await _peak_memory(await bench.e2e_iterate(contender, limit))
                    if result != count:
                        raise RuntimeError(f"iterate · {contender}: {result} of {count}")
                    peaks[count] = peak
                memory[contender] = {
                    "half": {"count": half, "peak_bytes": peaks[half]},
                    "full": {
                        "count": config.iterate_size,
                        "peak_bytes": peaks[config.iterate_size],
                    },
                    "growth": peaks[config.iterate_size] / peaks[half] if peaks[half] else None,
                }
                progress(
                    f"  {contender:<22} {peaks[half] / 2**20:8.1f} MiB → "
                    f"{peaks[config.iterate_size] / 2**20:8.1f} MiB"
                )
    finally:
        if bench.pymongo_client is not None or bench.motor_client is not None:
            await bench.close()
    return _results(config, tasks, bench, measurements, memory, time.perf_counter() - started)


def _results(
    config: Config,
    tasks: list[Task],
    bench: Bench,
    measurements: Measurements,
    memory: dict[str, dict[str, Any]],
    duration: float,
) -> dict[str, Any]:
    task_results: dict[str, Any] = {}
    for task in tasks:
        rows: dict[str, Any] = {}
        skipped: dict[str, str] = {}
        for contender in task.contenders:
            if not measurements.wall.get((task.name, contender)):
                skipped[contender] = (
                    bench.skipped.get(contender)
                    or bench.task_skips.get((contender, task.name))
                    or _NOT_SUPPORTED.get((contender, task.name), "not measured")
                )
                continue
            row: dict[str, Any] = {}
            for series, prefix in ((task.name, ""), (_paused_series(task), "paused_")):
                walls = measurements.wall.get((series, contender))
                cpus = measurements.cpu.get((series, contender))
                base_walls = measurements.wall.get((series, task.baseline))
                base_cpus = measurements.cpu.get((series, task.baseline))
                if not walls or not cpus:
                    continue
                wall, cpu = statistics.median(walls), statistics.median(cpus)
                base_wall = statistics.median(base_walls) if base_walls else None
                base_cpu = statistics.median(base_cpus) if base_cpus else None
                row |= {
                    f"{prefix}median_s": wall,
                    f"{prefix}min_s": min(walls),
                    f"{prefix}runs_s": walls,
                    f"{prefix}cpu_median_s": cpu,
                    f"{prefix}cpu_runs_s": cpus,
                    f"{prefix}ratio": wall / base_wall if base_wall else None,
                    f"{prefix}cpu_ratio": cpu / base_cpu if base_cpu else None,
                }
            rows[contender] = row
        task_results[task.name] = {
            "group": task.group,
            "title": task.title.format(
                size=f"{config.size:,}",
                lookups=f"{config.lookups:,}",
                parents=f"{config.parents:,}",
                iterate_size=f"{config.iterate_size:,}",
            ),
            "baseline": task.baseline,
            "contenders": rows,
            "skipped": skipped,
        }
    results: dict[str, Any] = {
        "meta": _environment(config, duration),
        "tasks": task_results,
        "memory": memory,
        "notes": bench.notes,
    }
    results["targets"] = evaluate_targets(results)
    return results


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _environment(config: Config, duration: float) -> dict[str, Any]:
    packages = [
        "odm",
        "pydantic",
        "pydantic-core",
        "pymongo",
        "motor",
        "beanie",
        "odmantic",
        "SecantusDB",
    ]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "versions": {name: _version(name) for name in packages},
        "size": config.size,
        "rounds": config.rounds,
        "warmup_rounds": config.warmup,
        "iterate_size": config.iterate_size,
        "lookups": config.lookups,
        "server": "embedded SecantusDB" if config.uri is None else "given URI",
        "duration_s": round(duration, 1),
        # other work on the machine during the run makes the figures noisier
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:]) if sys.argv else "",
    }


def evaluate_targets(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each performance target with the measured figure and whether it is met (None when
    it was not measured in this run).

    Targets are judged with the collector running (``value``), on client CPU or wall time
    as the target says; the figure with the collector paused is ``paused_value``.
    """
    report = []
    for target in TARGETS:
        value: float | None = None
        paused_value: float | None = None
        if target.kind == "memory":
            value = results["memory"].get(target.contender, {}).get("growth")
        else:
            rows = results["tasks"].get(target.task, {}).get("contenders", {})
            mine = rows.get(target.contender)
            time_key = "cpu_median_s" if target.measure == "cpu" else "median_s"
            ratio_key = "cpu_ratio" if target.measure == "cpu" else "ratio"
            if target.kind == "ratio" and mine is not None:
                value = mine.get(ratio_key)
                paused_value = mine.get(f"paused_{ratio_key}")
            elif target.kind == "speedup" and mine is not None and target.other in rows:
                other = rows[target.other]
                value = other[time_key] / mine[time_key]
                paused = f"paused_{time_key}"
                if paused in mine and paused in other:
                    paused_value = other[paused] / mine[paused]
            elif target.kind == "relative" and mine is not None and target.other in rows:
                other = rows[target.other]
                value = mine[time_key] / other[time_key]
                paused = f"paused_{time_key}"
                if paused in mine and paused in other:
                    paused_value = mine[paused] / other[paused]
        met = None
        if value is not None:
            met = value >= target.limit if target.kind == "speedup" else value <= target.limit
        report.append(
            {
                "id": target.id,
                "description": target.description,
                "goal": target.goal,
                "contender": target.contender,
                "measure": "memory" if target.kind == "memory" else target.measure,
                "value": value,
                "paused_value": paused_value,
                "met": met,
                "planned": PLANNED_TASKS.get(target.task) if value is None else None,
            }
        )
    return report


def run_benchmarks(
    *,
    size: int = 10_000,
    rounds: int = 5,
    iterate_size: int = 100_000,
    warmup: int = 1,
    uri: str | None = None,
    tasks: Iterable[str] | None = None,
    peers: bool = True,
    embedded: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the benchmarks and return the results (see ``benchmarks/results/latest.json``).

    Without ``uri`` an embedded SecantusDB server is started for the run (``embedded=False``
    runs the codec tasks only). ``peers=False`` leaves Beanie and ODMantic out; either is
    left out anyway, with a note, when its package is missing.

    >>> results = run_benchmarks(size=50, rounds=1, iterate_size=200)
    >>> results["tasks"]["decode"]["contenders"]["odm"]["ratio"]
    """
    names = tuple(tasks) if tasks is not None else tuple(task.name for task in TASKS)
    unknown = set(names) - {task.name for task in TASKS}
    if unknown:
        raise ValueError(f"unknown task(s) {sorted(unknown)}; known: {[t.name for t in TASKS]}")
    config = Config(size, rounds, iterate_size, warmup, uri, names, peers)
    report = progress or (lambda message: None)
    if uri is not None or not embedded:
        return asyncio.run(_run(config, uri, report))
    report("starting the embedded SecantusDB server")
    with EmbeddedServer() as server:
        return asyncio.run(_run(config, server.uri, report))


# --- reports ---------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.2f} s"


def _times(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}{TIMES}"


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def _run_line(meta: Mapping[str, Any]) -> str:
    return (
        f"{meta['date']} · Python {meta['python']} · {meta['platform']} · {meta['cpus']} CPUs · "
        f"{meta['server']} · {meta['size']:,} documents, iterate {meta['iterate_size']:,} · "
        f"medians of {meta['rounds']} interleaved rounds (after {meta['warmup_rounds']} "
        f"warm-up) · {meta['duration_s']:.0f} s · load average at the end "
        f"{meta['load_average_at_end'][1]:.1f} (5 min)"
    )


def _target_rows(results: Mapping[str, Any]) -> list[str]:
    lines = [
        "| target | goal | measured, GC on | GC paused | |",
        "|---|---|---:|---:|---|",
    ]
    for target in results["targets"]:
        value = target["value"]
        if value is None:
            planned = target.get("planned")
            shown = f"not measured ({planned})" if planned else "not measured"
            paused, verdict = DASH, DASH
        else:
            shown, paused = _times(value), _times(target.get("paused_value"))
            verdict = "met" if target["met"] else "**missed**"
        lines.append(
            f"| {target['description']} | {target['goal']} | {shown} | {paused} | {verdict} |"
        )
    return lines


def render_markdown(results: Mapping[str, Any]) -> str:
    """The results as Markdown: targets, codec table, end-to-end table, memory, notes."""
    meta = results["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    lines = [
        "# odm benchmarks",
        "",
        _run_line(meta),
        "",
        f"{versions}",
        "",
        "Ratios are taken in this run against the baseline of each task. Every task is timed "
        "with the cyclic garbage collector running (as applications run; the targets are "
        "judged on it) and again with it paused. Client CPU is this process's CPU time "
        "(`time.process_time()`, the server's work left out); the machine is shared, so wall "
        "times are noisier than CPU times.",
        "",
        "## Targets",
        "",
        *_target_rows(results),
    ]
    for group, heading, baseline_label in (
        ("codec", "Codec (no database)", f"{TIMES} pydantic"),
        ("e2e", "End to end", f"{TIMES} raw"),
    ):
        tasks = {name: t for name, t in results["tasks"].items() if t["group"] == group}
        if not tasks:
            continue
        lines += [
            "",
            f"## {heading}",
            "",
            f"| task | contender | wall | {baseline_label} | client CPU | {baseline_label} "
            f"| CPU, GC paused | {baseline_label} |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for task in tasks.values():
            for contender, row in task["contenders"].items():
                paused = row.get("paused_cpu_median_s")
                cells = [
                    task["title"],
                    contender,
                    _ms(row["median_s"]),
                    _times(row["ratio"]),
                    _ms(row["cpu_median_s"]),
                    _times(row["cpu_ratio"]),
                    DASH if paused is None else _ms(paused),
                    _times(row.get("paused_cpu_ratio")),
                ]
                lines.append("| " + " | ".join(cells) + " |")
            for contender, reason in task["skipped"].items():
                blanks = [DASH] * 6
                lines.append(
                    "| "
                    + " | ".join([task["title"], f"{contender} (skipped: {reason})", *blanks])
                    + " |"
                )
    if results["memory"]:
        lines += [
            "",
            "## iterate: peak memory (tracemalloc, default batch size)",
            "",
            "| contender | documents | peak | documents | peak | growth |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for contender, row in results["memory"].items():
            half, full = row["half"], row["full"]
            lines.append(
                f"| {contender} | {half['count']:,} | {_mib(half['peak_bytes'])} | "
                f"{full['count']:,} | {_mib(full['peak_bytes'])} | {_times(row['growth'])} |"
            )
    if results["notes"]:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    return "\n".join(lines) + "\n"


README_BEGIN = (
    "<!-- benchmarks:begin — generated by `python -m benchmarks.run` from "
    "benchmarks/results/latest.json; do not edit by hand -->"
)
README_END = "<!-- benchmarks:end -->"
_README_CONTENDERS = (ODM_PYMONGO, ODM_PYMONGO_TRUSTED, ODM, ODM_TRUSTED, BEANIE, ODMANTIC)


def readme_section(results: Mapping[str, Any]) -> str:
    """The README's generated performance figures: the run, the targets and every
    contender's client CPU and wall ratios per task (Beanie and ODMantic included)."""
    meta = results["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    lines = [
        f"Last run: {_run_line(meta)}; {versions}. Full tables: "
        "[benchmarks/results/latest.md](benchmarks/results/latest.md). The machine is "
        "shared with other work, so single figures vary; client CPU "
        "(`time.process_time()`) varies less than wall time.",
        "",
        *_target_rows(results),
        "",
        "Each task against its baseline (pydantic for the codec, raw pymongo async for the "
        f"rest), as client CPU {TIMES} / wall {TIMES}, garbage collector on:",
        "",
    ]
    shown = [
        c
        for c in _README_CONTENDERS
        if any(c in task["contenders"] for task in results["tasks"].values())
    ]
    lines += [
        "| task | baseline | " + " | ".join(shown) + " |",
        "|---|---|" + "---:|" * len(shown),
    ]
    for task in results["tasks"].values():
        cells = [task["title"], task["baseline"]]
        for contender in shown:
            row = task["contenders"].get(contender)
            if row is None:
                reason = task["skipped"].get(contender)
                cells.append("skipped" if reason else "")
            else:
                cells.append(f"{_times(row['cpu_ratio'])} / {_times(row['ratio'])}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def update_readme(results: Mapping[str, Any], readme: str | os.PathLike[str]) -> bool:
    """Replace the generated block of ``readme`` (between its markers) with
    :func:`readme_section`; False when the file or its markers are missing."""
    path = Path(readme)
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        return False
    block = f"{README_BEGIN}\n{readme_section(results)}{README_END}"
    path.write_text(text[:begin] + block + text[end + len(README_END) :], encoding="utf-8")
    return True


def readme_block(readme: str | os.PathLike[str]) -> str | None:
    """The generated block of ``readme`` as it stands (None without markers)."""
    text = Path(readme).read_text(encoding="utf-8")
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        return None
    return text[begin + len(README_BEGIN) + 1 : end]


def _chart(results: Mapping[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    limits = {
        (t.task, t.contender): t.limit for t in TARGETS if t.kind == "ratio" and t.measure == "cpu"
    }
    tasks = list(results["tasks"].items())
    panels = len(tasks) + (1 if results["memory"] else 0)
    columns = 2
    rows = (panels + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(12, 2.6 * rows), squeeze=False)
    colours = {RAW: "#888888", PYDANTIC: "#888888", BEANIE: "#d9822b", ODMANTIC: "#8e5ea2"}
    for axis, (name, task) in zip(axes.flat, tasks, strict=False):
        contenders = list(task["contenders"].items())
        labels = [contender for contender, _ in contenders][::-1]
        ratios = [row["cpu_ratio"] or 0 for _, row in contenders][::-1]
        bars = axis.barh(labels, ratios, color=[colours.get(label, "#2a7ab0") for label in labels])
        axis.bar_label(bars, labels=[_times(r) for r in ratios], padding=3, fontsize=8)
        axis.axvline(1.0, color="black", linewidth=0.8)
        for contender, _ in contenders:
            limit = limits.get((name, contender))
            if limit is not None:
                axis.axvline(limit, color="#c0392b", linestyle="--", linewidth=0.8)
        axis.set_title(f"{task['title']}, client CPU {TIMES} {task['baseline']}", fontsize=9)
        axis.tick_params(labelsize=8)
        axis.set_xlim(0, max([*ratios, 1.0]) * 1.25)
    if results["memory"]:
        axis = axes.flat[len(tasks)]
        memory = list(results["memory"].items())[::-1]
        labels = [contender for contender, _ in memory]
        height = 0.38
        positions = list(range(len(labels)))
        for offset, key, colour in (
            (-height / 2, "half", "#9ecae1"),
            (height / 2, "full", "#2a7ab0"),
        ):
            values = [row[key]["peak_bytes"] / 2**20 for _, row in memory]
            count = memory[0][1][key]["count"] if memory else 0
            axis.barh(
                [p + offset for p in positions],
                values,
                height,
                color=colour,
                label=f"{count:,} docs",
            )
        axis.set_yticks(positions, labels)
        axis.set_title("iterate: peak memory, MiB (flat is the goal)", fontsize=9)
        axis.tick_params(labelsize=8)
        axis.legend(fontsize=8)
    for axis in list(axes.flat)[panels:]:
        axis.set_visible(False)
    figure.suptitle(
        f"odm benchmarks: client CPU as a multiple of the baseline, GC on (lower is better; "
        f"dashed: targets), medians of {results['meta']['rounds']} rounds",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_reports(results: Mapping[str, Any], out: str | os.PathLike[str]) -> list[Path]:
    """Write ``latest.json``, ``latest.md`` and (with matplotlib) ``latest.png`` to ``out``."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "latest.json", directory / "latest.md"]
    written[0].write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    written[1].write_text(render_markdown(results), encoding="utf-8")
    chart = directory / "latest.png"
    if _chart(results, chart):
        written.append(chart)
    return written


# --- command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--size", type=int, default=10_000, help="documents per task (10000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (5)")
    parser.add_argument(
        "--iterate-size", type=int, default=100_000, help="documents iterated (100000)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds thrown away (1)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a fast look: 2,000 documents, 3 rounds, iterate 20,000",
    )
    parser.add_argument("--uri", help="a MongoDB URI instead of the embedded server")
    parser.add_argument(
        "--tasks", nargs="+", choices=[task.name for task in TASKS], help="a subset of tasks"
    )
    parser.add_argument("--no-peers", action="store_true", help="leave Beanie and ODMantic out")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"report directory ({DEFAULT_OUT})")
    parser.add_argument(
        "--render",
        action="store_true",
        help="run nothing: re-render OUT/latest.md, the chart and the README's figures "
        "from OUT/latest.json",
    )
    parser.add_argument(
        "--no-readme",
        action="store_true",
        help="leave the README's generated figures as they are",
    )
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads((Path(args.out) / "latest.json").read_text(encoding="utf-8"))
    else:
        if args.quick:
            args.size, args.rounds, args.iterate_size = 2_000, 3, 20_000
        results = run_benchmarks(
            size=args.size,
            rounds=args.rounds,
            iterate_size=args.iterate_size,
            warmup=args.warmup,
            uri=args.uri,
            tasks=args.tasks,
            peers=not args.no_peers,
            progress=lambda message: print(message, file=sys.stderr, flush=True),
        )
    paths = write_reports(results, args.out)
    # the README shows the figures of the default report directory's last run
    default_out = Path(args.out).resolve() == README.parent / DEFAULT_OUT
    if not args.no_readme and default_out and update_readme(results, README):
        paths.append(README)
    print(render_markdown(results))
    print("written: " + ", ".join(str(path) for path in paths), file=sys.stderr)
    return 0  # a missed target is a finding reported above, not a failure of the run


if __name__ == "__main__":
    raise SystemExit(main())
