"""``find_by_ids`` on every backend: the order of ``ids``, missing and uncoercible ids
left out, duplicates once, ``fields``/where/limit honoured, the default scope applied, one
query."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from bson import ObjectId

from odm import Entity, InvalidFilterError, Repository, model, prop
from odm.operations import HookPoints, Operation


@model(collection="fbi_items")
class Item(Entity):
    name: str
    size: int = prop(default=0, field_name="sz")
    secret: str = "s"


@model(collection="fbi_tokens")
class Token(Entity):
    id: uuid.UUID = prop(id=True, default_fn="uuidv4")
    label: str


@model(collection="fbi_scoped", scope={"where": {"live": True}})
class Live(Entity):
    name: str
    live: bool = True


class Counter(HookPoints):
    active = True

    def __init__(self) -> None:
        self.accesses = 0
        self.documents = 0

    async def access(self, operation: Operation) -> None:
        self.accesses += 1

    async def loaded(self, operation: Operation, document: Any) -> None:
        self.documents += 1


async def make(repo: Repository[Item]) -> list[Item]:
    return await repo.create_all([{"name": n, "size": i} for i, n in enumerate("abcd")])


async def test_in_the_order_of_ids_missing_ones_left_out(odm_db: Any) -> None:
    repo = Repository(Item, odm_db)
    a, _, c, d = await make(repo)
    absent = str(ObjectId())
    found = await repo.find_by_ids([c.id, absent, a.id, d.id])
    assert [item.name for item in found] == ["c", "a", "d"]
    assert [item.id for item in found] == [c.id, a.id, d.id]
    assert await repo.find_by_ids([]) == []
    assert await repo.find_by_ids([absent]) == []


async def test_ids_are_coerced_and_uncoercible_ones_are_missing(odm_db: Any) -> None:
    repo = Repository(Item, odm_db)
    a, b, _, _ = await make(repo)
    found = await repo.find_by_ids([ObjectId(b.id), "nope", {"$ne": None}, ["x"], None, a.id])
    assert [item.name for item in found] == ["b", "a"]


async def test_a_duplicate_id_gives_its_entity_once_at_its_first_place(odm_db: Any) -> None:
    repo = Repository(Item, odm_db)
    a, b, _, _ = await make(repo)
    found = await repo.find_by_ids([b.id, a.id, b.id, ObjectId(a.id)])
    assert [item.name for item in found] == ["b", "a"]


async def test_fields_where_and_limit_are_honoured(odm_db: Any) -> None:
    repo = Repository(Item, odm_db)
    a, b, c, d = await make(repo)
    found = await repo.find_by_ids([d.id, b.id], {"fields": ["name"]})
    assert [(item.id, item.name) for item in found] == [(d.id, "d"), (b.id, "b")]
    # the projection reaches the database as find_by_id's does
    alone = await repo.find_by_id(d.id, {"fields": ["name"]})
    assert found[0].model_dump() == alone.model_dump()
    filtered = await repo.find_by_ids([d.id, c.id, b.id, a.id], {"where": {"size": {"gte": 2}}})
    assert [item.name for item in filtered] == ["d", "c"]
    limited = await repo.find_by_ids([d.id, c.id, b.id, a.id], {"skip": 1, "limit": 2})
    assert [item.name for item in limited] == ["c", "b"]


async def test_uuid_ids(odm_db: Any) -> None:
    repo = Repository(Token, odm_db)
    one, two = await repo.create_all([{"label": "one"}, {"label": "two"}])
    found = await repo.find_by_ids([str(two.id), one.id, str(uuid.uuid4())])
    assert [token.label for token in found] == ["two", "one"]


async def test_the_default_scope_applies(odm_db: Any) -> None:
    repo = Repository(Live, odm_db)
    shown = await repo.create({"name": "shown"})
    gone = await repo.unscoped().create({"name": "gone", "live": False})
    assert [e.name for e in await repo.find_by_ids([gone.id, shown.id])] == ["shown"]
    assert [e.name for e in await repo.unscoped().find_by_ids([gone.id, shown.id])] == [
        "gone",
        "shown",
    ]


async def test_one_query_and_hook_points_once(odm_db: Any) -> None:
    repo = Repository(Item, odm_db)
    a, b, _, _ = await make(repo)
    counter = Counter()
    repo._hooks = counter
    queries: list[Any] = []
    find_all = repo._collection.find_all

    async def counted(query: Any, **options: Any) -> Any:
        queries.append(query)
        return await find_all(query, **options)

    repo._collection.find_all = counted  # type: ignore[method-assign]
    found = await repo.find_by_ids([b.id, a.id, str(ObjectId())])
    assert [item.name for item in found] == ["b", "a"]
    assert (counter.accesses, counter.documents, len(queries)) == (1, 2, 1)


async def test_ids_must_be_a_list(odm_db: Any) -> None:
    repo = Repository(Item, odm_db)
    with pytest.raises(InvalidFilterError):
        await repo.find_by_ids("65a1f0c2e4b0a1b2c3d4e5f6")  # type: ignore[arg-type]
    with pytest.raises(InvalidFilterError):
        await repo.find_by_ids({"$ne": None})
    with pytest.raises(InvalidFilterError):
        await repo.find_by_ids([], ["where"])  # type: ignore[arg-type]
    a, b, _, _ = await make(repo)
    assert [item.name for item in await repo.find_by_ids(i for i in (b.id, a.id))] == ["b", "a"]
