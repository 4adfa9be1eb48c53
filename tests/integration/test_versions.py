"""``@model(version=...)`` on every backend: the version starts at 1, every write
increments it (read back raw), a write carrying a version succeeds only when it is the
stored one (``ConflictError`` with ``expected``/``actual``, nothing written; a missing
entity is still ``EntityNotFoundError``), and of two concurrent saves of one loaded
entity exactly one wins. A hypothesis property checks the count after any writes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odm import (
    ConflictError,
    Entity,
    EntityNotFoundError,
    ODMError,
    Repository,
    ValidationError,
    model,
    prop,
)


@model(collection="v_docs", version=True, timestamps=True)
class Doc(Entity):
    title: str
    n: int = 0


@model(collection="v_revs", version="rev")
class Rev(Entity):
    title: str
    rev: int | None = prop(field_name="_rev")


async def stored(repo: Repository[Any], id: str) -> dict[str, Any]:
    doc = await repo.collection.find_one({"_id": ObjectId(id)})
    assert doc is not None
    return dict(doc)


async def test_create_starts_at_one_and_refuses_a_caller_version(odm_db: Any) -> None:
    repo = Repository(Doc, odm_db)
    doc = await repo.create({"title": "a"})
    assert doc.version == 1 and (await stored(repo, doc.id))["version"] == 1
    with pytest.raises(ValidationError) as caught:
        await repo.create({"title": "b", "version": 7})
    assert [(d["path"], d["code"]) for d in caught.value.details] == [("version", "absence")]
    assert await repo.count() == 1


Write = Callable[[Repository[Doc], Doc], Awaitable[Any]]

WRITES: dict[str, Write] = {
    "save": lambda r, d: r.save(d),
    "update(entity)": lambda r, d: r.update(d),
    "replace_by_id(entity)": lambda r, d: r.replace_by_id(d.id, d),
    "replace_by_id(dict, no version)": lambda r, d: r.replace_by_id(d.id, {"title": "r"}),
    "update_by_id(no version)": lambda r, d: r.update_by_id(d.id, {"n": 1}),
    "update_by_id(version)": lambda r, d: r.update_by_id(d.id, {"n": 1, "version": d.version}),
    "update_all": lambda r, d: r.update_all({"n": 2}),
    "find_one_and_update": lambda r, d: r.find_one_and_update({"title": "a"}, {"n": 3}),
    "upsert": lambda r, d: r.upsert({"id": d.id, "n": 4}),
    "upsert_with_where": lambda r, d: r.upsert_with_where({"title": "a"}, {"n": 5}),
    "replace_or_create": lambda r, d: r.replace_or_create(d),
}


async def test_every_write_path_increments_the_version(odm_db: Any) -> None:
    repo = Repository(Doc, odm_db)
    for path, write in WRITES.items():  # one database for the table: cheaper
        created = await repo.create({"title": "a"})
        loaded = await repo.find_by_id(created.id)
        returned = await write(repo, loaded)
        assert (await stored(repo, created.id))["version"] == 2, path
        if isinstance(returned, Doc):
            assert returned.version == 2, path
        if path in ("save", "update(entity)", "replace_by_id(entity)", "replace_or_create"):
            assert loaded.version == 2, path  # the caller's entity carries the stored version
        await repo.save(await repo.find_by_id(created.id))  # and the next write checks it
        assert (await stored(repo, created.id))["version"] == 3, path
        await repo.collection.delete_many({})


STALE: dict[str, Write] = {
    "save": lambda r, d: r.save(d),
    "update(entity)": lambda r, d: r.update(d),
    "replace_by_id(dict)": lambda r, d: r.replace_by_id(d.id, {"title": "x", "version": 1}),
    "update_by_id": lambda r, d: r.update_by_id(d.id, {"title": "x", "version": 1}),
}


async def test_a_stale_version_is_a_conflict_and_nothing_is_written(odm_db: Any) -> None:
    repo = Repository(Doc, odm_db)
    for path, write in STALE.items():
        stale = await repo.create({"title": "a"})
        await repo.update_by_id(stale.id, {"n": 9})
        before = await stored(repo, stale.id)
        stale.title = "x"
        with pytest.raises(ConflictError) as caught:
            await write(repo, stale)
        error = caught.value
        assert (error.model, error.id, error.expected, error.actual) == ("Doc", stale.id, 1, 2)
        assert isinstance(error, ODMError)
        assert "version 1" in str(error) and "stored version is 2" in str(error)
        assert await stored(repo, stale.id) == before, path
        assert stale.version == 1, path


async def test_a_missing_entity_is_not_found_not_a_conflict(odm_db: Any) -> None:
    repo = Repository(Doc, odm_db)
    missing = str(ObjectId())
    with pytest.raises(EntityNotFoundError):
        await repo.update_by_id(missing, {"n": 1, "version": 1})
    with pytest.raises(EntityNotFoundError):
        await repo.replace_by_id(missing, {"title": "x", "version": 1})


async def test_bulk_writes_and_upserts_increment_without_a_check_and_refuse_a_version(
    odm_db: Any,
) -> None:
    repo = Repository(Doc, odm_db)
    docs = await repo.create_all([{"title": "a"}, {"title": "b"}])
    await repo.update_by_id(docs[0].id, {"n": 1})
    assert await repo.update_all({"n": 5}) == 2
    assert [(await stored(repo, d.id))["version"] for d in docs] == [3, 2]
    for call in (
        lambda: repo.update_all({"n": 6, "version": 3}),
        lambda: repo.find_one_and_update({}, {"version": 3}),
        lambda: repo.upsert({"id": docs[0].id, "n": 7, "version": 3}),  # cannot check it
        lambda: Repository(Doc, odm_db, allow_extended_operators=True).update_all(
            {"$inc": {"version": 10}}
        ),
    ):
        with pytest.raises(ValidationError) as caught:
            await call()
        assert caught.value.codes == ["absence"]
    assert [(await stored(repo, d.id))["version"] for d in docs] == [3, 2]


async def test_a_renamed_mapped_version_property(odm_db: Any) -> None:
    repo = Repository(Rev, odm_db)
    rev = await repo.create({"title": "a"})
    assert (await stored(repo, rev.id))["_rev"] == 1 and rev.rev == 1
    await repo.save(rev)
    with pytest.raises(ConflictError):
        await repo.update_by_id(rev.id, {"title": "b", "rev": 1})
    assert (await stored(repo, rev.id))["_rev"] == 2


async def test_of_two_concurrent_saves_of_one_loaded_entity_exactly_one_wins(
    odm_db: Any,
) -> None:
    repo = Repository(Doc, odm_db)
    created = await repo.create({"title": "a"})
    first, second = await repo.find_by_id(created.id), await repo.find_by_id(created.id)
    first.title, second.title = "first", "second"
    results = await asyncio.gather(repo.save(first), repo.save(second), return_exceptions=True)
    winners = [r for r in results if isinstance(r, Doc)]
    losers = [r for r in results if isinstance(r, ConflictError)]
    assert (len(winners), len(losers)) == (1, 1)
    doc = await stored(repo, created.id)
    assert (doc["version"], doc["title"]) == (2, winners[0].title)
    assert (losers[0].expected, losers[0].actual) == (1, 2)
    claims = await asyncio.gather(
        *(repo.update_by_id(created.id, {"n": n, "version": 2}) for n in range(5)),
        return_exceptions=True,
    )
    assert sum(result is None for result in claims) == 1
    assert all(isinstance(r, ConflictError) for r in claims if r is not None)
    assert (await stored(repo, created.id))["version"] == 3


#: one step: (write, whether it uses a copy loaded before the previous steps)
steps = st.lists(
    st.tuples(
        st.sampled_from(["save", "update", "update_by_id", "update_all", "replace", "faou"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=steps)
async def test_the_version_counts_the_successful_writes(
    odm_db: Any, program: list[tuple[str, bool]]
) -> None:
    repo = Repository(Doc, odm_db)
    await repo.collection.delete_many({})
    doc = await repo.create({"title": "a"})
    successes = 0
    stale = await repo.find_by_id(doc.id)
    for kind, use_stale in program:
        current = stale if use_stale else await repo.find_by_id(doc.id)
        current.n += 1
        try:
            if kind == "save":
                await repo.save(current)
            elif kind == "update":
                await repo.update(current)
            elif kind == "update_by_id":
                await repo.update_by_id(doc.id, {"n": current.n, "version": current.version})
            elif kind == "update_all":
                await repo.update_all({"n": current.n})
            elif kind == "replace":
                await repo.replace_by_id(doc.id, {"title": "r", "version": current.version})
            else:
                await repo.find_one_and_update({}, {"n": current.n})
        except ConflictError as error:
            assert use_stale and error.expected == current.version
            continue
        successes += 1
    raw = await stored(repo, doc.id)
    assert raw["version"] == 1 + successes
    created, updated = (
        raw[k].replace(tzinfo=UTC) if raw[k].tzinfo is None else raw[k]
        for k in ("created_at", "updated_at")
    )
    assert created <= updated <= datetime.now(UTC)
