"""The read side of the trust boundary, through the repository on every backend: an id
argument is an id, hidden stays hidden under ``prohibit_hidden_in_query``, names reach
the field of their property only, hostile nesting and patterns get an odm error fast, and
no error message names a hidden property.

Every test here failed on the code before these fixes (the id ones by matching or
deleting a document, the hidden ones by translating, the depth ones with RecursionError,
the like one by taking seconds on the mock)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from odm import Entity, EntityNotFoundError, InvalidFilterError, Model, Repository, model, prop


@model()
class Place(Model):
    city: str = ""
    code: str = prop(default="", hidden=True)


@model()
class Other(Model):
    label: str = ""


@model(strict=False)
class LoosePlace(Model):
    city: str = ""
    zip_code: str = prop(default="", field_name="zc")


@model(collection="trust_members", strict=False)
class Member(Entity):
    name: str
    email: str = ""
    password: str = prop(default="", hidden=True, field_name="pw")
    age: int = prop(default=0, field_name="ag")
    place: Place | None = None
    either: Place | Other | None = None
    places: dict[str, Place] = prop(default_factory=dict)
    loose: LoosePlace | None = None
    extra: dict[str, Any] = prop(default_factory=dict)


@model(collection="trust_numbered")
class Numbered(Entity):
    id: int = prop(id=True)
    label: str = ""


@model(collection="trust_uuids")
class Uuided(Entity):
    id: uuid.UUID = prop(id=True, default_fn="uuidv4")
    label: str = ""


@model(collection="trust_handles")
class Handle(Entity):
    id: str = prop(id=True)
    label: str = ""


HIDDEN_NAMES = ("password", "pw", "code")


def no_hidden_name(error: BaseException, given: Any) -> None:
    """The message names no hidden property the caller did not name themselves."""
    text, asked = str(error), repr(given)
    for name in HIDDEN_NAMES:
        if not re.search(rf"\b{name}\b", asked):
            assert not re.search(rf"\b{name}\b", text), text


async def two_members(db: Any, **options: Any) -> Repository[Member]:
    repo = Repository(Member, db, **options)
    await repo.create_all(
        [
            {
                "name": "admin",
                "email": "admin@example.com",
                "password": "s3cret",
                "age": 40,
                "place": {"city": "Paris", "code": "P1"},
                "either": {"city": "Lyon", "code": "L1"},
                "places": {"home": {"city": "Nice", "code": "N1"}},
            },
            {"name": "bob", "email": "bob@example.com", "password": "hunter2", "age": 30},
        ]
    )
    return repo


# --- 1. an id argument is an id ------------------------------------------------------

OPERATOR_IDS = [
    {"exists": True},
    {"neq": None},
    {"regexp": "^"},
    {"$ne": None},
    {"inq": []},
    ["x"],
    None,
    True,
]


@pytest.mark.parametrize("bad_id", OPERATOR_IDS, ids=repr)
async def test_an_operator_object_as_id_finds_updates_replaces_and_deletes_nothing(
    odm_db: Any, bad_id: Any
) -> None:
    repo = await two_members(odm_db, allow_extended_operators=True)
    before = sorted([doc["name"] async for doc in repo.collection.find({})])
    with pytest.raises(EntityNotFoundError):
        await repo.find_by_id(bad_id)
    assert await repo.exists(bad_id) is False
    with pytest.raises(EntityNotFoundError):
        await repo.update_by_id(bad_id, {"name": "pwned"})
    with pytest.raises(EntityNotFoundError):
        await repo.replace_by_id(bad_id, {"name": "pwned"})
    with pytest.raises(EntityNotFoundError):
        await repo.delete_by_id(bad_id)
    after = sorted([doc["name"] async for doc in repo.collection.find({})])
    assert after == before == ["admin", "bob"]


@pytest.mark.parametrize(
    "bad_id", [{"regexp": "^adm"}, {"like": "adm%"}, {"gt": ""}, {"neq": None}, ["admin"]]
)
async def test_a_text_id_is_never_a_pattern_or_a_range(odm_db: Any, bad_id: Any) -> None:
    handles = Repository(Handle, odm_db)
    await handles.create_all([{"id": "admin"}, {"id": "bob"}])
    assert await handles.exists(bad_id) is False
    with pytest.raises(EntityNotFoundError):
        await handles.find_by_id(bad_id)
    with pytest.raises(EntityNotFoundError):
        await handles.update_by_id(bad_id, {"label": "pwned"})
    with pytest.raises(EntityNotFoundError):
        await handles.delete_by_id(bad_id)
    assert sorted([doc["_id"] async for doc in handles.collection.find({})]) == ["admin", "bob"]
    assert [doc.get("label") async for doc in handles.collection.find({})] == ["", ""]
    assert await handles.exists("admin") is True


async def test_ids_are_coerced_to_the_id_type(odm_db: Any) -> None:
    members = await two_members(odm_db)
    admin = await members.find_one({"where": {"name": "admin"}})
    assert admin is not None and admin.id is not None
    assert (await members.find_by_id(str(admin.id))).name == "admin"
    assert await members.exists(admin.id.upper()) is True  # hex text, any case
    assert await members.exists(admin.id + "0") is False

    numbered = Repository(Numbered, odm_db)
    await numbered.create({"id": 5, "label": "five"})
    assert (await numbered.find_by_id("5")).label == "five"  # digits from a URL path
    assert await numbered.exists(5) is True
    assert await numbered.exists("five") is False
    assert await numbered.exists(2**70) is False  # beyond 64 bits: no such id
    with pytest.raises(EntityNotFoundError):
        await numbered.delete_by_id({"gt": 0})
    assert await numbered.count() == 1

    uuids = Repository(Uuided, odm_db)
    made = await uuids.create({"label": "u"})
    assert (await uuids.find_by_id(str(made.id))).label == "u"
    assert await uuids.exists("not-a-uuid") is False


# --- 3. prohibit_hidden_in_query has no bypass ----------------------------------------

HIDDEN_WHERES = [
    {"pw": "s3cret"},  # the hidden property's field name, strict=False
    {"password": {"like": "s3%"}},
    {"either.code": "L1"},  # a hidden property inside a union member
    {"either": {"city": "Lyon", "code": "L1"}},  # a whole union value
    {"either": {"inq": [{"city": "Lyon", "code": "L1"}]}},
    {"places": {"home": {"city": "Nice", "code": "N1"}}},  # dict[str, Model], whole
    {"places.home.code": "N1"},  # through the dict's values
    {"places.home": {"nin": [{"city": "Nice", "code": "N1"}]}},
    {"place": {"neq": {"city": "Paris", "code": "P1"}}},
    {"$expr": {"$eq": ["$pw", "s3cret"]}},
    {"$jsonSchema": {"properties": {"pw": {"enum": ["s3cret"]}}}},
    {"$nor": [{"$expr": {"$eq": ["$place.code", "P1"]}}]},
]


@pytest.mark.parametrize("where", HIDDEN_WHERES, ids=lambda w: repr(w)[:50])
async def test_prohibited_hidden_fields_cannot_be_tested_by_any_path(
    odm_db: Any, where: dict[str, Any]
) -> None:
    repo = await two_members(odm_db, prohibit_hidden_in_query=True, allow_extended_operators=True)
    for call in (
        lambda: repo.find({"where": where}),
        lambda: repo.find_one({"where": where}),
        lambda: repo.count(where),
        lambda: repo.delete_all(where),
        lambda: repo.update_all({"name": "x"}, where),
        lambda: repo.find_one_and_update(where, {"name": "x"}),
    ):
        with pytest.raises(InvalidFilterError) as caught:
            await call()
        no_hidden_name(caught.value, where)
    assert await repo.unscoped().count() == 2
    assert {doc["name"] async for doc in repo.collection.find({})} == {"admin", "bob"}


@pytest.mark.parametrize("order", ["place", "place DESC", "either", "places", "places.home"])
async def test_order_by_a_document_holding_a_hidden_field_is_refused(
    odm_db: Any, order: str
) -> None:
    repo = await two_members(odm_db, prohibit_hidden_in_query=True)
    with pytest.raises(InvalidFilterError) as caught:
        await repo.find({"order": order})
    no_hidden_name(caught.value, order)
    with pytest.raises(InvalidFilterError):
        await repo.find_one_and_update({"name": "bob"}, {"age": 31}, order=order)
    assert (await repo.find_one({"where": {"name": "bob"}})).age == 30  # type: ignore[union-attr]
    # The parts that hold no hidden field still sort.
    found = await repo.find({"order": "place.city DESC"})
    assert [m.name for m in found] == ["admin", "bob"]


async def test_without_prohibit_hidden_the_same_queries_run(odm_db: Any) -> None:
    repo = await two_members(odm_db, allow_extended_operators=True)
    assert [m.name for m in await repo.find({"where": {"either.code": "L1"}})] == ["admin"]
    assert [m.name for m in await repo.find({"where": {"places.home.code": "N1"}})] == ["admin"]
    assert await repo.count({"password": {"like": "s3%"}}) == 1
    assert [m.name for m in await repo.find({"order": "place DESC"})] == ["admin", "bob"]


# --- 2. a stored field name is not a property name (strict=False) ----------------------


@pytest.mark.parametrize(
    "filter",
    [
        {"where": {"ag": 40}},  # age is stored as "ag"
        {"where": {"_id": {"neq": None}}},
        {"where": {"loose.zc": "1"}},  # an embedded strict=False model's field name
        {"where": {"or": [{"name": "x"}, {"ag": {"gt": 1}}]}},
        {"order": "ag DESC"},
        {"fields": ["ag"]},
    ],
    ids=repr,
)
async def test_a_declared_field_name_is_refused_in_filters(
    odm_db: Any, filter: dict[str, Any]
) -> None:
    repo = await two_members(odm_db)
    with pytest.raises(InvalidFilterError) as caught:
        await repo.find(filter)
    assert "stored name of a declared property" in caught.value.reason
    if "where" in filter:
        with pytest.raises(InvalidFilterError):
            await repo.delete_all(filter["where"])
    assert await repo.count() == 2
    # The property names and undeclared names still work.
    assert await repo.count({"age": 40}) == 1
    assert await repo.count({"undeclared": None}) == 2


# --- 8, 9. hostile nesting and patterns -------------------------------------------------


def nested_ands(depth: int) -> dict[str, Any]:
    where: dict[str, Any] = {"name": "admin"}
    for _ in range(depth):
        where = {"and": [where]}
    return where


def deep_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    "where",
    [nested_ands(400), {"extra": deep_dict(1000)}, {"extra.k": {"eq": deep_dict(40)}}],
    ids=["400 ands", "1000-level dict", "40-level eq"],
)
async def test_deep_filters_are_refused_naming_the_limit(
    odm_db: Any, where: dict[str, Any]
) -> None:
    repo = await two_members(odm_db)
    for call in (
        lambda: repo.find({"where": where}),
        lambda: repo.count(where),
        lambda: repo.delete_all(where),
    ):
        with pytest.raises(InvalidFilterError) as caught:
            await call()
        assert "32" in caught.value.reason
    assert await repo.count(nested_ands(10)) == 1  # shallow nesting is fine


async def test_deep_values_anywhere_in_a_filter_or_as_an_id_get_an_odm_error(
    odm_db: Any,
) -> None:
    repo = await two_members(odm_db)
    deep = deep_dict(5000)
    for filter in ({"order": [deep]}, {"fields": deep}, {"limit": deep}):
        with pytest.raises(InvalidFilterError, match="32"):
            await repo.find(filter)
    with pytest.raises(EntityNotFoundError):
        await repo.find_by_id(deep)
    with pytest.raises(EntityNotFoundError):
        await repo.delete_by_id(deep)
    with pytest.raises(EntityNotFoundError):
        await repo.update_by_id(deep, {"name": "x"})
    with pytest.raises(EntityNotFoundError):
        await repo.replace_by_id(deep, {"name": "x"})
    assert await repo.exists(deep) is False
    assert await repo.count() == 2


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("%" * 20 + "x", False),
        ("%" * 20 + "n", True),
        ("%a%a%a%a%a%a%a%a%a%a%a%b", False),
        ("%d%m%n", True),
        ("a%m_n", True),
    ],
)
async def test_like_patterns_match_without_backtracking(
    odm_db: Any, pattern: str, matches: bool
) -> None:
    repo = Repository(Member, odm_db)
    await repo.create({"name": "admin", "email": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    started = time.perf_counter()
    found = await repo.count({"name": {"like": pattern}})
    by_email = await repo.count({"email": {"ilike": pattern}})
    assert time.perf_counter() - started < 2.0
    assert found == (1 if matches else 0)
    assert by_email == 0


async def test_like_patterns_are_bounded(odm_db: Any) -> None:
    repo = await two_members(odm_db)
    with pytest.raises(InvalidFilterError, match="1024"):
        await repo.find({"where": {"name": {"like": "a" * 1025}}})
    with pytest.raises(InvalidFilterError, match="32"):
        await repo.find({"where": {"name": {"nlike": "%a" * 33}}})
    assert await repo.count({"name": {"like": "%" * 500 + "n"}}) == 1  # runs collapse


async def test_a_repository_can_refuse_regexp(odm_db: Any) -> None:
    open_repo = await two_members(odm_db, allow_extended_operators=True)
    assert await open_repo.count({"name": {"regexp": "^adm"}}) == 1
    closed = Repository(Member, odm_db, allow_regexp=False, allow_extended_operators=True)
    for where in (
        {"name": {"regexp": "^adm"}},
        {"name": re.compile("^adm")},
        {"name": {"$regex": "^adm"}},
        {"or": [{"name": "x"}, {"email": {"regexp": "/a/i"}}]},
    ):
        with pytest.raises(InvalidFilterError, match="allow_regexp=False"):
            await closed.count(where)
    assert await closed.count({"name": {"like": "adm%"}}) == 1


# --- 10. no error message names a hidden property ---------------------------------------


@pytest.mark.parametrize(
    "filter",
    [
        {"order": "nope"},
        {"fields": ["nope"]},
        {"where": {"nope": 1, "password": "x"}},
        {"where": {"place.nope": 1}},
        {"where": {"place": {"city": "Paris"}}},
    ],
    ids=repr,
)
async def test_error_messages_do_not_list_hidden_names(odm_db: Any, filter: dict[str, Any]) -> None:
    @model(collection="trust_strict_members")
    class StrictMember(Entity):
        name: str
        password: str = prop(default="", hidden=True)
        place: Place | None = None

    repo = Repository(StrictMember, odm_db, prohibit_hidden_in_query=True)
    await repo.create({"name": "admin", "password": "s3cret", "place": {"code": "P1"}})
    with pytest.raises(InvalidFilterError) as caught:
        await repo.find(filter)
    no_hidden_name(caught.value, filter)
    assert "s3cret" not in str(caught.value)


# --- 13. an operator object in a value is an operator; eq is an equality ------------------


async def test_an_operator_object_in_a_value_is_a_query_and_eq_is_the_safe_idiom(
    odm_db: Any,
) -> None:
    repo = await two_members(odm_db)
    body: dict[str, Any] = {"email": {"neq": None}}  # an attacker's JSON body
    # Interpolated as a value, the body's dict IS an operator object: every member.
    assert await repo.count({"email": body["email"]}) == 2
    # {"eq": value} compares with the value itself: a dict for a text property is refused.
    with pytest.raises(InvalidFilterError):
        await repo.count({"email": {"eq": body["email"]}})
    with pytest.raises(InvalidFilterError):
        await repo.count({"email": {"eq": ["admin@example.com"]}})
    assert await repo.count({"email": {"eq": "admin@example.com"}}) == 1
    assert await repo.count({"age": {"eq": "40"}}) == 1  # coerced to the property's type
