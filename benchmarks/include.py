"""``include`` of many parents with their children: odm against a hand-written ``$in``
and against Beanie's ``fetch_links``.

Each contender returns every parent with its children attached, from the same data:

- **raw pymongo** (the baseline): ``find()`` the parents, one ``find`` of the children
  with ``{"parent_id": {"$in": ids}}``, grouped by parent in Python (dicts);
- **odm**: ``parents.find({"include": "children"})`` (typed entities; one query for the
  parents and one for the children), validated and trusted (``validate_on_load=False``);
- **beanie**: ``Parent.find_all(fetch_links=True).to_list()``, the parent holding a
  ``list[BackLink[Child]]`` and the child a ``Link[Parent]`` (one ``$lookup``
  aggregation; Beanie stores the link as a DBRef, so it reads its own copy of the data).

Method: one warm-up round, then ``rounds`` timed rounds, the contenders' order rotated
from round to round; medians. The cyclic garbage collector runs (``gc.collect()`` before
each measurement). Wall time is ``time.perf_counter``; client CPU is
``time.process_time()`` (the server's work left out, as the embedded server is another
process). Ratios are to raw pymongo in the same run.

Run: ``python -m benchmarks.include [--parents 1000] [--children 10] [--rounds 5]
[--uri mongodb://...]`` (without ``--uri`` an embedded server is started and stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bson import DBRef, ObjectId
from pymongo import AsyncMongoClient

from odm import Entity, Repository, has_many, model

__all__ = [
    "BEANIE",
    "ODM",
    "ODM_TRUSTED",
    "RAW",
    "beanie_models",
    "contenders",
    "main",
    "matches_dbref_paths",
    "render",
    "run_include",
    "seed",
]

PARENTS = "bench_include_parents"
CHILDREN = "bench_include_children"
DATABASE = "odmbench_include"
BEANIE_DATABASE = "odmbench_include_beanie"
RAW, ODM, ODM_TRUSTED, BEANIE = "raw pymongo ($in)", "odm include", "odm include trusted", "beanie"


@model(collection=PARENTS)
class IncludeParent(Entity):
    name: str
    rank: int
    children: list[IncludeChild] | None = has_many(key_to="parent_id")


@model(collection=CHILDREN)
class IncludeChild(Entity):
    parent_id: str
    n: int
    label: str


def beanie_models() -> tuple[Any, Any] | None:
    """Beanie's parent and child documents, or None when Beanie is not installed."""
    try:
        from beanie import BackLink, Document, Link
        from pydantic import Field
    except ImportError:
        return None

    class BeanieParent(Document):  # type: ignore[misc]
        name: str
        rank: int
        children: list[BackLink[BeanieChild]] = Field(  # type: ignore[valid-type]
            default_factory=list, json_schema_extra={"original_field": "parent"}
        )

        class Settings:
            name = PARENTS

    class BeanieChild(Document):  # type: ignore[misc]
        parent: Link[BeanieParent]  # type: ignore[valid-type]
        n: int
        label: str

        class Settings:
            name = CHILDREN

    BeanieParent.model_rebuild(_types_namespace={"BeanieChild": BeanieChild})
    return BeanieParent, BeanieChild


def _data(parents: int, children: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    parent_docs = [
        {"_id": ObjectId(f"{n:024x}"), "name": f"parent {n}", "rank": n} for n in range(parents)
    ]
    child_docs = [
        {
            "_id": ObjectId(f"{1 << 80 | n * children + k:024x}"),
            "parent_id": str(parent["_id"]),
            "n": k,
            "label": f"child {k} of {n}",
        }
        for n, parent in enumerate(parent_docs)
        for k in range(children)
    ]
    return parent_docs, child_docs


async def seed(client: Any, parents: int, children: int, beanie: bool) -> None:
    """Drop and seed the benchmark's databases (Beanie's copy stores DBRef links)."""
    parent_docs, child_docs = _data(parents, children)
    for name in (DATABASE, BEANIE_DATABASE):
        await client.drop_database(name)
    db = client[DATABASE]
    await db[PARENTS].insert_many([dict(d) for d in parent_docs])
    await db[CHILDREN].insert_many([dict(d) for d in child_docs])
    await db[CHILDREN].create_index("parent_id")
    if beanie:
        linked = [
            {**{k: v for k, v in d.items() if k != "parent_id"}, "parent": _ref(d)}
            for d in child_docs
        ]
        await client[BEANIE_DATABASE][PARENTS].insert_many([dict(d) for d in parent_docs])
        await client[BEANIE_DATABASE][CHILDREN].insert_many(linked)
        await client[BEANIE_DATABASE][CHILDREN].create_index("parent.$id")


def _ref(child: dict[str, Any]) -> DBRef:
    return DBRef(PARENTS, ObjectId(child["parent_id"]))


Runner = Callable[[], Awaitable[int]]


async def matches_dbref_paths(client: Any) -> bool:
    """Whether the server finds a child by its DBRef's ``$id`` (SecantusDB does not),
    checked on one document before Beanie's ``$lookup`` runs over the whole data."""
    probe = client[BEANIE_DATABASE]["probe"]
    parent = ObjectId()
    await probe.insert_one({"parent": DBRef(PARENTS, parent)})
    found = await probe.count_documents({"parent.$id": parent})
    await probe.drop()
    return bool(found)


async def contenders(client: Any, beanie: Any) -> dict[str, Runner]:
    """Each contender's run on the seeded data (returns how many children it attached);
    ``beanie`` is ``beanie_models()``, initialised, or None."""
    db = client[DATABASE]

    async def raw() -> int:
        parents = await db[PARENTS].find({}).to_list(None)
        ids = [str(parent["_id"]) for parent in parents]
        grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in ids}
        async for child in db[CHILDREN].find({"parent_id": {"$in": ids}}):
            grouped[child["parent_id"]].append(child)
        for parent, key in zip(parents, ids, strict=True):
            parent["children"] = grouped[key]
        return sum(len(parent["children"]) for parent in parents)

    validated = Repository(IncludeParent, db)
    trusted = Repository(IncludeParent, db, validate_on_load=False)

    def odm(repository: Repository[IncludeParent]) -> Runner:
        async def include() -> int:
            found = await repository.find({"include": "children"})
            return sum(len(parent.children or ()) for parent in found)

        return include

    runners: dict[str, Runner] = {RAW: raw, ODM: odm(validated), ODM_TRUSTED: odm(trusted)}
    if beanie is not None:
        parent_class = beanie[0]

        async def fetch_links() -> int:
            found = await parent_class.find_all(fetch_links=True).to_list()
            return sum(len(parent.children) for parent in found)

        runners[BEANIE] = fetch_links
    return runners


async def _measure(runner: Runner) -> tuple[float, float, int]:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    result = await runner()
    return time.perf_counter() - wall, time.process_time() - cpu, result


async def _run(uri: str, parents: int, children: int, rounds: int, warmup: int) -> dict[str, Any]:
    beanie = beanie_models()
    client: Any = AsyncMongoClient(uri, tz_aware=True)
    try:
        await seed(client, parents, children, beanie is not None)
        if beanie is not None:
            from beanie import init_beanie

            await init_beanie(database=client[BEANIE_DATABASE], document_models=list(beanie))
        runners = await contenders(client, beanie)
        skipped: dict[str, str] = {} if beanie is not None else {BEANIE: "beanie is not installed"}
        if beanie is not None and not await matches_dbref_paths(client):
            skipped[BEANIE] = (
                "this server does not match Beanie's DBRef path 'parent.$id' (fetch_links "
                "would find no child); run with --uri on a MongoDB server to measure it"
            )
            del runners[BEANIE]
        names = list(runners)
        walls: dict[str, list[float]] = {name: [] for name in names}
        cpus: dict[str, list[float]] = {name: [] for name in names}
        for round_number in range(warmup + rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                wall, cpu, count = await _measure(runners[name])
                if count != parents * children:
                    raise AssertionError(f"{name}: {count} children, not {parents * children}")
                if round_number >= warmup:
                    walls[name].append(wall)
                    cpus[name].append(cpu)
        for name in (DATABASE, BEANIE_DATABASE):
            await client.drop_database(name)
    finally:
        await client.close()
    base_wall, base_cpu = statistics.median(walls[RAW]), statistics.median(cpus[RAW])
    results: dict[str, Any] = {
        "parents": parents,
        "children_per_parent": children,
        "rounds": rounds,
        "gc": "on",
        "contenders": {},
        "skipped": skipped,
    }
    for name in names:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        results["contenders"][name] = {
            "median_s": wall,
            "cpu_median_s": cpu,
            "ratio": wall / base_wall,
            "cpu_ratio": cpu / base_cpu if base_cpu else float("nan"),
        }
    return results


def run_include(
    *,
    uri: str | None = None,
    parents: int = 1000,
    children: int = 10,
    rounds: int = 5,
    warmup: int = 1,
) -> dict[str, Any]:
    """Run the include benchmark (on an embedded server when ``uri`` is None)."""
    if uri is not None:
        return asyncio.run(_run(uri, parents, children, rounds, warmup))
    from odm.embedded import EmbeddedServer

    with EmbeddedServer() as server:
        return asyncio.run(_run(server.uri, parents, children, rounds, warmup))


def render(results: dict[str, Any]) -> str:
    """The results as a markdown table (ratios to raw pymongo)."""
    lines = [
        f"include: {results['parents']:,} parents x {results['children_per_parent']} children, "
        f"median of {results['rounds']} rounds, gc on",
        "",
        "| contender | wall (ms) | wall ratio | client CPU (ms) | CPU ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in results["contenders"].items():
        lines.append(
            f"| {name} | {row['median_s'] * 1000:.1f} | {row['ratio']:.2f} | "
            f"{row['cpu_median_s'] * 1000:.1f} | {row['cpu_ratio']:.2f} |"
        )
    lines += [f"| {name} | skipped: {why} | | | |" for name, why in results["skipped"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--parents", type=int, default=1000)
    parser.add_argument("--children", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--uri", default=None)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    results = run_include(
        uri=args.uri,
        parents=args.parents,
        children=args.children,
        rounds=args.rounds,
        warmup=args.warmup,
    )
    print(json.dumps(results, indent=2) if args.json else render(results))


if __name__ == "__main__":
    main()
