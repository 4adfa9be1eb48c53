"""``@model(timestamps=...)`` on every backend and every write path: ``created_at`` set
once on insert (upserts through ``$setOnInsert``), ``updated_at`` on every write, both
UTC at millisecond precision and equal to what is stored (read back raw); caller values
refused with ``absence`` and nothing written; renamed and field-mapped properties."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

from odm import Entity, Repository, ValidationError, model, prop


@model(collection="ts_notes", timestamps=True)
class Note(Entity):
    title: str
    n: int = 0


@model(collection="ts_renamed", timestamps={"created": "created", "updated": "modified"})
class Renamed(Entity):
    title: str
    created: datetime | None = prop(field_name="createdAt")


@model(collection="ts_only_updated", timestamps={"created": None})
class OnlyUpdated(Entity):
    title: str


#: a creation time far in the past, written raw, so a write that kept it is visible
LONG_AGO = datetime(2020, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def utc(value: Any) -> Any:
    """A stored date as odm reads it (mongomock and some clients give naive UTC)."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and not value.tzinfo else value


async def stored(repo: Repository[Any], id: str) -> dict[str, Any]:
    doc = await repo.collection.find_one({"_id": ObjectId(id)})
    assert doc is not None
    return {key: utc(value) for key, value in doc.items()}


async def seeded(repo: Repository[Any]) -> str:
    """A stored note created long ago (written raw)."""
    oid = ObjectId()
    await repo.collection.insert_one(
        {"_id": oid, "title": "old", "n": 0, "created_at": LONG_AGO, "updated_at": LONG_AGO}
    )
    return str(oid)


def assert_fresh(value: Any, before: datetime) -> None:
    assert isinstance(value, datetime) and value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
    assert value.microsecond % 1000 == 0
    assert before - timedelta(milliseconds=1) <= value <= datetime.now(UTC)


Write = Callable[[Repository[Note], str], Awaitable[Note | None]]


async def _save(repo: Repository[Note], id: str) -> Note:
    note = await repo.find_by_id(id)
    note.title = "saved"
    return await repo.save(note)


async def _replace_dict(repo: Repository[Note], id: str) -> None:
    await repo.replace_by_id(id, {"title": "replaced"})


async def _replace_entity(repo: Repository[Note], id: str) -> Note:
    note = await repo.find_by_id(id)
    await repo.replace_by_id(id, note)
    return note


async def _update_entity(repo: Repository[Note], id: str) -> Note:
    note = await repo.find_by_id(id)
    note.n = 5
    await repo.update(note)
    return note


async def _update_by_id(repo: Repository[Note], id: str) -> None:
    await repo.update_by_id(id, {"n": 1})


async def _update_all(repo: Repository[Note], id: str) -> None:
    assert await repo.update_all({"n": 2}, {"title": "old"}) == 1


async def _find_one_and_update(repo: Repository[Note], id: str) -> Note | None:
    return await repo.find_one_and_update({"title": "old"}, {"n": 3})


async def _upsert(repo: Repository[Note], id: str) -> Note:
    return await repo.upsert({"id": id, "n": 4})


async def _upsert_with_where(repo: Repository[Note], id: str) -> Note:
    return await repo.upsert_with_where({"title": "old"}, {"n": 6})


async def _replace_or_create(repo: Repository[Note], id: str) -> Note:
    return await repo.replace_or_create({"id": id, "title": "again"})


UPDATES: dict[str, Write] = {
    "save": _save,
    "replace_by_id(dict)": _replace_dict,
    "replace_by_id(entity)": _replace_entity,
    "update(entity)": _update_entity,
    "update_by_id": _update_by_id,
    "update_all": _update_all,
    "find_one_and_update": _find_one_and_update,
    "upsert": _upsert,
    "upsert_with_where": _upsert_with_where,
    "replace_or_create": _replace_or_create,
}


@pytest.mark.parametrize("path", list(UPDATES))
async def test_every_update_path_keeps_created_at_and_stamps_updated_at(
    odm_db: Any, path: str
) -> None:
    repo = Repository(Note, odm_db)
    id = await seeded(repo)
    before = datetime.now(UTC)
    returned = await UPDATES[path](repo, id)
    doc = await stored(repo, id)
    assert doc["created_at"] == LONG_AGO
    assert_fresh(doc["updated_at"], before)
    if returned is not None:
        assert (returned.created_at, returned.updated_at) == (LONG_AGO, doc["updated_at"])


async def _create(repo: Repository[Note]) -> Note:
    return await repo.create({"title": "new"})


async def _create_all(repo: Repository[Note]) -> Note:
    return (await repo.create_all([{"title": "new"}, {"title": "other"}]))[0]


async def _save_new(repo: Repository[Note]) -> Note:
    note = Note(title="new")
    await repo.save(note)
    return note  # the caller's instance gets the id and the stamps


async def _find_or_create(repo: Repository[Note]) -> Note:
    return (await repo.find_or_create({"title": "new"}))[0]


async def _upsert_insert(repo: Repository[Note]) -> Note:
    found = await repo.find_one_and_update({"title": "new"}, {"n": 1}, upsert=True)
    assert found is not None
    return found


async def _upsert_with_where_insert(repo: Repository[Note]) -> Note:
    return await repo.upsert_with_where({"title": "new"}, {"n": 1})


async def _upsert_without_id(repo: Repository[Note]) -> Note:
    return await repo.upsert({"title": "new"})


INSERTS: dict[str, Callable[[Repository[Note]], Awaitable[Note]]] = {
    "create": _create,
    "create_all": _create_all,
    "save(new)": _save_new,
    "find_or_create": _find_or_create,
    "find_one_and_update(upsert)": _upsert_insert,
    "upsert_with_where(insert)": _upsert_with_where_insert,
    "upsert(no id)": _upsert_without_id,
}


async def test_every_insert_path_sets_both_to_the_stored_write_time(odm_db: Any) -> None:
    repo = Repository(Note, odm_db)
    for path, insert in INSERTS.items():  # one database for the table: cheaper
        before = datetime.now(UTC)
        entity = await insert(repo)
        doc = await stored(repo, entity.id)
        assert_fresh(doc["created_at"], before)
        assert doc["updated_at"] == doc["created_at"], path
        assert (entity.created_at, entity.updated_at) == (doc["created_at"], doc["updated_at"])
        shown = doc["created_at"].isoformat().replace("+00:00", "Z")
        assert entity.to_json()["created_at"] == shown, path
        await repo.collection.delete_many({})


def _refusals(id: str) -> dict[str, Callable[[Repository[Note]], Awaitable[Any]]]:
    given = datetime(2021, 1, 1, tzinfo=UTC)
    return {
        "create": lambda r: r.create({"title": "x", "created_at": given}),
        "create(instance)": lambda r: r.create(Note(title="x", updated_at=given)),
        "create_all": lambda r: r.create_all([{"title": "x"}, {"title": "y", "updated_at": given}]),
        "update_by_id": lambda r: r.update_by_id(id, {"updated_at": given}),
        "update_all": lambda r: r.update_all({"n": 1, "created_at": given}),
        "find_one_and_update": lambda r: r.find_one_and_update({}, {"updated_at": given}),
        "upsert_with_where": lambda r: r.upsert_with_where({"title": "z"}, {"created_at": given}),
        "find_or_create": lambda r: r.find_or_create({"title": "z"}, {"created_at": given}),
        "$currentDate": lambda r: Repository(
            Note, r.database, allow_extended_operators=True
        ).update_by_id(id, {"$currentDate": {"updated_at": True}}),
        "replace_by_id(other created_at)": lambda r: r.replace_by_id(
            id, {"title": "x", "created_at": given}
        ),
    }


async def test_caller_values_are_refused_with_absence_and_nothing_is_written(
    odm_db: Any,
) -> None:
    repo = Repository(Note, odm_db)
    id = await seeded(repo)
    before = [doc async for doc in repo.collection.find({})]
    for path, write in _refusals(id).items():
        with pytest.raises(ValidationError) as caught:
            await write(repo)
        assert "absence" in caught.value.codes, path
        assert [doc async for doc in repo.collection.find({})] == before, path


async def test_renamed_and_mapped_timestamps_are_stored_under_their_field_names(
    odm_db: Any,
) -> None:
    repo = Repository(Renamed, odm_db)
    entity = await repo.create({"title": "a"})
    doc = await stored(repo, entity.id)
    assert set(doc) == {"_id", "title", "createdAt", "modified"}
    assert doc["createdAt"] == doc["modified"] == entity.created == entity.modified
    await repo.update_by_id(entity.id, {"title": "b"})
    later = await stored(repo, entity.id)
    assert later["createdAt"] == doc["createdAt"] and later["modified"] >= doc["modified"]
    assert (await repo.find_by_id(entity.id)).modified == later["modified"]


async def test_a_timestamp_left_out_is_neither_declared_nor_stored(odm_db: Any) -> None:
    repo = Repository(OnlyUpdated, odm_db)
    entity = await repo.create({"title": "a"})
    assert "created_at" not in OnlyUpdated.model_fields
    assert set(await stored(repo, entity.id)) == {"_id", "title", "updated_at"}


@model(collection="ts_codes", timestamps=True, version=True)
class Code(Entity):
    id: str = prop(id=True)
    label: str


async def test_replace_or_create_with_a_chosen_id_inserts_then_keeps_created_at(
    odm_db: Any,
) -> None:
    repo = Repository(Code, odm_db)
    inserted = await repo.replace_or_create({"id": "c1", "label": "a"})
    first = await repo.collection.find_one({"_id": "c1"})
    assert (first["version"], utc(first["created_at"])) == (1, inserted.created_at)
    assert first["created_at"] == first["updated_at"]
    replaced = await repo.replace_or_create({"id": "c1", "label": "b"})
    second = await repo.collection.find_one({"_id": "c1"})
    assert (second["label"], second["version"]) == ("b", 2)
    assert second["created_at"] == first["created_at"] and replaced.version == 2
    assert utc(second["updated_at"]) == replaced.updated_at >= inserted.updated_at
