"""The driver adapter behaves the same on mongomock-motor, pymongo async and motor.

Without a model, a ``DuplicateKeyError`` names the collection and its fields."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import PyMongoError

from odm import Entity, Repository
from odm.drivers import Collection, Database, adapt
from odm.drivers.common import WriteAttempt
from odm.errors import DuplicateKeyError, ODMError
from odm.testing import backend_label

NO_TRANSACTIONS = "mongomock-motor has no sessions or transactions"


@pytest.fixture
def database(odm_db: Any) -> Database:
    return adapt(odm_db)


@pytest.fixture
def people(database: Database) -> Collection:
    return database.collection("people")


async def seed(people: Collection) -> None:
    await people.insert_many(
        [
            {"_id": 1, "name": "Ann", "age": 31, "city": "Paris"},
            {"_id": 2, "name": "Bob", "age": 25, "city": "Lyon"},
            {"_id": 3, "name": "Cid", "age": 47, "city": "Paris"},
            {"_id": 4, "name": "Dee", "age": 25, "city": "Nice"},
            {"_id": 5, "name": "Eve", "age": 38, "city": "Paris"},
        ]
    )


async def ids_of(people: Collection, query: dict[str, Any] | None = None) -> list[Any]:
    return [doc["_id"] async for doc in people.find(query or {}, sort=[("_id", 1)])]


# -- the adapter itself -------------------------------------------------------------------


def test_adapt_names_the_driver_and_the_database(odm_db: Any, odm_backend: str) -> None:
    database = adapt(odm_db)
    expected_kind = {"mock": "mongomock", "pymongo": "pymongo", "motor": "motor", "uri": "pymongo"}
    assert database.kind == expected_kind[backend_label(odm_backend)]
    assert database.name == odm_db.name
    assert database.name.startswith("odm_test_")
    assert database.raw is odm_db
    assert database.supports_transactions is (database.kind != "mongomock")
    assert adapt(database) is database
    assert database.collection("people").name == "people"
    assert database.collection("people").raw.name == "people"


def test_adapt_refuses_what_is_not_an_async_database() -> None:
    with pytest.raises(ODMError, match="AsyncMongoClient"):
        adapt(object())


def test_adapt_refuses_a_synchronous_pymongo_database() -> None:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(connect=False)
    try:
        with pytest.raises(ODMError, match="synchronous"):
            adapt(client["shop"])
    finally:
        client.close()


class Customer(Entity):
    email: str


def test_a_client_passed_as_the_database_is_refused_naming_what_to_pass(odm_db: Any) -> None:
    client = odm_db.client
    with pytest.raises(ODMError, match="needs a database, not a client") as caught:
        Repository(Customer, client)
    assert "client['name']" in str(caught.value)
    with pytest.raises(ODMError, match="needs a database, not a client"):
        adapt(client)


# -- writes and reads ---------------------------------------------------------------------


async def test_insert_one_returns_the_id_and_adds_one_when_missing(
    people: Collection,
) -> None:
    doc: dict[str, Any] = {"name": "Ann"}
    new_id = await people.insert_one(doc)
    assert isinstance(new_id, ObjectId)
    assert doc["_id"] == new_id
    assert await people.insert_one({"_id": "ann", "name": "Ann"}) == "ann"
    assert await people.find_one({"_id": new_id}) == {"_id": new_id, "name": "Ann"}


async def test_insert_many_returns_the_ids_in_order(people: Collection) -> None:
    ids = await people.insert_many([{"_id": 7, "n": 1}, {"n": 2}, {"_id": "x", "n": 3}])
    assert ids[0] == 7 and isinstance(ids[1], ObjectId) and ids[2] == "x"
    assert await people.count({}) == 3
    assert await people.insert_many([]) == []


async def test_find_sorts_skips_limits_and_projects(people: Collection) -> None:
    await seed(people)
    found = [
        doc
        async for doc in people.find(
            {"city": "Paris"},
            projection={"name": 1},
            sort=[("age", -1)],
            skip=1,
            limit=1,
        )
    ]
    assert found == [{"_id": 5, "name": "Eve"}]
    by_age_then_name = [
        doc["name"] async for doc in people.find({}, sort=[("age", 1), ("name", -1)])
    ]
    assert by_age_then_name == ["Dee", "Bob", "Ann", "Eve", "Cid"]
    without_city = [doc async for doc in people.find({"_id": 2}, projection={"city": 0})]
    assert without_city == [{"_id": 2, "name": "Bob", "age": 25}]


async def test_find_streams_in_batches_and_can_stop_early(people: Collection) -> None:
    await people.insert_many([{"_id": i} for i in range(25)])
    seen = [doc["_id"] async for doc in people.find({}, sort=[("_id", 1)], batch_size=4)]
    assert seen == list(range(25))
    stream = people.find({}, sort=[("_id", 1)], batch_size=2)
    first = [doc["_id"] async for doc, _ in zip_count(stream, 3)]
    assert first == [0, 1, 2]
    assert await people.count({}) == 25


async def zip_count(stream: Any, count: int) -> Any:
    """The first ``count`` documents of ``stream``, then closes it (an early ``break``)."""
    index = 0
    try:
        async for doc in stream:
            if index == count:
                break
            yield doc, index
            index += 1
    finally:
        await stream.aclose()


async def test_find_one_uses_sort_skip_and_projection(people: Collection) -> None:
    await seed(people)
    oldest = await people.find_one({}, sort=[("age", -1)], projection={"name": 1})
    assert oldest == {"_id": 3, "name": "Cid"}
    second_in_paris = await people.find_one({"city": "Paris"}, sort=[("_id", 1)], skip=1)
    assert second_in_paris is not None and second_in_paris["name"] == "Cid"
    assert await people.find_one({"city": "Rome"}) is None


async def test_count_applies_skip_and_limit(people: Collection) -> None:
    await seed(people)
    assert await people.count({}) == 5
    assert await people.count({"city": "Paris"}) == 3
    assert await people.count({"city": "Paris"}, skip=1) == 2
    assert await people.count({}, limit=2) == 2
    assert await people.count({}, skip=4, limit=3) == 1
    assert await people.count({"city": "Rome"}) == 0


async def test_update_one_and_update_many_return_matched_counts(
    people: Collection,
) -> None:
    await seed(people)
    assert await people.update_one({"city": "Paris"}, {"$set": {"city": "Metz"}}) == 1
    assert await people.update_one({"city": "Rome"}, {"$set": {"x": 1}}) == 0
    assert await people.update_many({"age": 25}, {"$inc": {"age": 1}}) == 2
    assert await people.update_many({"age": 99}, {"$set": {"x": 1}}) == 0
    assert await ids_of(people, {"age": 26}) == [2, 4]
    assert await people.count({"city": "Metz"}) == 1


async def test_update_one_upserts_a_missing_document(people: Collection) -> None:
    matched = await people.update_one({"_id": 9}, {"$set": {"name": "Zed"}}, upsert=True)
    assert matched == 0
    assert await people.find_one({"_id": 9}) == {"_id": 9, "name": "Zed"}


async def test_replace_one_replaces_the_whole_document(people: Collection) -> None:
    await seed(people)
    assert await people.replace_one({"_id": 1}, {"name": "Ann B."}) == 1
    assert await people.find_one({"_id": 1}) == {"_id": 1, "name": "Ann B."}
    assert await people.replace_one({"_id": 42}, {"name": "nobody"}) == 0


async def test_find_one_and_update_returns_the_new_or_the_old_document(
    people: Collection,
) -> None:
    await seed(people)
    claimed = await people.find_one_and_update(
        {"city": "Paris"}, {"$set": {"claimed": True}}, sort=[("age", -1)]
    )
    assert claimed == {"_id": 3, "name": "Cid", "age": 47, "city": "Paris", "claimed": True}
    before = await people.find_one_and_update(
        {"city": "Paris", "claimed": {"$exists": False}},
        {"$set": {"claimed": True}},
        sort=[("age", 1)],
        return_new=False,
        projection={"name": 1, "claimed": 1},
    )
    assert before == {"_id": 1, "name": "Ann"}
    assert await people.find_one_and_update({"city": "Rome"}, {"$set": {"x": 1}}) is None
    created = await people.find_one_and_update({"_id": 8}, {"$set": {"name": "Hal"}}, upsert=True)
    assert created == {"_id": 8, "name": "Hal"}


async def test_delete_one_and_delete_many_return_deleted_counts(
    people: Collection,
) -> None:
    await seed(people)
    assert await people.delete_one({"city": "Paris"}) == 1
    assert await people.delete_one({"city": "Rome"}) == 0
    assert await people.delete_many({"city": "Paris"}) == 2
    assert await ids_of(people) == [2, 4]
    assert await people.delete_many({}) == 2
    assert await people.count({}) == 0


# -- where mongomock differs from a server, the adapter agrees with the server ----------


@pytest.fixture
async def with_null_parents(people: Collection) -> Collection:
    await people.insert_many(
        [
            {"_id": 1, "a": None},
            {"_id": 2, "a": {"b": None}},
            {"_id": 3},
            {"_id": 4, "a": {"b": 1}},
            {"_id": 5, "a": {"c": 1}},
        ]
    )
    return people


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"a.b": None}, [1, 2, 3, 5]),
        ({"a.b": {"$eq": None}}, [1, 2, 3, 5]),
        ({"a.b": {"$ne": None}}, [4]),
        ({"a.b": {"$in": [None, 1]}}, [1, 2, 3, 4, 5]),
        ({"a.b": {"$nin": [None]}}, [4]),
        ({"$or": [{"a.b": None}, {"_id": 4}]}, [1, 2, 3, 4, 5]),
        ({"a.b": {"$ne": None, "$gt": 0}}, [4]),
        ({"a": None}, [1, 3]),
        ({"a.b": {"$exists": False}}, [1, 3, 5]),
    ],
)
async def test_a_null_parent_makes_a_dotted_path_null_as_on_a_server(
    with_null_parents: Collection, query: dict[str, Any], expected: list[int]
) -> None:
    assert await ids_of(with_null_parents, query) == expected
    assert await with_null_parents.count(query) == len(expected)
    first = await with_null_parents.find_one(query, sort=[("_id", 1)])
    assert first is not None and first["_id"] == expected[0]
    assert [d["_id"] for d in await with_null_parents.find_all(query, sort=[("_id", 1)])] == (
        expected
    )


async def test_null_parents_in_writes(with_null_parents: Collection) -> None:
    assert await with_null_parents.update_many({"a.b": None}, {"$set": {"seen": True}}) == 4
    assert await ids_of(with_null_parents, {"seen": True}) == [1, 2, 3, 5]
    assert await with_null_parents.delete_many({"a.b": {"$ne": None}}) == 1
    assert await ids_of(with_null_parents) == [1, 2, 3, 5]


async def test_mul_multiplies_and_sets_a_missing_field_to_zero(people: Collection) -> None:
    await people.insert_many([{"_id": 1, "n": 2}, {"_id": 2, "n": 3, "x": 1.5}, {"_id": 3}])
    assert await people.update_one({"_id": 1}, {"$mul": {"n": 5}, "$set": {"t": "a"}}) == 1
    assert await people.find_one({"_id": 1}) == {"_id": 1, "n": 10, "t": "a"}
    assert await people.update_many({}, {"$mul": {"n": 2, "x": 2}}) == 3
    assert await people.find_all({}, sort=[("_id", 1)]) == [
        {"_id": 1, "n": 20, "t": "a", "x": 0},
        {"_id": 2, "n": 6, "x": 3.0},
        {"_id": 3, "n": 0, "x": 0},
    ]
    found = await people.find_one_and_update({"_id": 2}, {"$mul": {"x": 0.5}})
    assert found == {"_id": 2, "n": 6, "x": 1.5}
    before = await people.find_one_and_update({"_id": 2}, {"$mul": {"n": 2}}, return_new=False)
    assert before is not None and before["n"] == 6
    assert await people.update_one({"_id": 9}, {"$mul": {"n": 4}}, upsert=True) == 0
    assert await people.find_one({"_id": 9}) == {"_id": 9, "n": 0}
    assert await people.update_one({"_id": 42}, {"$mul": {"n": 4}}) == 0
    assert await people.find_one_and_update({"_id": 42}, {"$mul": {"n": 4}}) is None


async def test_mul_on_a_non_number_is_refused(people: Collection) -> None:
    await people.insert_one({"_id": 1, "n": "two"})
    with pytest.raises(PyMongoError, match="non-numeric"):
        await people.update_one({"_id": 1}, {"$mul": {"n": 2}})
    assert await people.find_one({"_id": 1}) == {"_id": 1, "n": "two"}


# -- indexes and collections --------------------------------------------------------------


async def test_indexes_are_created_listed_and_dropped(people: Collection) -> None:
    await people.create()
    assert await people.index_information() == {"_id_": {"v": 2, "key": [("_id", 1)]}}
    name = await people.create_index([("city", 1), ("age", -1)], unique=True, name="city_age")
    assert name == "city_age"
    assert await people.create_index([("name", 1)]) == "name_1"
    information = await people.index_information()
    assert sorted(information) == ["_id_", "city_age", "name_1"]
    assert information["city_age"]["key"] == [("city", 1), ("age", -1)]
    assert information["city_age"]["unique"] is True
    assert information["name_1"]["key"] == [("name", 1)]
    assert "unique" not in information["name_1"]
    await people.drop_index("city_age")
    assert sorted(await people.index_information()) == ["_id_", "name_1"]


async def test_collections_are_created_once_and_dropped(database: Database) -> None:
    orders = database.collection("orders")
    await orders.create()
    await orders.create()
    await database.collection("people").insert_one({"name": "Ann"})
    assert await database.list_collection_names() == ["orders", "people"]
    await orders.drop()
    assert await database.list_collection_names() == ["people"]


async def test_database_drop_removes_every_collection(database: Database) -> None:
    await database.collection("a").insert_one({"x": 1})
    await database.collection("b").insert_one({"x": 1})
    await database.drop()
    assert await database.list_collection_names() == []
    assert await database.collection("a").count({}) == 0


# -- duplicate keys -----------------------------------------------------------------------


@pytest.fixture
async def accounts(database: Database) -> Collection:
    accounts = database.collection("accounts")
    await accounts.create_index([("email", 1)], unique=True, name="email_unique")
    await accounts.create_index([("team", 1), ("handle", -1)], unique=True, name="team_handle")
    await accounts.insert_many(
        [
            {"_id": 1, "email": "ann@x.io", "team": "a", "handle": "ann"},
            {"_id": 2, "email": "bob@x.io", "team": "a", "handle": "bob"},
        ]
    )
    return accounts


async def test_insert_one_duplicate_reports_index_keys_and_value(
    accounts: Collection,
) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.insert_one({"email": "ann@x.io", "team": "b", "handle": "x"})
    assert caught.value.index == "email_unique"
    assert caught.value.properties == ["email"]
    assert caught.value.value == {"email": "ann@x.io"}
    assert caught.value.index_in_batch is None
    assert await accounts.count({}) == 2


async def test_insert_one_duplicate_id_reports_the_id_index(accounts: Collection) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.insert_one({"_id": 2, "email": "new@x.io", "team": "c", "handle": "c"})
    assert caught.value.index == "_id_"
    assert caught.value.properties == ["_id"]
    assert caught.value.value == {"_id": 2}


async def test_insert_one_duplicate_on_a_compound_index(accounts: Collection) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.insert_one({"email": "new@x.io", "team": "a", "handle": "bob"})
    assert caught.value.index == "team_handle"
    assert caught.value.properties == ["team", "handle"]
    assert caught.value.value == {"team": "a", "handle": "bob"}


async def test_insert_many_duplicate_reports_batch_index_and_stored_ids(
    accounts: Collection,
) -> None:
    batch: list[dict[str, Any]] = [
        {"email": "c@x.io", "team": "b", "handle": "c"},
        {"_id": 11, "email": "d@x.io", "team": "b", "handle": "d"},
        {"_id": 12, "email": "bob@x.io", "team": "b", "handle": "e"},
        {"_id": 13, "email": "f@x.io", "team": "b", "handle": "f"},
    ]
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.insert_many(batch)
    assert caught.value.index_in_batch == 2
    assert [doc["_id"] for doc in batch[:2]] == [stored_first := batch[0]["_id"], 11]
    assert isinstance(stored_first, ObjectId)  # ids are set on the documents before sending
    assert caught.value.index == "email_unique"
    assert caught.value.properties == ["email"]
    assert caught.value.value == {"email": "bob@x.io"}
    stored = {doc["_id"] async for doc in accounts.find({"team": "b"})}
    assert stored == {batch[0]["_id"], 11}
    assert await accounts.count({"_id": 13}) == 0


async def test_insert_many_duplicate_id_in_the_first_item(accounts: Collection) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.insert_many([{"_id": 1, "email": "z@x.io", "team": "z", "handle": "z"}])
    assert caught.value.index_in_batch == 0
    assert caught.value.index == "_id_"
    assert caught.value.value == {"_id": 1}


async def test_update_one_duplicate_names_the_broken_index(accounts: Collection) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.update_one({"_id": 2}, {"$set": {"email": "ann@x.io"}})
    assert caught.value.index == "email_unique"
    assert caught.value.value == {"email": "ann@x.io"}
    # the second unique index is broken while the first still holds the document's own
    # value (mongomock alone would name email_unique here)
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.update_one({"_id": 2}, {"$set": {"handle": "ann"}})
    assert caught.value.index == "team_handle"
    assert caught.value.properties == ["team", "handle"]
    assert caught.value.value == {"team": "a", "handle": "ann"}
    assert await accounts.find_one({"_id": 2}, projection={"handle": 1}) == {
        "_id": 2,
        "handle": "bob",
    }


async def test_update_one_upsert_duplicate(accounts: Collection) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.update_one(
            {"_id": 30},
            {"$set": {"email": "bob@x.io", "team": "z", "handle": "z"}},
            upsert=True,
        )
    assert caught.value.index == "email_unique"
    assert caught.value.value == {"email": "bob@x.io"}


async def test_update_many_duplicate(accounts: Collection) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.update_many({"team": "a"}, {"$set": {"email": "same@x.io"}})
    assert caught.value.index == "email_unique"
    assert caught.value.properties == ["email"]
    assert caught.value.value == {"email": "same@x.io"}


async def test_replace_one_duplicate(accounts: Collection) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.replace_one({"_id": 2}, {"email": "bob@x.io", "team": "a", "handle": "ann"})
    assert caught.value.index == "team_handle"
    assert caught.value.properties == ["team", "handle"]
    assert caught.value.value == {"team": "a", "handle": "ann"}


async def test_find_one_and_update_duplicate(accounts: Collection) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await accounts.find_one_and_update({"_id": 1}, {"$set": {"email": "bob@x.io"}})
    assert caught.value.index == "email_unique"
    assert caught.value.properties == ["email"]
    assert caught.value.value == {"email": "bob@x.io"}


async def test_a_report_without_key_details_is_completed_from_message_and_indexes(
    accounts: Collection,
) -> None:
    # what servers older than MongoDB 4.2 send: the index and the value only in the message
    old_server_report = {
        "code": 11000,
        "errmsg": "E11000 duplicate key error collection: db.accounts index: team_handle "
        'dup key: { : "a", : "bob" }',
    }
    info = await accounts._duplicate_key(old_server_report, WriteAttempt(), None)
    assert info.index_name == "team_handle"
    assert info.key_pattern == {"team": 1, "handle": -1}
    assert info.key_value == {"team": "a", "handle": "bob"}
    named_fields_report = {
        "code": 11000,
        "errmsg": 'index: email_unique dup key: { email: "ann@x.io" }',
    }
    info = await accounts._duplicate_key(named_fields_report, WriteAttempt(), None)
    assert (info.index_name, info.key_pattern) == ("email_unique", {"email": 1})
    assert info.key_value == {"email": "ann@x.io"}


DUPLICATING_WRITES = {
    "insert_one": lambda c: c.insert_one({"email": "ann@x.io", "team": "b", "handle": "x"}),
    "insert_many": lambda c: c.insert_many([{"email": "n@x.io"}, {"email": "ann@x.io"}]),
    "update_one": lambda c: c.update_one({"_id": 2}, {"$set": {"email": "ann@x.io"}}),
    "update_many": lambda c: c.update_many({}, {"$set": {"email": "same@x.io"}}),
    "replace_one": lambda c: c.replace_one({"_id": 2}, {"email": "ann@x.io"}),
    "find_one_and_update": lambda c: c.find_one_and_update(
        {"_id": 2}, {"$set": {"email": "ann@x.io"}}
    ),
}


@pytest.mark.parametrize("write", sorted(DUPLICATING_WRITES))
async def test_a_duplicate_key_is_odms_error_caused_by_the_drivers(
    accounts: Collection, write: str
) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await DUPLICATING_WRITES[write](accounts)
    error = caught.value
    assert type(error) is DuplicateKeyError
    assert error.model == "accounts"  # no model given: the collection and its fields
    assert error.properties == ["email"] and error.index == "email_unique"
    with pytest.raises(PyMongoError) as from_driver:
        await DUPLICATING_WRITES[write](accounts.raw)  # the same write, straight to the driver
    cause = error.__cause__
    assert type(cause) is type(from_driver.value)  # the driver's own exception, kept
    assert "11000" in str(cause) or "E11000" in str(cause)


async def test_other_driver_errors_are_raised_unchanged(accounts: Collection) -> None:
    update = {"$inc": {"email": 1}}  # $inc on a string: refused by every backend
    with pytest.raises(Exception) as from_driver:
        await accounts.raw.update_one({"_id": 1}, update)
    with pytest.raises(Exception) as from_adapter:
        await accounts.update_one({"_id": 1}, update)
    assert not isinstance(from_adapter.value, DuplicateKeyError)
    assert type(from_adapter.value) is type(from_driver.value)


# -- transactions -------------------------------------------------------------------------


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_transaction_commits_on_success(database: Database) -> None:
    people = database.collection("people")
    await people.create()
    async with database.transaction() as session:
        await people.insert_one({"_id": 1, "name": "Ann"}, session=session)
        await people.update_one({"_id": 1}, {"$set": {"age": 31}}, session=session)
        assert await people.count({}, session=session) == 1
    assert await people.find_one({"_id": 1}) == {"_id": 1, "name": "Ann", "age": 31}


@pytest.mark.backend_limit(mock=NO_TRANSACTIONS)
async def test_transaction_aborts_on_exception(database: Database) -> None:
    people = database.collection("people")
    await people.insert_one({"_id": 1, "name": "Ann"})
    with pytest.raises(RuntimeError, match="boom"):
        async with database.transaction() as session:
            await people.insert_one({"_id": 2, "name": "Bob"}, session=session)
            await people.delete_one({"_id": 1}, session=session)
            raise RuntimeError("boom")
    assert await ids_of(people) == [1]


async def test_transaction_on_mongomock_says_what_to_use_instead() -> None:
    from odm.drivers import close_client, open_mock_client

    client = open_mock_client()
    try:
        with pytest.raises(ODMError, match="mongomock-motor has no transactions") as caught:
            adapt(client["shop"]).transaction()
        assert "embedded" in str(caught.value)
        assert "replica set" in str(caught.value)
    finally:
        await close_client(client)
