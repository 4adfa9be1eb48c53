"""The repository on every backend: CRUD, stored documents, strict modes, scope, forceId,
ids, loading paths, multi-tenant use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import Binary, ObjectId

from odm import (
    EntityNotFoundError,
    InvalidFilterError,
    Repository,
    ValidationError,
)
from odm.testing import backend_database

from .models import (
    Address,
    Customer,
    Filtered,
    FreeId,
    Job,
    Loose,
    Note,
    OidThing,
    TenantRow,
    Thing,
)


def customer_data(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {"email": f"user{n}@example.com", "name": f"User {n}", **extra}


async def raw(
    db: Any, collection: str, query: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Documents as stored, read with the raw driver."""
    cursor = db[collection].find(query or {})
    return [doc async for doc in cursor]


# --- create and the stored document ------------------------------------------------


async def test_create_stores_mapped_fields_and_returns_the_entity(odm_db: Any) -> None:
    customers = Repository(Customer, odm_db)
    created = await customers.create(
        customer_data(
            password="s3cret",
            address={"street": "1 Rue", "city": "Paris", "zip_code": "75001"},
            tags=["a", "b"],
        )
    )
    assert isinstance(created.id, str) and ObjectId.is_valid(created.id)
    assert created.password == "s3cret"
    assert created.created.tzinfo is UTC and created.created.microsecond % 1000 == 0

    [doc] = await raw(odm_db, "customers")
    assert doc["_id"] == ObjectId(created.id)
    assert "id" not in doc
    assert doc["createdAt"] == created.created  # a BSON date, field renamed
    assert isinstance(doc["createdAt"], datetime)
    assert "created" not in doc
    assert doc["address"] == {"street": "1 Rue", "city": "Paris", "zip": "75001"}
    assert doc["password"] == "s3cret"  # hidden properties are stored
    assert doc["deleted"] is False
    assert doc["tags"] == ["a", "b"]
    assert uuid.UUID(doc["token"]).version == 4


async def test_read_back_equals_created_and_hides_hidden_in_json(odm_db: Any) -> None:
    customers = Repository(Customer, odm_db)
    created = await customers.create(customer_data(password="pw"))
    found = await customers.find_by_id(created.id)
    assert found.model_dump() == created.model_dump()
    assert found.password == "pw"
    assert "password" not in found.to_json()
    assert "password" not in found.model_dump()
    assert found.to_dict(include_hidden=True)["password"] == "pw"
    assert found.created.tzinfo is UTC


async def test_uuid_id_is_stored_as_binary_subtype_4(odm_db: Any) -> None:
    things = Repository(Thing, odm_db)
    thing = await things.create({"label": "x"})
    assert isinstance(thing.id, uuid.UUID)
    docs = await raw(odm_db, "things")
    stored_id = docs[0]["_id"]
    # pymongo with uuidRepresentation="standard" decodes subtype 4 as UUID; the mock keeps Binary
    assert stored_id == thing.id or stored_id == Binary.from_uuid(thing.id)
    assert docs[0]["lbl"] == "x"
    assert (await things.find_by_id(thing.id)).label == "x"
    assert (await things.find_by_id(str(thing.id))).id == thing.id


async def test_object_id_typed_id_stays_an_object_id(odm_db: Any) -> None:
    things = Repository(OidThing, odm_db)
    thing = await things.create({"label": "x"})
    assert isinstance(thing.id, ObjectId)
    [doc] = await raw(odm_db, "oid_things")
    assert doc["_id"] == thing.id
    assert (await things.find_by_id(str(thing.id))).id == thing.id


async def test_create_all_inserts_every_item_with_ids(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    created = await notes.create_all([{"title": f"n{i}"} for i in range(5)])
    assert [n.title for n in created] == [f"n{i}" for i in range(5)]
    assert all(ObjectId.is_valid(n.id) for n in created)
    assert await notes.count() == 5
    assert await notes.create_all([]) == []


async def test_create_all_validates_every_item_before_writing(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    with pytest.raises(ValidationError) as caught:
        await notes.create_all([{"title": "ok"}, {"title": 5}, {"body": "no title"}])
    paths = {(d["path"], d["code"]) for d in caught.value.details}
    assert paths == {("1.title", "type"), ("2.title", "presence")}
    assert await raw(odm_db, "notes") == []


async def test_create_from_an_instance_sets_its_id(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    note = Note(title="hello")
    stored = await notes.create(note)
    assert note.id == stored.id and note.id is not None


# --- reads -----------------------------------------------------------------------------


async def test_find_by_id_missing_raises_entity_not_found(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    missing = str(ObjectId())
    with pytest.raises(EntityNotFoundError) as caught:
        await notes.find_by_id(missing)
    assert caught.value.model == "Note" and caught.value.id == missing
    with pytest.raises(EntityNotFoundError):
        await notes.find_by_id("not-an-object-id")
    assert await notes.exists(missing) is False
    assert await notes.exists("not-an-object-id") is False


async def test_find_with_filter_order_limit_skip_and_fields(odm_db: Any) -> None:
    customers = Repository(Customer, odm_db)
    await customers.create_all([customer_data(i, age=20 + i) for i in range(6)])
    found = await customers.find(
        {"where": {"age": {"gte": 21}}, "order": "age DESC", "limit": 2, "skip": 1}
    )
    assert [c.age for c in found] == [24, 23]
    partial = await customers.find({"fields": ["email"], "order": ["age ASC"], "limit": 1})
    assert partial[0].email == "user0@example.com"
    assert partial[0].id is not None  # the id always comes back
    assert partial[0].name is None  # not projected
    assert await customers.count({"age": {"lt": 23}}) == 3
    one = await customers.find_one({"where": {"name": {"like": "User _"}}, "order": "age DESC"})
    assert one is not None and one.age == 25
    assert await customers.find_one({"where": {"age": 99}}) is None


async def test_where_operators_on_the_backend(odm_db: Any) -> None:
    customers = Repository(Customer, odm_db)
    await customers.create_all(
        [
            customer_data(
                1, age=10, tags=["x"], address={"street": "s", "city": "Paris", "zip_code": "1"}
            ),
            customer_data(2, age=20, tags=["y"], name="Jo.hn"),
            customer_data(3, age=30, name="JOANNA"),
        ]
    )

    async def ages(where: dict[str, Any]) -> list[int | None]:
        return sorted((c.age for c in await customers.find({"where": where})), key=lambda a: a or 0)

    assert await ages({"age": {"neq": 20}}) == [10, 30]
    assert await ages({"age": {"between": [10, 20]}}) == [10, 20]
    assert await ages({"age": {"inq": [10, 30]}}) == [10, 30]
    assert await ages({"age": {"nin": [10, 30]}}) == [20]
    assert await ages({"age": {"gt": "10"}}) == [20, 30]  # coerced from a query string
    assert await ages({"name": {"like": "Jo.h%"}}) == [20]
    assert await ages({"name": {"like": "Jo_h%"}}) == [20]
    assert await ages({"name": {"like": "jo%"}}) == []
    assert await ages({"name": {"ilike": "jo%"}}) == [20, 30]
    assert await ages({"name": {"nilike": "jo%"}}) == [10]
    assert await ages({"name": {"nlike": "JO%"}}) == [10, 20]
    assert await ages({"name": {"regexp": "/^jo/i"}}) == [20, 30]
    assert await ages({"address": {"exists": True}, "address.city": "Paris"}) == [10]
    assert await ages({"address.zip_code": "1"}) == [10]
    assert await ages({"address": None}) == [20, 30]
    assert await ages({"tags": "y"}) == [20]
    assert await ages(
        {"or": [{"age": 10}, {"and": [{"age": {"gt": 15}}, {"age": {"lt": 25}}]}]}
    ) == [
        10,
        20,
    ]
    assert await ages({"nor": [{"age": 10}, {"age": 20}]}) == [30]
    assert await ages({"created": {"lte": datetime.now(UTC).isoformat()}}) == [10, 20, 30]


async def test_iterate_streams_every_entity(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    await notes.create_all([{"title": f"n{i:02}"} for i in range(25)])
    titles = [n.title async for n in notes.iterate({"order": "title ASC"}, batch_size=7)]
    assert titles == [f"n{i:02}" for i in range(25)]


async def test_trusted_load_builds_the_same_instances(odm_db: Any) -> None:
    customers = Repository(Customer, odm_db)
    trusted = Repository(Customer, odm_db, validate_on_load=False)
    await customers.create(
        customer_data(address={"street": "s", "city": "c", "zip_code": "z"}, password="p")
    )
    [checked] = await customers.find()
    [fast] = await trusted.find()
    assert type(fast) is Customer
    assert fast.model_dump() == checked.model_dump()
    assert isinstance(fast.address, Address) and fast.address.zip_code == "z"
    assert fast.created.tzinfo is UTC


async def test_missing_stored_fields_get_static_defaults_never_generated_values(
    odm_db: Any,
) -> None:
    await odm_db["customers"].insert_one(
        {"email": "raw@example.com", "name": "Raw", "deleted": False, "unknownField": 1}
    )
    for repo in (
        Repository(Customer, odm_db),
        Repository(Customer, odm_db, validate_on_load=False),
    ):
        [loaded] = await repo.find()
        assert loaded.token is None  # default_fn never runs on load
        assert loaded.created is None
        assert loaded.tags == []  # the static default
        assert not hasattr(loaded, "unknownField")


# --- updates, replace, save, delete ---------------------------------------------------


async def test_update_by_id_sets_only_the_given_properties(odm_db: Any) -> None:
    customers = Repository(Customer, odm_db)
    created = await customers.create(customer_data(age=5))
    await customers.update_by_id(created.id, {"age": "6", "name": "Renamed"})
    [doc] = await raw(odm_db, "customers")
    assert doc["age"] == 6 and doc["name"] == "Renamed"
    assert doc["createdAt"] == created.created  # renamed fields are not nulled
    with pytest.raises(EntityNotFoundError):
        await customers.update_by_id(str(ObjectId()), {"age": 1})
    with pytest.raises(ValidationError) as caught:
        await customers.update_by_id(created.id, {})
    assert caught.value.codes == ["presence"]


async def test_update_all_returns_matched_count_and_sets_null(odm_db: Any) -> None:
    customers = Repository(Customer, odm_db)
    await customers.create_all([customer_data(i, age=i) for i in range(4)])
    assert await customers.update_all({"age": None}, {"age": {"gte": 2}}) == 2
    docs = await raw(odm_db, "customers", {"age": None})
    assert len(docs) == 2 and all("age" in d for d in docs)  # set to null, not removed


async def test_update_with_extended_operators(odm_db: Any) -> None:
    notes = Repository(Note, odm_db, allow_extended_operators=True)
    note = await notes.create({"title": "t", "tags": ["a"]})
    await notes.update_by_id(note.id, {"$inc": {"views": 2}, "$push": {"tags": "b"}, "body": "new"})
    found = await notes.find_by_id(note.id)
    assert (found.views, found.tags, found.body) == (2, ["a", "b"], "new")
    with pytest.raises(ValidationError) as caught:
        await notes.update_by_id(note.id, {"$rename": {"title": "x"}})
    assert caught.value.details[0]["code"] == "invalid-operator"
    plain = Repository(Note, odm_db)
    with pytest.raises(ValidationError) as caught:
        await plain.update_by_id(note.id, {"$inc": {"views": 1}})
    assert caught.value.details[0]["code"] == "invalid-name"
    assert (await notes.find_by_id(note.id)).views == 2


async def test_update_entity_writes_its_current_values(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    note = await notes.create({"title": "t"})
    note.body = "changed"
    await notes.update(note)
    assert (await notes.find_by_id(note.id)).body == "changed"


async def test_replace_by_id_reapplies_defaults(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    note = await notes.create({"title": "t", "body": "b", "views": 3})
    await notes.replace_by_id(note.id, {"title": "t2"})
    [doc] = await raw(odm_db, "notes")
    assert doc == {"_id": ObjectId(note.id), "title": "t2", "body": "", "views": 0, "tags": []}
    with pytest.raises(EntityNotFoundError):
        await notes.replace_by_id(str(ObjectId()), {"title": "x"})


async def test_save_creates_then_replaces(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    note = await notes.save(Note(title="first"))
    assert note.id is not None
    note.title = "second"
    await notes.save(note)
    assert [n.title for n in await notes.find()] == ["second"]
    ghost = Note(title="ghost")
    ghost.id = str(ObjectId())
    with pytest.raises(EntityNotFoundError):
        await notes.save(ghost)


async def test_delete_methods(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    created = await notes.create_all([{"title": f"n{i}", "views": i} for i in range(5)])
    await notes.delete(created[0])
    await notes.delete_by_id(created[1].id)
    with pytest.raises(EntityNotFoundError):
        await notes.delete_by_id(created[1].id)
    assert await notes.delete_all({"views": {"gte": 4}}) == 1
    assert await notes.delete_all() == 2
    assert await raw(odm_db, "notes") == []


async def test_find_one_and_update_claims_atomically(odm_db: Any) -> None:
    jobs = Repository(Job, odm_db)
    await jobs.create_all([{"name": f"j{i}", "priority": i} for i in range(3)])
    claimed = await jobs.find_one_and_update(
        {"status": "queued"}, {"status": "running", "worker": "w1"}, order="priority DESC"
    )
    assert claimed is not None and (claimed.name, claimed.status) == ("j2", "running")
    before = await jobs.find_one_and_update(
        {"status": "queued"}, {"status": "running"}, order=["priority DESC"], return_new=False
    )
    assert before is not None and (before.name, before.status) == ("j1", "queued")
    assert await jobs.find_one_and_update({"name": "none"}, {"status": "x"}) is None
    upserted = await jobs.find_one_and_update({"name": "new"}, {"status": "done"}, upsert=True)
    assert upserted is not None and upserted.name == "new" and upserted.status == "done"


# --- strict modes on every write ------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "outcome"),
    [(Note, "error"), (Filtered, "dropped"), (Loose, "stored")],
    ids=["strict", "filter", "loose"],
)
async def test_strict_mode_on_every_write_method(odm_db: Any, entity: Any, outcome: str) -> None:
    repo = Repository(entity, odm_db)
    collection = entity.odm_meta().collection
    base = {"title": "t"}
    writes = {
        "create": lambda: repo.create({**base, "extra": 1}),
        "create_all": lambda: repo.create_all([{**base, "extra": 1}]),
    }
    for name, write in writes.items():
        if outcome == "error":
            with pytest.raises(ValidationError) as caught:
                await write()
            assert caught.value.details[0]["code"] == "unknown-property", name
            assert caught.value.details[0]["path"].endswith("extra"), name
        else:
            await write()
    stored = await repo.unscoped().create(base)
    updates = {
        "update_by_id": lambda: repo.update_by_id(stored.id, {"title": "u", "extra": 2}),
        "update_all": lambda: repo.update_all({"title": "u", "extra": 2}, {"id": stored.id}),
        "replace_by_id": lambda: repo.replace_by_id(stored.id, {"title": "u", "extra": 2}),
    }
    for name, write in updates.items():
        if outcome == "error":
            with pytest.raises(ValidationError) as caught:
                await write()
            assert caught.value.codes == ["unknown-property"], name
        else:
            await write()
    docs = await raw(odm_db, collection)
    extras = [d.get("extra") for d in docs]
    if outcome == "error":
        assert extras == [None] and docs[0]["title"] == "t"
    elif outcome == "dropped":
        assert extras == [None, None, None]
    else:
        assert extras == [1, 1, 2]


async def test_loose_model_keeps_unknown_stored_fields(odm_db: Any) -> None:
    await odm_db["loose"].insert_one({"title": "t", "color": "red"})
    loose = Repository(Loose, odm_db)
    [found] = await loose.find()
    assert found.model_extra == {"color": "red"}
    assert found.color == "red"  # type: ignore[attr-defined]
    found.title = "changed"
    await loose.save(found)  # a replace: the unknown field is written back
    [doc] = await raw(odm_db, "loose")
    assert (doc["title"], doc["color"]) == ("changed", "red")


async def test_unknown_where_property_is_refused_under_strict(odm_db: Any) -> None:
    with pytest.raises(InvalidFilterError):
        await Repository(Note, odm_db).find({"where": {"nope": 1}})
    with pytest.raises(InvalidFilterError):
        await Repository(Filtered, odm_db).find({"where": {"nope": 1}})
    await odm_db["loose"].insert_one({"title": "t", "color": "red"})
    assert len(await Repository(Loose, odm_db).find({"where": {"color": "red"}})) == 1


async def test_names_with_dollar_or_dot_are_refused_in_every_mode(odm_db: Any) -> None:
    for entity in (Note, Filtered, Loose):
        repo = Repository(entity, odm_db)
        with pytest.raises(ValidationError) as caught:
            await repo.create({"title": "t", "meta": {"$gt": 1}, "a.b": 2})
        invalid = [d["path"] for d in caught.value.details if d["code"] == "invalid-name"]
        assert invalid == ["meta.$gt", "a.b"]
    for collection in ("notes", "filtered", "loose"):
        assert await raw(odm_db, collection) == []


# --- default scope ----------------------------------------------------------------------


async def test_scope_filters_reads_and_defaults_creates(odm_db: Any) -> None:
    customers = Repository(Customer, odm_db)
    alive = await customers.create(customer_data(1))
    assert alive.deleted is False
    gone = await customers.unscoped().create(customer_data(2, deleted=True))
    assert [c.email for c in await customers.find()] == ["user1@example.com"]
    assert await customers.count() == 1
    assert await customers.exists(gone.id) is False
    with pytest.raises(EntityNotFoundError):
        await customers.find_by_id(gone.id)
    with pytest.raises(EntityNotFoundError):
        await customers.update_by_id(gone.id, {"age": 1})
    with pytest.raises(EntityNotFoundError):
        await customers.delete_by_id(gone.id)
    assert await customers.update_all({"age": 7}) == 1
    assert await customers.delete_all({"email": "user2@example.com"}) == 0
    assert len(await customers.unscoped().find()) == 2
    assert (await customers.unscoped().find_by_id(gone.id)).deleted is True


async def test_scope_conflicts_are_refused_on_every_write(odm_db: Any) -> None:
    customers = Repository(Customer, odm_db)
    alive = await customers.create(customer_data(1))
    attempts = [
        customers.create(customer_data(2, deleted=True)),
        customers.create_all([customer_data(3, deleted=True)]),
        customers.update_by_id(alive.id, {"deleted": True}),
        customers.update_all({"deleted": True}),
        customers.replace_by_id(alive.id, customer_data(1, deleted=True)),
        customers.find_one_and_update({"email": "user1@example.com"}, {"deleted": True}),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as caught:
            await attempt
        assert caught.value.details[0]["code"] == "scope-conflict"
        assert caught.value.details[0]["path"].endswith("deleted")
    [doc] = await raw(odm_db, "customers")
    assert doc["deleted"] is False


async def test_scope_limit_is_the_smaller_and_order_is_the_calls(odm_db: Any) -> None:
    rows = Repository(TenantRow, odm_db)
    await rows.create_all([{"rank": r} for r in range(6)])
    await rows.unscoped().create({"tenant": "b", "rank": 99})
    assert [r.rank for r in await rows.find()] == [0, 1, 2]
    assert [r.rank for r in await rows.find({"limit": 2})] == [0, 1]
    assert [r.rank for r in await rows.find({"limit": 10})] == [0, 1, 2]
    assert [r.rank for r in await rows.find({"order": "rank DESC"})] == [5, 4, 3]
    assert await rows.count() == 6
    assert len(await rows.unscoped().find()) == 7


# --- forceId ------------------------------------------------------------------------------


async def test_force_id_refuses_client_ids(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    with pytest.raises(ValidationError) as caught:
        await notes.create({"id": str(ObjectId()), "title": "t"})
    assert caught.value.details[0]["code"] == "absence"
    stored = await notes.create({"title": "t"})
    with pytest.raises(ValidationError) as caught:
        await notes.replace_by_id(stored.id, {"id": str(ObjectId()), "title": "x"})
    assert caught.value.details[0]["code"] == "absence"
    await notes.replace_by_id(stored.id, {"id": stored.id, "title": "same id is fine"})
    with pytest.raises(ValidationError) as caught:
        await notes.update_by_id(stored.id, {"id": str(ObjectId())})
    assert caught.value.details[0]["code"] == "absence"
    with pytest.raises(ValidationError):
        await notes.update_all({"id": str(ObjectId())})
    assert [n.title for n in await notes.find()] == ["same id is fine"]


async def test_without_force_id_a_client_id_is_accepted(odm_db: Any) -> None:
    free = Repository(FreeId, odm_db)
    chosen = str(ObjectId())
    created = await free.create({"id": chosen, "label": "mine"})
    assert created.id == chosen
    [doc] = await raw(odm_db, "free_ids")
    assert doc["_id"] == ObjectId(chosen)
    generated = await free.create({"label": "theirs"})
    assert generated.id != chosen


# --- isolation ------------------------------------------------------------------------


async def test_two_repositories_of_one_class_on_two_databases(
    odm_db: Any, odm_backend: str, request: pytest.FixtureRequest
) -> None:
    server = request.getfixturevalue("odm_backend_server")
    async with backend_database(odm_backend, server) as other_db:
        tenant_a = Repository(Note, odm_db)
        tenant_b = Repository(Note, other_db)
        await tenant_a.create({"title": "a"})
        await tenant_b.create_all([{"title": "b1"}, {"title": "b2"}])
        assert [n.title for n in await tenant_a.find()] == ["a"]
        assert sorted(n.title for n in await tenant_b.find()) == ["b1", "b2"]
        assert await tenant_a.count() == 1 and await tenant_b.count() == 2


# --- transactions -------------------------------------------------------------------------


@pytest.mark.backend_limit(mock="mongomock-motor has no sessions or transactions")
async def test_transaction_commits_and_rolls_back(odm_db: Any) -> None:
    notes = Repository(Note, odm_db)
    await notes.create({"title": "before"})  # the collection exists before the transaction
    async with notes.transaction() as session:
        await notes.create({"title": "committed"}, session=session)
        assert await notes.count(session=session) == 2
    assert sorted(n.title for n in await notes.find()) == ["before", "committed"]

    with pytest.raises(RuntimeError, match="boom"):
        async with notes.transaction() as session:
            await notes.create({"title": "rolled back"}, session=session)
            await notes.update_all({"views": 9}, session=session)
            raise RuntimeError("boom")
    stored = await raw(odm_db, "notes")
    assert sorted(d["title"] for d in stored) == ["before", "committed"]
    assert all(d["views"] == 0 for d in stored)


@pytest.mark.backend_limit(
    embedded="checks the mock's refusal; the embedded server runs real transactions",
    uri="checks the mock's refusal; a MongoDB server runs real transactions",
)
async def test_transaction_on_the_mock_says_why_it_cannot(odm_db: Any) -> None:
    from odm import ODMError

    with pytest.raises(ODMError, match="transaction"):
        async with Repository(Note, odm_db).transaction():
            pass
