"""Named scopes on every backend: ``@model(scopes=...)`` and ``repo.scoped(name)``, merged
with the default scope (wheres AND-ed, the smaller limit, order/skip/fields of the named
scope else the default's), their equalities defaults on create and conflicts on writes;
checked when the class is created; carried by model definitions."""

from __future__ import annotations

from typing import Any

import pytest

from odm import (
    Entity,
    ModelDefinitionError,
    ODMError,
    Repository,
    ValidationError,
    define_model,
    model,
    model_definition,
)


@model(
    collection="ns_customers",
    scope={"where": {"deleted": False}, "limit": 3, "order": ["name ASC"]},
    scopes={
        "vip": {"where": {"tier": "vip"}, "order": ["spent DESC"], "limit": 10},
        "top": {"where": {"spent": {"gte": 100}}, "limit": 2},
    },
)
class Customer(Entity):
    name: str
    tier: str = "basic"
    spent: int = 0
    deleted: bool = False


@model(collection="ns_sub")
class SubCustomer(Customer):
    pass


async def seed(repo: Repository[Customer]) -> None:
    await repo.unscoped().create_all(
        [
            {"name": "ann", "tier": "vip", "spent": 50},
            {"name": "bob", "tier": "vip", "spent": 500},
            {"name": "cid", "tier": "vip", "spent": 200, "deleted": True},
            {"name": "dan", "tier": "basic", "spent": 300},
            {"name": "eve", "tier": "vip", "spent": 120},
            {"name": "fay", "tier": "vip", "spent": 10},
            {"name": "gus", "tier": "vip", "spent": 20},
        ]
    )


async def test_named_scope_and_default_scope_are_both_applied(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await seed(repo)
    vip = repo.scoped("vip")
    # where AND-ed (no deleted cid, no basic dan), the named order, the smaller limit (3)
    assert [c.name for c in await vip.find()] == ["bob", "eve", "ann"]
    assert await vip.count() == 5
    # the call's order and limit within the merged scope
    assert [c.name for c in await vip.find({"order": ["name ASC"], "limit": 2})] == ["ann", "bob"]
    top = repo.scoped("top")
    assert [c.name for c in await top.find()] == ["bob", "dan"]  # limit 2, default's order
    # unscoped then scoped: the named scope alone
    assert [c.name for c in await repo.unscoped().scoped("vip").find()] == [
        "bob",
        "cid",
        "eve",
        "ann",
        "gus",
        "fay",
    ]
    # scopes compose
    both = repo.scoped("vip").scoped("top")
    assert [c.name for c in await both.find()] == ["bob", "eve"]
    assert repo.scope == Customer.odm_meta().settings.scope  # the repository is unchanged


async def test_named_scope_equalities_are_create_defaults_and_write_conflicts(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    vip = repo.scoped("vip")
    created = await vip.create({"name": "hal"})
    assert created.tier == "vip"
    stored = await repo.collection.find_one({"name": "hal"})
    assert (stored["tier"], stored["deleted"]) == ("vip", False)
    with pytest.raises(ValidationError) as error:
        await vip.create({"name": "ian", "tier": "basic"})
    assert [(d["path"], d["code"]) for d in error.value.details] == [("tier", "scope-conflict")]
    with pytest.raises(ValidationError) as update_error:
        await vip.update_by_id(created.id, {"tier": "basic"})
    assert [d["code"] for d in update_error.value.details] == ["scope-conflict"]
    with pytest.raises(ValidationError):
        await vip.update_all({"deleted": True})
    assert (await repo.collection.find_one({"name": "hal"}))["tier"] == "vip"
    # an upsert under the named scope inserts in it
    made, was_created = await vip.find_or_create({"name": "jo"})
    assert was_created and made.tier == "vip"
    assert (await repo.collection.find_one({"name": "jo"}))["tier"] == "vip"


async def test_unknown_scope_name_is_an_odm_error(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    with pytest.raises(ODMError) as error:
        repo.scoped("gold")
    assert "no scope 'gold'" in str(error.value)
    assert "'top', 'vip'" in str(error.value)


async def test_scopes_are_inherited(odm_db: Any) -> None:
    repo = Repository(SubCustomer, odm_db)
    await repo.create({"name": "kim", "tier": "vip"})
    assert [c.name for c in await repo.scoped("vip").find()] == ["kim"]


def test_scopes_are_checked_when_the_class_is_created() -> None:
    with pytest.raises(ModelDefinitionError) as unknown:

        @model(collection="ns_bad", scopes={"bad": {"where": {"nope": 1}}})
        class Bad(Entity):
            name: str

    assert "scope 'bad'" in str(unknown.value)
    with pytest.raises(ModelDefinitionError):

        @model(collection="ns_bad2", scopes={"bad": ["not", "a", "filter"]})  # type: ignore[dict-item]
        class Bad2(Entity):
            name: str


def test_model_definition_and_define_model_carry_scopes() -> None:
    definition = model_definition(Customer)
    assert definition["settings"]["scopes"]["vip"] == {
        "where": {"tier": "vip"},
        "order": ["spent DESC"],
        "limit": 10,
    }
    rebuilt = define_model({**definition, "name": "RebuiltCustomer"})
    assert rebuilt.odm_meta().settings.scopes["top"] == {
        "where": {"spent": {"gte": 100}},
        "limit": 2,
    }
