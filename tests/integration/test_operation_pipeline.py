"""Every repository method passes through the operation pipeline's points, in order.

No operation hooks exist yet; these tests stand in recording hook points for the
repository's (the seam the hooks will use) and check which points each path reaches,
with what context: per item in ``create_all``, once for bulk writes, per document in
``iterate``, and that a point that raises stops the operation before anything is written.
"""

from __future__ import annotations

from typing import Any

import pytest

from odm import Entity, Repository, model
from odm.drivers import Document
from odm.operations import HookPoints, Operation


@model(collection="pipeline_items")
class Item(Entity):
    name: str
    n: int = 0


class Recorder(HookPoints):
    """Hook points that record each call as ``"point operation detail"``."""

    active = True

    def __init__(self, *, fail_at: str | None = None) -> None:
        self.calls: list[str] = []
        self.contexts: list[Operation] = []
        self.fail_at = fail_at

    def record(self, point: str, operation: Operation, detail: str = "") -> None:
        self.calls.append(f"{point} {operation.name}{detail}".rstrip())
        self.contexts.append(operation)
        if point == self.fail_at:
            raise RuntimeError(f"{point} refused")

    async def access(self, operation: Operation) -> None:
        self.record("access", operation)

    async def before_save(self, operation: Operation) -> None:
        shown = operation.instance.name if operation.instance is not None else operation.data
        self.record("before_save", operation, f" {shown}")

    async def persist(self, operation: Operation, document: Document) -> None:
        self.record("persist", operation)

    async def after_save(self, operation: Operation) -> None:
        self.record("after_save", operation, f" new={operation.is_new_instance}")

    async def before_delete(self, operation: Operation) -> None:
        self.record("before_delete", operation)

    async def after_delete(self, operation: Operation) -> None:
        self.record("after_delete", operation)

    async def loaded(self, operation: Operation, document: Document) -> None:
        self.record("loaded", operation, f" {document['name']}")


def observed(repo: Repository[Item], recorder: Recorder) -> Repository[Item]:
    repo._hooks = recorder
    return repo


@pytest.fixture
async def items(odm_db: Any) -> Repository[Item]:
    repo = Repository(Item, odm_db)
    await repo.create_all([{"name": "a"}, {"name": "b"}, {"name": "c"}])
    return repo


async def test_create_runs_before_save_persist_after_save(items: Repository[Item]) -> None:
    recorder = Recorder()
    created = await observed(items, recorder).create({"name": "d"})
    assert recorder.calls == [
        "before_save create d",
        "persist create",
        "after_save create new=True",
    ]
    assert recorder.contexts[0].instance is created
    assert recorder.contexts[0].repository is items


async def test_create_all_runs_the_save_points_per_item(items: Repository[Item]) -> None:
    recorder = Recorder()
    await observed(items, recorder).create_all([{"name": "d"}, {"name": "e"}])
    assert recorder.calls == [
        "before_save create_all d",
        "persist create_all",
        "before_save create_all e",
        "persist create_all",
        "after_save create_all new=True",
        "after_save create_all new=True",
    ]


async def test_bulk_writes_run_their_points_once(items: Repository[Item]) -> None:
    recorder = Recorder()
    repo = observed(items, recorder)
    assert await repo.update_all({"n": 1}, {"name": {"inq": ["a", "b"]}}) == 2
    assert await repo.delete_all({"name": "c"}) == 1
    assert recorder.calls == [
        "access update_all",
        "before_save update_all {'n': 1}",
        "persist update_all",
        "after_save update_all new=None",
        "access delete_all",
        "before_delete delete_all",
        "after_delete delete_all",
    ]
    assert recorder.contexts[0].where == {"name": {"inq": ["a", "b"]}}


async def test_find_one_and_update_reaches_loaded(items: Repository[Item]) -> None:
    recorder = Recorder()
    claimed = await observed(items, recorder).find_one_and_update(
        {"n": 0}, {"n": 5}, order="name DESC"
    )
    assert claimed is not None and (claimed.name, claimed.n) == ("c", 5)
    assert recorder.calls == [
        "access find_one_and_update",
        "before_save find_one_and_update {'n': 5}",
        "persist find_one_and_update",
        "loaded find_one_and_update c",
        "after_save find_one_and_update new=None",
    ]


async def test_reads_run_access_then_loaded_per_document(items: Repository[Item]) -> None:
    recorder = Recorder()
    repo = observed(items, recorder)
    streamed = [item.name async for item in repo.iterate({"order": "name ASC"})]
    assert streamed == ["a", "b", "c"]
    found = await repo.find({"where": {"name": "b"}})
    assert [item.name for item in found] == ["b"]
    assert await repo.count() == 3
    assert await repo.exists(found[0].id)
    await repo.find_by_id(found[0].id)
    assert recorder.calls == [
        "access iterate",
        "loaded iterate a",
        "loaded iterate b",
        "loaded iterate c",
        "access find",
        "loaded find b",
        "access count",
        "access exists",
        "access find_by_id",
        "loaded find_by_id b",
    ]
    assert recorder.contexts[0].query == {"order": "name ASC"}
    assert recorder.contexts[-1].id == found[0].id


async def test_by_id_writes_run_access_and_their_save_or_delete_points(
    items: Repository[Item],
) -> None:
    recorder = Recorder()
    repo = observed(items, recorder)
    item = await repo.find_one({"where": {"name": "a"}})
    assert item is not None
    await repo.update_by_id(item.id, {"n": 2})
    await repo.replace_by_id(item.id, {"name": "a2"})
    await repo.delete_by_id(item.id)
    assert recorder.calls[2:] == [
        "access update_by_id",
        "before_save update_by_id {'n': 2}",
        "persist update_by_id",
        "after_save update_by_id new=False",
        "access replace_by_id",
        "before_save replace_by_id a2",
        "persist replace_by_id",
        "after_save replace_by_id new=False",
        "access delete_by_id",
        "before_delete delete_by_id",
        "after_delete delete_by_id",
    ]


@pytest.mark.parametrize("point", ["before_save", "persist"])
async def test_a_point_that_raises_stops_the_write_before_anything_is_stored(
    items: Repository[Item], point: str
) -> None:
    repo = observed(items, Recorder(fail_at=point))
    with pytest.raises(RuntimeError, match="refused"):
        await repo.create_all([{"name": "d"}, {"name": "e"}])
    with pytest.raises(RuntimeError, match="refused"):
        await repo.update_all({"n": 9})
    stored = sorted([(doc["name"], doc["n"]) async for doc in items.collection.find({})])
    assert stored == [("a", 0), ("b", 0), ("c", 0)]


async def test_without_hooks_no_point_is_called(items: Repository[Item]) -> None:
    assert items._hooks.active is False
    assert [item.name for item in await items.find({"order": "name ASC"})] == ["a", "b", "c"]


async def test_find_or_create_runs_each_point_once(items: Repository[Item]) -> None:
    recorder = Recorder()
    repo = observed(items, recorder)
    made, created = await repo.find_or_create({"name": "d"}, {"n": 4})
    found, created_again = await repo.find_or_create({"name": "d"}, {"n": 5})
    assert (created, created_again, found.id, found.n) == (True, False, made.id, 4)
    assert recorder.calls == [
        "access find_or_create",
        "before_save find_or_create d",
        "persist find_or_create",
        "after_save find_or_create new=True",
        "access find_or_create",
        "before_save find_or_create d",
        "persist find_or_create",
        "loaded find_or_create d",
        "after_save find_or_create new=False",
    ]
    assert recorder.contexts[0].where == {"name": "d"}


async def test_upserts_run_each_point_once(items: Repository[Item]) -> None:
    recorder = Recorder()
    repo = observed(items, recorder)
    created = await repo.upsert({"name": "d"})
    await repo.upsert({"id": created.id, "n": 3})
    await repo.replace_or_create({"id": created.id, "name": "d2"})
    await repo.upsert_with_where({"name": "d2"}, {"n": 7})
    assert recorder.calls == [
        "access upsert",
        "before_save upsert d",
        "persist upsert",
        "after_save upsert new=True",
        "access upsert",
        "before_save upsert {'n': 3}",
        "persist upsert",
        "loaded upsert d",
        "after_save upsert new=False",  # the update alone could run (force_id)
        "access replace_or_create",
        "before_save replace_or_create d2",
        "persist replace_or_create",
        "after_save replace_or_create new=False",
        "access upsert_with_where",
        "before_save upsert_with_where {'n': 7}",
        "persist upsert_with_where",
        "loaded upsert_with_where d2",
        "after_save upsert_with_where new=False",
    ]
    assert recorder.contexts[4].id is not None


async def test_find_by_ids_runs_access_once_and_loaded_per_document(
    items: Repository[Item],
) -> None:
    recorder = Recorder()
    repo = observed(items, recorder)
    ids = [item.id for item in await items.find({"order": "name DESC"})]
    recorder.calls.clear()
    found = await repo.find_by_ids(ids)
    assert [item.name for item in found] == ["c", "b", "a"]
    assert recorder.calls[0] == "access find_by_ids"
    assert sorted(recorder.calls[1:]) == [
        "loaded find_by_ids a",
        "loaded find_by_ids b",
        "loaded find_by_ids c",
    ]


@pytest.mark.parametrize("point", ["before_save", "persist"])
async def test_a_point_that_raises_stops_an_upsert_before_anything_is_stored(
    items: Repository[Item], point: str
) -> None:
    repo = observed(items, Recorder(fail_at=point))
    with pytest.raises(RuntimeError, match="refused"):
        await repo.find_or_create({"name": "z"})
    with pytest.raises(RuntimeError, match="refused"):
        await repo.upsert_with_where({"name": "a"}, {"n": 9})
    stored = sorted([(doc["name"], doc["n"]) async for doc in items.collection.find({})])
    assert stored == [("a", 0), ("b", 0), ("c", 0)]
