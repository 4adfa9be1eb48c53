"""Projections that do not invent data, on every backend: a read with ``fields`` returns
instances whose left-out properties are unset (read as None, omitted from
``model_dump()``/``to_json()``, never defaulted); saving, replacing or creating one is
``partial-instance`` and writes nothing; ``update(entity)`` writes only what it holds."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from odm import Entity, Model, Repository, ValidationError, model, prop
from odm.partial import is_partial, missing_properties

from ..hardening.test_write_properties import PROGRAMS_ON_A_DATABASE


class Address(Model):
    city: str
    street: str = prop(default="unknown", field_name="st")


@model(collection="proj_servers")
class Server(Entity):
    host: str
    port: int = 80
    tags: list[str] = []
    password: str = prop(default="changeme", hidden=True)
    address: Address | None = prop(default=None, field_name="addr")
    backups: list[Address] = []


STORED = {
    "host": "db1",
    "port": 8080,
    "tags": ["a"],
    "password": "s3cret",
    "address": {"city": "Paris", "street": "rue Cler"},
    "backups": [{"city": "Lyon", "street": "quai"}],
}


async def stored(odm_db: Any) -> tuple[Repository[Server], Server, dict[str, Any]]:
    repo = Repository(Server, odm_db)
    server = await repo.create(STORED)
    raw = await repo.collection.find_one({"_id": ObjectId(server.id)})
    return repo, server, raw


async def test_left_out_properties_are_unset_not_defaulted(odm_db: Any) -> None:
    repo, server, _ = await stored(odm_db)
    found = await repo.find_by_id(server.id, {"fields": ["host"]})
    assert found.id == server.id and found.host == "db1"
    assert found.port is None  # unset, read as None: never the class default 80
    assert found.model_dump() == {"id": server.id, "host": "db1"}
    assert found.model_dump(mode="json") == found.to_json() == {"id": server.id, "host": "db1"}
    assert found.to_json(include_hidden=True) == {"id": server.id, "host": "db1"}
    assert found.model_fields_set == {"id", "host"}
    assert is_partial(found) and not is_partial(server)
    assert missing_properties(found) == ["port", "tags", "password", "address", "backups"]
    assert "port" not in repr(found)


async def test_every_read_is_partial(odm_db: Any) -> None:
    repo, server, _ = await stored(odm_db)
    fields = {"fields": ["port"]}
    reads = [
        await repo.find(fields),
        [await repo.find_one(fields)],
        [await repo.find_by_id(server.id, fields)],
        await repo.find_by_ids([server.id], fields),
        [item async for item in repo.iterate(fields)],
        await Repository(Server, odm_db, validate_on_load=False).find(fields),
    ]
    for found in reads:
        assert [item.model_dump() if item else None for item in found] == [
            {"id": server.id, "port": 8080}
        ]


async def test_exclusions_and_sub_paths(odm_db: Any) -> None:
    repo, server, _ = await stored(odm_db)
    found = await repo.find_by_id(server.id, {"fields": {"password": False, "tags": False}})
    assert found.password is None and found.tags is None
    assert found.to_json(include_hidden=True) == {
        "id": server.id,
        "host": "db1",
        "port": 8080,
        "address": {"city": "Paris", "street": "rue Cler"},
        "backups": [{"city": "Lyon", "street": "quai"}],
    }
    nested = await repo.find_by_id(server.id, {"fields": ["address.city", "backups.city"]})
    assert nested.to_json() == {
        "id": server.id,
        "address": {"city": "Paris"},
        "backups": [{"city": "Lyon"}],
    }
    assert nested.address is not None and nested.address.street is None
    assert missing_properties(nested)[-2:] == ["address.street", "backups.street"]


async def test_saving_a_partial_instance_is_refused_and_writes_nothing(odm_db: Any) -> None:
    repo, server, raw = await stored(odm_db)
    found = await repo.find_by_id(server.id, {"fields": ["host", "password"]})
    found.host = "db2"
    attempts = [
        repo.save(found),
        repo.replace_by_id(server.id, found),
        repo.create(found),
        repo.create_all([found]),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as caught:
            await attempt
        assert caught.value.codes == ["partial-instance"]
        assert "port" in str(caught.value) and "password" not in str(caught.value)
    assert await repo.collection.find_one({"_id": ObjectId(server.id)}) == raw
    assert await repo.count() == 1


async def test_update_writes_only_what_the_instance_holds(odm_db: Any) -> None:
    repo, server, raw = await stored(odm_db)
    found = await repo.find_by_id(server.id, {"fields": ["host"]})
    found.host = "db2"
    await repo.update(found)
    assert await repo.collection.find_one({"_id": ObjectId(server.id)}) == {**raw, "host": "db2"}
    nested = await repo.find_by_id(server.id, {"fields": ["address.city"]})
    with pytest.raises(ValidationError) as caught:
        await repo.update(nested)  # writing address whole would erase its street
    assert caught.value.codes == ["partial-instance"]
    assert caught.value.details[0]["path"] == "address"
    assert await repo.collection.find_one({"_id": ObjectId(server.id)}) == {**raw, "host": "db2"}


PROPERTIES = ["id", "host", "port", "tags", "password", "address", "backups"]


@settings(PROGRAMS_ON_A_DATABASE, max_examples=20)
@given(
    chosen=st.lists(st.sampled_from(PROPERTIES), unique=True, max_size=4),
    exclude=st.booleans(),
)
async def test_a_projected_read_then_update_changes_nothing(
    odm_db: Any, chosen: list[str], exclude: bool
) -> None:
    repo = Repository(Server, odm_db)
    await repo.collection.delete_many({})
    server = await repo.create(STORED)
    before = await repo.collection.find_one({"_id": ObjectId(server.id)})
    fields: Any = dict.fromkeys(chosen, False) if exclude else chosen
    found = await repo.find_by_id(server.id, {"fields": fields})
    if set(found.model_fields_set) - {"id"}:
        await repo.update(found)
    assert await repo.collection.find_one({"_id": ObjectId(server.id)}) == before
    for name in PROPERTIES:
        held = name == "id" or (name not in chosen if exclude else name in chosen or not chosen)
        assert (name in found.model_fields_set) is held, name
