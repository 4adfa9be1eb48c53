"""The upsert family on every backend: ``find_or_create``, ``upsert``,
``replace_or_create`` and ``upsert_with_where``, each one atomic write. Each test reads
back what is stored with the raw driver; the concurrency tests run twenty calls at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson import ObjectId

from odm import (
    Entity,
    EntityNotFoundError,
    InvalidFilterError,
    ODMError,
    Repository,
    ValidationError,
    model,
    prop,
)


@model(collection="up_accounts")
class Account(Entity):
    """A database-generated id with force_id (the default)."""

    email: str
    name: str = ""
    visits: int = 0
    plan: str = prop(default="free", field_name="pl")


@model(collection="up_free", force_id=False)
class FreeAccount(Entity):
    email: str
    name: str = ""
    visits: int = 0


@model(collection="up_codes")
class Code(Entity):
    """A caller-supplied id."""

    id: str = prop(id=True)
    label: str
    uses: int = 0


@model(collection="up_tenants", scope={"where": {"tenant": "a"}})
class TenantAccount(Entity):
    email: str
    tenant: str = "a"
    visits: int = 0


def codes(detail_list: list[Any]) -> list[tuple[str, str]]:
    return [(d["path"], d["code"]) for d in detail_list]


# --- find_or_create ---------------------------------------------------------------------


async def test_find_or_create_creates_then_finds(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    first, created = await repo.find_or_create({"email": "a@x.io"}, {"name": "Ann"})
    assert created is True
    assert (first.email, first.name, first.visits, first.plan) == ("a@x.io", "Ann", 0, "free")
    stored = await repo.collection.find_one({"_id": ObjectId(first.id)})
    assert stored == {
        "_id": ObjectId(first.id),
        "email": "a@x.io",
        "name": "Ann",
        "visits": 0,
        "pl": "free",
    }

    again, created_again = await repo.find_or_create({"email": "a@x.io"}, {"name": "Other"})
    assert created_again is False
    assert (again.id, again.name) == (first.id, "Ann")  # the stored entity is not changed
    assert await repo.collection.count_documents({}) == 1
    assert (await repo.collection.find_one({}))["name"] == "Ann"


async def test_find_or_create_where_fills_what_data_lacks(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    entity, created = await repo.find_or_create({"email": "b@x.io", "visits": 3})
    assert created and (entity.email, entity.visits) == ("b@x.io", 3)
    stored = await repo.collection.find_one({})
    assert (stored["email"], stored["visits"]) == ("b@x.io", 3)


async def test_find_or_create_validates_the_create_and_writes_nothing(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    with pytest.raises(ValidationError) as missing:
        await repo.find_or_create({"name": "x"}, {})
    assert codes(missing.value.details) == [("email", "presence")]
    with pytest.raises(ValidationError) as typed:
        await repo.find_or_create({"email": "c@x.io"}, {"visits": "many"})
    assert ("visits", "type") in codes(typed.value.details)
    with pytest.raises(ValidationError) as forced:
        await repo.find_or_create({"email": "c@x.io"}, {"id": str(ObjectId())})
    assert codes(forced.value.details) == [("id", "absence")]
    with pytest.raises(ValidationError) as conflict:
        await repo.find_or_create({"email": "c@x.io"}, {"email": "d@x.io"})
    assert codes(conflict.value.details) == [("email", "conflicting-update")]
    assert await repo.collection.count_documents({}) == 0


async def test_find_or_create_scope_defaults_and_conflicts(odm_db: Any) -> None:
    repo = Repository(TenantAccount, odm_db)
    entity, created = await repo.find_or_create({"email": "t@x.io"})
    assert created and entity.tenant == "a"
    assert (await repo.collection.find_one({}))["tenant"] == "a"
    with pytest.raises(ValidationError) as error:
        await repo.find_or_create({"email": "u@x.io"}, {"tenant": "b"})
    assert codes(error.value.details) == [("tenant", "scope-conflict")]
    # a document of another tenant is not found: a new one is made in scope
    await repo.collection.insert_one({"email": "v@x.io", "tenant": "b", "visits": 0})
    mine, created = await repo.find_or_create({"email": "v@x.io"})
    assert created and mine.tenant == "a"
    assert await repo.collection.count_documents({"email": "v@x.io"}) == 2


async def test_find_or_create_with_a_caller_id(odm_db: Any) -> None:
    repo = Repository(Code, odm_db)
    entity, created = await repo.find_or_create({"id": "SAVE10"}, {"label": "ten off"})
    assert created and entity.id == "SAVE10"
    assert await repo.collection.find_one({}) == {"_id": "SAVE10", "label": "ten off", "uses": 0}
    again, created = await repo.find_or_create({"id": "SAVE10"}, {"label": "other"})
    assert not created and again.label == "ten off"


@pytest.mark.backend_limit(mock="mongomock-motor runs one call at a time: no race to show")
@pytest.mark.parametrize("unique", [False, True], ids=["no-index", "unique-index"])
async def test_twenty_concurrent_find_or_create_make_one(odm_db: Any, unique: bool) -> None:
    repo = Repository(Account, odm_db)
    if unique:
        await repo.collection.create_index("email", unique=True)
    results = await asyncio.gather(
        *(repo.find_or_create({"email": "race@x.io"}, {"name": f"n{i}"}) for i in range(20))
    )
    assert await repo.collection.count_documents({"email": "race@x.io"}) == 1
    assert sum(created for _, created in results) == 1
    stored = await repo.collection.find_one({})
    assert {entity.id for entity, _ in results} == {str(stored["_id"])}
    winner = next(entity for entity, created in results if created)
    assert winner.name == stored["name"]


# --- upsert -----------------------------------------------------------------------------


async def test_upsert_without_id_creates(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    entity = await repo.upsert({"email": "n@x.io"})
    stored = await repo.collection.find_one({})
    assert stored == {
        "_id": ObjectId(entity.id),
        "email": "n@x.io",
        "name": "",
        "visits": 0,
        "pl": "free",
    }


async def test_upsert_with_a_stored_id_is_a_partial_update(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    created = await repo.create({"email": "p@x.io", "name": "Pat", "visits": 4})
    updated = await repo.upsert({"id": created.id, "name": "Patricia"})
    assert (updated.id, updated.name, updated.visits, updated.email) == (
        created.id,
        "Patricia",
        4,
        "p@x.io",
    )
    stored = await repo.collection.find_one({"_id": ObjectId(created.id)})
    assert (stored["name"], stored["visits"]) == ("Patricia", 4)
    assert await repo.collection.count_documents({}) == 1
    with pytest.raises(ValidationError) as error:
        await repo.upsert({"id": created.id, "visits": "x"})
    assert codes(error.value.details) == [("visits", "type")]
    assert (await repo.collection.find_one({}))["visits"] == 4


async def test_upsert_force_id_refuses_creating_a_chosen_id(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    with pytest.raises(ValidationError) as error:
        await repo.upsert({"id": str(ObjectId()), "email": "q@x.io"})
    assert codes(error.value.details) == [("id", "absence")]
    assert await repo.collection.count_documents({}) == 0


async def test_upsert_without_force_id_creates_with_the_id(odm_db: Any) -> None:
    repo = Repository(FreeAccount, odm_db)
    chosen = ObjectId()
    entity = await repo.upsert({"id": str(chosen), "email": "r@x.io"})
    assert entity.id == str(chosen)
    assert await repo.collection.find_one({}) == {
        "_id": chosen,
        "email": "r@x.io",
        "name": "",
        "visits": 0,
    }
    again = await repo.upsert({"id": str(chosen), "visits": 2})
    assert (again.email, again.visits) == ("r@x.io", 2)
    assert await repo.collection.count_documents({}) == 1


async def test_upsert_insert_branch_is_a_create(odm_db: Any) -> None:
    repo = Repository(Code, odm_db)
    with pytest.raises(ValidationError) as error:
        await repo.upsert({"id": "NEW", "uses": 1})  # label is required on create
    assert ("label", "presence") in codes(error.value.details)
    assert await repo.collection.count_documents({}) == 0
    entity = await repo.upsert({"id": "NEW", "label": "new"})
    assert await repo.collection.find_one({}) == {"_id": "NEW", "label": "new", "uses": 0}
    assert entity.uses == 0


async def test_upsert_an_id_is_an_id(odm_db: Any) -> None:
    repo = Repository(FreeAccount, odm_db)
    for bad in ({"$ne": None}, ["a"], "not-an-object-id"):
        with pytest.raises(EntityNotFoundError):
            await repo.upsert({"id": bad, "email": "s@x.io"})
    assert await repo.collection.count_documents({}) == 0


async def test_upsert_keeps_the_scope(odm_db: Any) -> None:
    repo = Repository(TenantAccount, odm_db)
    entity = await repo.upsert({"email": "w@x.io"})
    assert (await repo.collection.find_one({}))["tenant"] == "a"
    with pytest.raises(ValidationError) as error:
        await repo.upsert({"id": entity.id, "tenant": "b"})
    assert codes(error.value.details) == [("tenant", "scope-conflict")]
    assert (await repo.collection.find_one({}))["tenant"] == "a"


# --- replace_or_create ------------------------------------------------------------------


async def test_replace_or_create_replaces_whole(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    created = await repo.create({"email": "x@x.io", "name": "X", "visits": 9, "plan": "pro"})
    replaced = await repo.replace_or_create({"id": created.id, "email": "y@x.io"})
    assert (replaced.id, replaced.email, replaced.visits, replaced.plan) == (
        created.id,
        "y@x.io",
        0,
        "free",
    )
    assert await repo.collection.find_one({}) == {
        "_id": ObjectId(created.id),
        "email": "y@x.io",
        "name": "",
        "visits": 0,
        "pl": "free",
    }


async def test_replace_or_create_creates(odm_db: Any) -> None:
    repo = Repository(Code, odm_db)
    entity = await repo.replace_or_create({"id": "C1", "label": "one", "uses": 2})
    assert entity.id == "C1"
    assert await repo.collection.find_one({}) == {"_id": "C1", "label": "one", "uses": 2}
    await repo.replace_or_create({"id": "C1", "label": "uno"})
    assert await repo.collection.find_one({}) == {"_id": "C1", "label": "uno", "uses": 0}
    fresh = await Repository(Account, odm_db).replace_or_create({"email": "z@x.io"})
    assert (await Repository(Account, odm_db).collection.find_one({}))["_id"] == ObjectId(fresh.id)


async def test_replace_or_create_validates_and_forces_ids(odm_db: Any) -> None:
    codes_repo = Repository(Code, odm_db)
    with pytest.raises(ValidationError) as error:
        await codes_repo.replace_or_create({"id": "C2"})
    assert ("label", "presence") in codes(error.value.details)
    accounts = Repository(Account, odm_db)
    with pytest.raises(ValidationError) as forced:
        await accounts.replace_or_create({"id": str(ObjectId()), "email": "f@x.io"})
    assert codes(forced.value.details) == [("id", "absence")]
    assert await codes_repo.collection.count_documents({}) == 0
    assert await accounts.collection.count_documents({}) == 0


# --- upsert_with_where ------------------------------------------------------------------


async def test_upsert_with_where_updates_the_one_match(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    created = await repo.create({"email": "m@x.io", "name": "M"})
    await repo.create({"email": "other@x.io"})
    updated = await repo.upsert_with_where({"email": "m@x.io"}, {"visits": 5})
    assert (updated.id, updated.name, updated.visits) == (created.id, "M", 5)
    stored = await repo.collection.find_one({"_id": ObjectId(created.id)})
    assert stored["visits"] == 5
    assert await repo.collection.count_documents({}) == 2


async def test_upsert_with_where_creates_when_none_matches(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    entity = await repo.upsert_with_where({"email": "new@x.io"}, {"name": "New"})
    stored = await repo.collection.find_one({})
    assert stored == {
        "_id": ObjectId(entity.id),
        "email": "new@x.io",
        "name": "New",
        "visits": 0,
        "pl": "free",
    }
    with pytest.raises(ValidationError) as error:
        await repo.upsert_with_where({"name": "Nobody"}, {"visits": 1})
    assert ("email", "presence") in codes(error.value.details)
    assert await repo.collection.count_documents({}) == 1


async def test_upsert_with_where_refuses_two_matches_and_writes_nothing(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    await repo.create_all(
        [{"email": "1@x.io", "name": "twin"}, {"email": "2@x.io", "name": "twin"}]
    )
    with pytest.raises(ODMError) as error:
        await repo.upsert_with_where({"name": "twin"}, {"visits": 7})
    assert "more than one" in str(error.value)
    assert await repo.collection.count_documents({"visits": 7}) == 0


async def test_upsert_with_where_keeps_the_scope(odm_db: Any) -> None:
    repo = Repository(TenantAccount, odm_db)
    await repo.collection.insert_one({"email": "o@x.io", "tenant": "b", "visits": 0})
    entity = await repo.upsert_with_where({"email": "o@x.io"}, {"visits": 1})
    assert entity.tenant == "a"
    assert (
        await repo.collection.count_documents({"email": "o@x.io", "tenant": "b", "visits": 0}) == 1
    )
    assert (
        await repo.collection.count_documents({"email": "o@x.io", "tenant": "a", "visits": 1}) == 1
    )
    with pytest.raises(ValidationError) as error:
        await repo.upsert_with_where({"email": "o@x.io"}, {"tenant": "b"})
    assert codes(error.value.details) == [("tenant", "scope-conflict")]


async def test_find_or_create_finds_when_only_a_find_can_run(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    created = await repo.create({"email": "k@x.io", "name": "K"})
    # a chosen id on a force_id model cannot be created, but it can be found
    found, was_created = await repo.find_or_create({"id": created.id})
    assert (found.id, found.email, was_created) == (created.id, "k@x.io", False)
    with pytest.raises(ValidationError) as error:
        await repo.find_or_create({"id": str(ObjectId())})
    assert codes(error.value.details) == [("id", "absence"), ("email", "presence")]
    assert await repo.collection.count_documents({}) == 1


async def test_find_or_create_on_renamed_fields_and_refused_names(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    entity, created = await repo.find_or_create({"email": "r@x.io", "plan": "pro"})
    assert created and entity.plan == "pro"
    stored = await repo.collection.find_one({})
    assert (stored["pl"], "plan" in stored) == ("pro", False)
    again, created = await repo.find_or_create({"plan": "pro"}, {"email": "other@x.io"})
    assert (again.id, created) == (entity.id, False)
    with pytest.raises(InvalidFilterError):
        await repo.find_or_create({"nope": 1}, {"email": "n@x.io"})
    with pytest.raises(ValidationError) as error:
        await repo.find_or_create({"email": "n@x.io"}, {"nope": 1})
    assert codes(error.value.details) == [("nope", "unknown-property")]
    assert await repo.collection.count_documents({}) == 1


async def test_upsert_with_where_update_branch_runs_when_a_create_could_not(
    odm_db: Any,
) -> None:
    repo = Repository(Account, odm_db)
    created = await repo.create({"email": "u@x.io", "name": "Uma"})
    # the insert branch would lack the required email: only the update can run
    updated = await repo.upsert_with_where({"name": "Uma"}, {"visits": 2})
    assert (updated.id, updated.visits) == (created.id, 2)
    assert (await repo.collection.find_one({}))["visits"] == 2


async def test_upsert_with_an_entity_instance(odm_db: Any) -> None:
    repo = Repository(FreeAccount, odm_db)
    fresh = FreeAccount(email="i@x.io", name="Ida")
    created = await repo.upsert(fresh)
    assert created.id is not None
    stored = await repo.collection.find_one({})
    assert (str(stored["_id"]), stored["name"]) == (created.id, "Ida")
    created.name = "Ida B"
    again = await repo.upsert(created)
    assert (again.id, again.name) == (created.id, "Ida B")
    assert await repo.collection.count_documents({}) == 1


async def test_replace_or_create_keeps_the_scope(odm_db: Any) -> None:
    repo = Repository(TenantAccount, odm_db)
    entity = await repo.replace_or_create({"email": "s@x.io"})
    assert entity.tenant == "a"
    with pytest.raises(ValidationError) as error:
        await repo.replace_or_create({"id": entity.id, "email": "s@x.io", "tenant": "b"})
    assert codes(error.value.details) == [("tenant", "scope-conflict")]
    assert (await repo.collection.find_one({}))["tenant"] == "a"


@pytest.mark.backend_limit(mock="mongomock-motor runs one call at a time: no race to show")
async def test_twenty_concurrent_upserts_of_one_id_make_one(odm_db: Any) -> None:
    repo = Repository(Code, odm_db)
    results = await asyncio.gather(
        *(repo.upsert({"id": "K", "label": f"l{i}", "uses": i}) for i in range(20))
    )
    assert await repo.collection.count_documents({}) == 1
    assert {entity.id for entity in results} == {"K"}
    replaced = await asyncio.gather(
        *(repo.replace_or_create({"id": "R", "label": f"r{i}"}) for i in range(20))
    )
    assert await repo.collection.count_documents({"_id": "R"}) == 1
    assert {entity.id for entity in replaced} == {"R"}


@pytest.mark.backend_limit(mock="mongomock-motor runs one call at a time: no race to show")
async def test_twenty_concurrent_upserts_with_where_make_one(odm_db: Any) -> None:
    repo = Repository(Account, odm_db)
    results = await asyncio.gather(
        *(repo.upsert_with_where({"email": "w@x.io"}, {"name": f"n{i}"}) for i in range(20)),
        return_exceptions=True,
    )
    assert await repo.collection.count_documents({}) == 1
    assert all(not isinstance(result, BaseException) for result in results), results
