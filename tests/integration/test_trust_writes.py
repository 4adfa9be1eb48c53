"""The write side of the trust boundary, on every backend: what an attacker's body cannot
do through create, create_all, replace, update_all, update_by_id and find_one_and_update
(upserts included). Each test reads back what is stored with the raw driver."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from bson import ObjectId

from odm import DuplicateKeyError, Entity, Model, Repository, ValidationError, model, prop


@model(strict=False)
class LooseOwner(Model):
    name: str = ""
    tenant: str = prop(default="a", field_name="t")


@model(collection="tw_loose", strict=False, scope={"where": {"tenant": "a"}})
class LooseRow(Entity):
    name: str = ""
    tenant: str = prop(default="a", field_name="t")
    age: int = prop(default=0, field_name="ag")
    owner: LooseOwner | None = None


@model()
class Owner(Model):
    name: str = ""
    tenant: str = "a"


@model(collection="tw_owned", scope={"where": {"owner.tenant": "a"}})
class Owned(Entity):
    label: str = ""
    owner: Owner | None = None


@model(collection="tw_jobs", scope={"where": {"tenant": "t1"}})
class Job(Entity):
    name: str = prop(json_schema={"maxLength": 10})
    state: str = "new"
    attempts: int = 0
    tenant: str = "t1"
    token: str = prop(default_fn="uuidv4")
    created: datetime = prop(default_fn="now")
    tags: list[str] = prop(default_factory=list)


@model(collection="tw_blobs", hidden_properties=["secret"])
class Blob(Entity):
    name: str = ""
    data: Any = None
    extra: dict[str, Any] = prop(default_factory=dict)
    secret: str | None = None


@model(collection="tw_stock")
class Stock(Entity):
    sku: str
    count: int = prop(json_schema={"minimum": 0, "maximum": 10})


async def stored(repo: Repository[Any]) -> list[dict[str, Any]]:
    return [doc async for doc in repo.collection.find({})]


def codes(error: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(d["path"], d["code"]) for d in error.value.details]


# --- 2: strict=False extras never take a declared property's field name ------------------


async def test_an_extra_named_like_a_mapped_field_is_refused_on_create(odm_db: Any) -> None:
    rows = Repository(LooseRow, odm_db)
    with pytest.raises(ValidationError) as error:
        await rows.create({"name": "x", "t": "b"})
    assert codes(error) == [("t", "invalid-name")]
    assert await stored(rows) == []


async def test_an_extra_named_like_a_mapped_field_is_refused_on_updates(odm_db: Any) -> None:
    rows = Repository(LooseRow, odm_db, allow_extended_operators=True)
    row = await rows.create({"name": "x", "color": "red"})
    for data in ({"ag": "not-an-int"}, {"$set": {"ag": "not-an-int"}}, {"$set": {"t": "b"}}):
        with pytest.raises(ValidationError) as error:
            await rows.update_all(data)
        assert [code for _, code in codes(error)] == ["invalid-name"]
        with pytest.raises(ValidationError):
            await rows.update_by_id(row.id, data)
        with pytest.raises(ValidationError):
            await rows.find_one_and_update({"name": "x"}, data)
    with pytest.raises(ValidationError) as error:
        await rows.replace_by_id(row.id, {"name": "y", "ag": "x"})
    assert codes(error) == [("ag", "invalid-name")]
    [doc] = await stored(rows)
    assert doc == {"_id": ObjectId(row.id), "name": "x", "t": "a", "ag": 0, "owner": None,
                   "color": "red"}  # fmt: skip
    assert [r.name for r in await rows.find()] == ["x"]


async def test_extras_in_embedded_models_cannot_take_field_names_or_id(odm_db: Any) -> None:
    rows = Repository(LooseRow, odm_db)
    for owner in ({"name": "o", "t": "b"}, {"name": "o", "_id": "x"}):
        with pytest.raises(ValidationError) as error:
            await rows.create({"name": "x", "owner": owner})
        assert [code for _, code in codes(error)] == ["invalid-name"]
        with pytest.raises(ValidationError):
            await rows.update_all({"owner": owner})
    assert await stored(rows) == []


# --- 4: scope equalities on dotted paths --------------------------------------------------


async def test_dotted_scope_equalities_are_create_defaults(odm_db: Any) -> None:
    owned = Repository(Owned, odm_db)
    await owned.create({"label": "plain"})
    await owned.create({"label": "named", "owner": {"name": "o"}})
    docs = await stored(owned)
    assert [doc["owner"] for doc in docs] == [
        {"name": "", "tenant": "a"},
        {"name": "o", "tenant": "a"},
    ]


async def test_dotted_scope_equalities_conflict_on_every_other_write(odm_db: Any) -> None:
    owned = Repository(Owned, odm_db, allow_extended_operators=True)
    kept = await owned.create({"label": "kept"})
    outside = [
        {"owner": {"tenant": "b"}},
        {"owner": None},
        {"$set": {"owner.tenant": "b"}},
        {"$set": {"owner": {"name": "n", "tenant": "b"}}},
        {"$unset": {"owner": ""}},
        {"$unset": {"owner.tenant": ""}},
    ]
    with pytest.raises(ValidationError) as error:
        await owned.create({"label": "x", "owner": {"tenant": "b"}})
    assert codes(error) == [("owner.tenant", "scope-conflict")]
    for data in outside:
        with pytest.raises(ValidationError) as error:
            await owned.update_all(data)
        assert [code for _, code in codes(error)] == ["scope-conflict"], data
        with pytest.raises(ValidationError):
            await owned.update_by_id(kept.id, data)
        with pytest.raises(ValidationError):
            await owned.find_one_and_update({}, data)
    for replacement in ({"label": "r", "owner": {"tenant": "b"}}, {"label": "r", "owner": None}):
        with pytest.raises(ValidationError) as error:
            await owned.replace_by_id(kept.id, replacement)
        assert codes(error) == [("owner.tenant", "scope-conflict")]
    await owned.update_by_id(kept.id, {"owner": {"name": "new", "tenant": "a"}})
    [doc] = await stored(owned)
    assert doc["owner"] == {"name": "new", "tenant": "a"}
    assert await owned.count() == 1


# --- 5: the insert branch of an upsert is validated as a create ---------------------------


async def test_an_upsert_inserts_a_validated_create(odm_db: Any) -> None:
    jobs = Repository(Job, odm_db)
    job = await jobs.find_one_and_update({"name": "fresh"}, {"state": "queued"}, upsert=True)
    assert job is not None and job.name == "fresh" and job.state == "queued"
    [doc] = await stored(jobs)
    assert set(doc) == {"_id", "name", "state", "attempts", "tenant", "token", "created", "tags"}
    assert doc["tenant"] == "t1" and doc["attempts"] == 0 and doc["tags"] == []
    assert isinstance(doc["_id"], ObjectId) and len(doc["token"]) == 36
    # a second call updates the same document: generators do not run again
    again = await jobs.find_one_and_update({"name": "fresh"}, {"state": "done"}, upsert=True)
    assert again is not None and again.token == job.token and await jobs.count() == 1


async def test_an_upsert_refuses_what_a_create_refuses(odm_db: Any) -> None:
    jobs = Repository(Job, odm_db, allow_extended_operators=True)
    chosen = str(ObjectId())
    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        ({"id": chosen}, {"name": "n"}, "absence"),  # forceId: a caller-chosen id
        ({"state": "x"}, {"attempts": 1}, "presence"),  # name is required
        ({"name": "far too long a name"}, {"state": "x"}, "maxLength"),
        ({"state": "x"}, {"name": "n", "tenant": "t2"}, "scope-conflict"),
        ({"state": "x"}, {"$set": {"name": 5}}, "type"),
    ]
    for where, data, code in cases:
        with pytest.raises(ValidationError) as error:
            await jobs.find_one_and_update(where, data, upsert=True)
        assert code in [c for _, c in codes(error)], (where, data)
    assert await stored(jobs) == []


async def test_an_upsert_with_operators_stores_a_loadable_document(odm_db: Any) -> None:
    jobs = Repository(Job, odm_db, allow_extended_operators=True)
    job = await jobs.find_one_and_update(
        {"name": "ops"}, {"$inc": {"attempts": 2}, "$push": {"tags": "a"}}, upsert=True
    )
    assert job is not None and (job.attempts, job.tags, job.tenant) == (2, ["a"], "t1")
    [doc] = await stored(jobs)
    assert doc["attempts"] == 2 and doc["tags"] == ["a"] and doc["state"] == "new"
    assert [j.name for j in await jobs.find()] == ["ops"]


# --- 6: extended operators keep the property's type ----------------------------------------


async def test_operators_that_would_break_a_type_are_refused(odm_db: Any) -> None:
    jobs = Repository(Job, odm_db, allow_extended_operators=True)
    job = await jobs.create({"name": "j"})
    refused = [
        ({"$inc": {"attempts": 0.5}}, "type"),
        ({"$mul": {"attempts": 1.5}}, "type"),
        ({"$currentDate": {"name": True}}, "type"),
        ({"$push": {"tags": 5}}, "type"),
        ({"$unset": {"name": ""}}, "presence"),
        ({"$pop": {"tags": 2}}, "type"),
        ({"$pullAll": {"tags": [1]}}, "type"),
        ({"$rename": {"name": "label"}}, "invalid-operator"),
        ({"$setOnInsert": {"name": "x"}}, "invalid-operator"),
        ({"state": "a", "$set": {"state": "b"}}, "conflicting-update"),
        ({"$inc": {"attempts": 1}, "$mul": {"attempts": 2}}, "conflicting-update"),
    ]
    for data, code in refused:
        with pytest.raises(ValidationError) as error:
            await jobs.update_by_id(job.id, data)
        assert code in [c for _, c in codes(error)], data
    [doc] = await stored(jobs)
    assert (doc["attempts"], doc["name"], doc["tags"]) == (0, "j", [])
    await jobs.update_by_id(job.id, {"$inc": {"attempts": 2}, "$pop": {"tags": 1}})
    assert [(j.attempts, j.tags) for j in await jobs.find()] == [(2, [])]


# --- 8, 11: nesting and size limits, before any I/O ----------------------------------------


def nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"k": value}
    return value


async def test_data_nested_deeper_than_the_limit_is_too_deep(odm_db: Any) -> None:
    blobs = Repository(Blob, odm_db, allow_extended_operators=True)
    blob = await blobs.create({"name": "ok", "extra": nested(50)})
    deep = nested(1000)
    for write in (
        lambda: blobs.create({"extra": deep}),
        lambda: blobs.create_all([{"name": "fine"}, {"data": [deep]}]),
        lambda: blobs.replace_by_id(blob.id, {"extra": deep}),
        lambda: blobs.update_by_id(blob.id, {"extra": deep}),
        lambda: blobs.update_all({"$set": {"extra.k": deep}}),
    ):
        with pytest.raises(ValidationError) as error:
            await write()
        assert [code for _, code in codes(error)] == ["too-deep"]
    assert len(await stored(blobs)) == 1


async def test_a_document_over_16_mib_is_refused_before_any_io(odm_db: Any) -> None:
    blobs = Repository(Blob, odm_db)
    big = "x" * (17 * 1024 * 1024)
    with pytest.raises(ValidationError) as error:
        await blobs.create({"name": "big", "data": big})
    assert codes(error) == [("", "document-too-large")]
    with pytest.raises(ValidationError) as error:
        await blobs.create_all([{"name": "small"}, {"name": "big", "data": big}])
    assert codes(error) == [("1", "document-too-large")]
    assert await stored(blobs) == []  # create_all wrote nothing
    small = await blobs.create({"name": "small"})
    with pytest.raises(ValidationError):
        await blobs.replace_by_id(small.id, {"name": "big", "data": big})
    with pytest.raises(ValidationError):
        await blobs.update_by_id(small.id, {"data": big})
    [doc] = await stored(blobs)
    assert doc["data"] is None


# --- 12 and hidden values in errors ------------------------------------------------------


async def test_hidden_values_never_reach_repr_or_errors(odm_db: Any) -> None:
    blobs = Repository(Blob, odm_db)
    blob = await blobs.create({"name": "n", "secret": "s3cret-value"})
    [loaded] = await blobs.find()
    for shown in (repr(blob), str(blob), repr(loaded), str(loaded)):
        assert "s3cret-value" not in shown and "name='n'" in shown
    with pytest.raises(ValidationError) as error:
        await blobs.create({"name": "n", "secret": ["s3cret-list"]})
    assert codes(error) == [("secret", "type")]
    assert error.value.details[0]["value"] is None
    assert "s3cret-list" not in str(error.value)


@model(collection="tw_keys", hidden_properties=["api_key"])
class Keyed(Entity):
    name: str = ""
    api_key: str = prop(unique=True)


async def test_a_duplicate_hidden_value_is_not_quoted_in_the_error(odm_db: Any) -> None:
    keys = Repository(Keyed, odm_db)
    await keys.migrate()
    await keys.create({"name": "a", "api_key": "k-s3cret"})
    with pytest.raises(DuplicateKeyError) as error:
        await keys.create({"name": "b", "api_key": "k-s3cret"})
    assert error.value.properties == ["api_key"]
    assert error.value.value == {"api_key": None}
    assert "k-s3cret" not in str(error.value)


# --- $inc on a property with bounds: applied only where the result keeps them ------------


async def test_an_increment_never_takes_a_value_out_of_its_bounds(odm_db: Any) -> None:
    stock = Repository(Stock, odm_db, allow_extended_operators=True)
    low = await stock.create({"sku": "low", "count": 1})
    high = await stock.create({"sku": "high", "count": 9})
    assert await stock.update_all({"$inc": {"count": -2}}) == 1  # only "high" can give 2
    with pytest.raises(ValidationError) as error:
        await stock.update_by_id(low.id, {"$inc": {"count": -2}})
    assert codes(error) == [("$inc.count", "minimum")]
    with pytest.raises(ValidationError) as error:
        await stock.update_by_id(high.id, {"$inc": {"count": 4}})
    assert codes(error) == [("$inc.count", "maximum")]
    assert await stock.find_one_and_update({"sku": "low"}, {"$inc": {"count": -5}}) is None
    claimed = await stock.find_one_and_update({"sku": "high"}, {"$inc": {"count": 3}})
    assert claimed is not None and claimed.count == 10
    assert sorted((d["sku"], d["count"]) for d in await stored(stock)) == [
        ("high", 10),
        ("low", 1),
    ]
    assert [s.count for s in await stock.find({"order": "sku ASC"})] == [10, 1]


async def test_an_upsert_increment_keeps_the_bounds_on_its_update_branch(odm_db: Any) -> None:
    """A bounded ``$inc`` cannot be an insert (it is guarded), so these upserts can only
    update; the guard still applies there."""
    stock = Repository(Stock, odm_db, allow_extended_operators=True)
    low = await stock.create({"sku": "low", "count": 1})
    with pytest.raises(ValidationError) as error:
        await stock.upsert({"id": low.id, "$inc": {"count": -2}})
    assert codes(error) == [("$inc.count", "minimum")]
    with pytest.raises(ValidationError) as error:
        await stock.upsert_with_where({"sku": "low"}, {"$inc": {"count": 20}})
    assert codes(error) == [("$inc.count", "maximum")]
    assert [(d["sku"], d["count"]) for d in await stored(stock)] == [("low", 1)]
    assert (await stock.upsert({"id": low.id, "$inc": {"count": 2}})).count == 3
    assert (await stock.upsert_with_where({"sku": "low"}, {"$inc": {"count": -3}})).count == 0
    assert [(d["sku"], d["count"]) for d in await stored(stock)] == [("low", 0)]
