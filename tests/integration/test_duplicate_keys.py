"""Every write that breaks a unique index raises DuplicateKeyError naming the properties,
with the driver's own exception as its ``__cause__`` (on the mock too)."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import BulkWriteError
from pymongo.errors import DuplicateKeyError as DriverDuplicateKeyError

from odm import DuplicateKeyError, Entity, Model, ODMError, Repository, model, prop


@model()
class Profile(Model):
    handle: str = prop(field_name="h")


@model(
    collection="members",
    indexes={
        "team_handle": {"keys": {"team": 1, "profile.handle": 1}, "options": {"unique": True}}
    },
)
class Member(Entity):
    email: str = prop(unique=True, field_name="mail")
    team: str = prop(field_name="t")
    profile: Profile
    rank: int = 0


EMAIL = {"properties": ["email"], "index": "mail_1"}
TEAM_HANDLE = {"properties": ["team", "profile.handle"], "index": "team_handle"}


def member(email: str, team: str = "red", handle: str | None = None) -> dict[str, Any]:
    return {"email": email, "team": team, "profile": {"handle": handle or email.split("@")[0]}}


@pytest.fixture
async def members(odm_db: Any) -> Repository[Member]:
    repo = Repository(Member, odm_db)
    await repo.migrate()
    await repo.create(member("ann@x.io", "red", "ann"))
    await repo.create(member("bob@x.io", "blue", "bob"))
    return repo


def check(error: DuplicateKeyError, expected: dict[str, Any], value: dict[str, Any]) -> None:
    assert error.properties == expected["properties"]
    assert error.index == expected["index"]
    assert error.value == value
    assert error.model == "Member"
    assert isinstance(error, ODMError)
    assert_caused_by_the_driver(error)


def assert_caused_by_the_driver(error: DuplicateKeyError) -> None:
    assert type(error) is DuplicateKeyError
    # pymongo's own error type on every backend (mongomock raises pymongo's errors too)
    assert isinstance(error.__cause__, DriverDuplicateKeyError | BulkWriteError), error.__cause__
    assert "E11000" in str(error.__cause__)


async def test_create_duplicate_email(members: Repository[Member]) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await members.create(member("ann@x.io", "green", "other"))
    check(caught.value, EMAIL, {"email": "ann@x.io"})
    assert "duplicate Member email" in str(caught.value)
    assert await members.count() == 2


async def test_create_duplicate_compound_key_names_nested_renamed_property(
    members: Repository[Member],
) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await members.create(member("new@x.io", "red", "ann"))
    check(caught.value, TEAM_HANDLE, {"team": "red", "profile.handle": "ann"})


async def test_create_all_names_the_failed_item_and_keeps_the_earlier_ones(
    members: Repository[Member],
) -> None:
    items = [
        Member(**member("c@x.io")),
        Member(**member("d@x.io")),
        Member(**member("bob@x.io", "green")),
        Member(**member("e@x.io")),
    ]
    with pytest.raises(DuplicateKeyError) as caught:
        await members.create_all(items)
    check(caught.value, EMAIL, {"email": "bob@x.io"})
    assert caught.value.index_in_batch == 2
    assert "item 2 of the batch" in str(caught.value)
    stored = {m.email for m in await members.find()}
    assert stored == {"ann@x.io", "bob@x.io", "c@x.io", "d@x.io"}
    assert items[0].id is not None and items[1].id is not None
    assert (await members.find_by_id(items[0].id)).email == "c@x.io"
    assert (await members.find_by_id(items[1].id)).email == "d@x.io"
    assert items[2].id is None and items[3].id is None  # not stored: no id


async def test_create_all_duplicate_inside_the_batch(members: Repository[Member]) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await members.create_all([member("c@x.io"), member("c@x.io", "green")])
    check(caught.value, EMAIL, {"email": "c@x.io"})
    assert caught.value.index_in_batch == 1
    assert await members.count() == 3


async def test_replace_by_id(members: Repository[Member]) -> None:
    bob = await members.find_one({"where": {"email": "bob@x.io"}})
    assert bob is not None
    with pytest.raises(DuplicateKeyError) as caught:
        await members.replace_by_id(bob.id, member("ann@x.io", "blue", "bob"))
    check(caught.value, EMAIL, {"email": "ann@x.io"})
    assert (await members.find_by_id(bob.id)).email == "bob@x.io"


async def test_update_all(members: Repository[Member]) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await members.update_all({"email": "ann@x.io"}, {"email": "bob@x.io"})
    check(caught.value, EMAIL, {"email": "ann@x.io"})


async def test_update_all_compound_key(members: Repository[Member]) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await members.update_all({"team": "red", "profile": {"handle": "ann"}}, {"team": "blue"})
    check(caught.value, TEAM_HANDLE, {"team": "red", "profile.handle": "ann"})


async def test_update_by_id(members: Repository[Member]) -> None:
    bob = await members.find_one({"where": {"email": "bob@x.io"}})
    assert bob is not None
    with pytest.raises(DuplicateKeyError) as caught:
        await members.update_by_id(bob.id, {"email": "ann@x.io"})
    check(caught.value, EMAIL, {"email": "ann@x.io"})


async def test_update_entity(members: Repository[Member]) -> None:
    bob = await members.find_one({"where": {"email": "bob@x.io"}})
    assert bob is not None
    bob.team, bob.profile = "red", Profile(handle="ann")
    with pytest.raises(DuplicateKeyError) as caught:
        await members.update(bob)
    check(caught.value, TEAM_HANDLE, {"team": "red", "profile.handle": "ann"})


async def test_find_one_and_update(members: Repository[Member]) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await members.find_one_and_update({"email": "bob@x.io"}, {"email": "ann@x.io"})
    check(caught.value, EMAIL, {"email": "ann@x.io"})
    assert await members.count({"email": "bob@x.io"}) == 1


async def test_find_one_and_update_upsert(members: Repository[Member]) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await members.find_one_and_update(
            {"email": "zed@x.io"},
            {"team": "red", "profile": {"handle": "ann"}},
            upsert=True,
        )
    check(caught.value, TEAM_HANDLE, {"team": "red", "profile.handle": "ann"})


async def test_save_new_entity(members: Repository[Member]) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        await members.save(Member(**member("ann@x.io", "green")))
    check(caught.value, EMAIL, {"email": "ann@x.io"})


async def test_save_stored_entity(members: Repository[Member]) -> None:
    bob = await members.find_one({"where": {"email": "bob@x.io"}})
    assert bob is not None
    bob.email = "ann@x.io"
    with pytest.raises(DuplicateKeyError) as caught:
        await members.save(bob)
    check(caught.value, EMAIL, {"email": "ann@x.io"})


async def test_duplicate_id(members: Repository[Member], odm_db: Any) -> None:
    @model(collection="codes")
    class Code(Entity):
        id: str = prop(id=True)

    codes = Repository(Code, odm_db)
    await codes.create({"id": "A"})
    with pytest.raises(DuplicateKeyError) as caught:
        await codes.create({"id": "A"})
    assert caught.value.properties == ["id"]
    assert caught.value.index == "_id_"
    assert caught.value.value == {"id": "A"}
    assert_caused_by_the_driver(caught.value)
