"""``discover_model`` on every backend: a definition inferred from messy stored documents,
which ``define_model`` turns into a class that loads every one of them intact; and
``python -m odm discover`` printing it as JSON or as an importable module."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import sys
import types
import uuid
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, Decimal128, ObjectId

from odm import ODMError, Repository, define_model, discover_model, model_definition
from odm.__main__ import main
from odm.cli.discover import python_module
from odm.definitions import ModelRegistry
from odm.drivers import adapt
from odm.embedded import EmbeddedServer

JOINED = dt.datetime(2024, 3, 1, 9, 30)
REF = uuid.UUID("12345678-1234-5678-1234-567812345678")


def customers() -> list[dict[str, Any]]:
    """Documents as a few years of an app's changes leave them."""
    return [
        {
            "_id": ObjectId(),
            "first-name": "Ada",
            "email": "ada@example.com",
            "age": 36,
            "address": {"city": "London", "zip": "N1 9GU", "geo": {"lat": 51.5, "lng": -0.1}},
            "tags": ["vip", "beta"],
            "orders": [{"sku": "A-1", "qty": 2, "price": 9.5}],
            "joined": JOINED,
            "active": True,
            "balance": Decimal128("10.25"),
        },
        {
            "_id": ObjectId(),
            "first-name": "Bob",
            "email": "bob@example.com",
            "age": 41.5,
            "address": {"city": "Paris"},
            "tags": [],
            "orders": [
                {"sku": "B-2", "qty": 1, "price": 3},
                {"sku": "C-3", "qty": 1, "gift": True},
            ],
            "active": None,
            "class": "gold",
            "score": "high",
            "balance": Decimal128("0"),
        },
        {
            "_id": ObjectId(),
            "first-name": None,
            "email": "carol@example.com",
            "address": None,
            "score": 7,
            "ref": Binary.from_uuid(REF),
            "avatar": Binary(b"\x89PNG\x00\x01"),
            "meta": {},
            "legacy.flag": 1,
        },
    ]


async def seed(db: Any, name: str, documents: list[dict[str, Any]]) -> None:
    await adapt(db).collection(name).insert_many([dict(d) for d in documents])


async def test_the_definition_merges_types_over_the_documents(odm_db: Any) -> None:
    await seed(odm_db, "customers", customers())
    definition = await discover_model(odm_db, "customers")
    assert definition["name"] == "Customer"
    assert definition["settings"] == {"strict": False, "mongodb": {"collection": "customers"}}
    properties = definition["properties"]
    assert properties["id"] == {"type": "string", "id": True, "generated": True}
    assert properties["first_name"] == {"type": "string", "mongodb": {"fieldName": "first-name"}}
    assert properties["email"] == {"type": "string", "required": True}
    assert properties["age"] == {"type": "number"}
    assert properties["address"] == {"type": "CustomerAddress"}
    assert properties["tags"] == {"type": ["string"]}
    assert properties["orders"] == {"type": ["CustomerOrders"]}
    assert properties["joined"] == {"type": "date"}
    assert properties["active"] == {"type": "boolean"}
    assert properties["class_"] == {"type": "string", "mongodb": {"fieldName": "class"}}
    assert properties["score"] == {"type": "any"}
    assert properties["ref"] == {"type": "uuid"}
    assert properties["avatar"] == {"type": "buffer"}
    assert properties["meta"] == {"type": "object"}
    assert properties["balance"] == {"type": "number", "mongodb": {"dataType": "Decimal128"}}
    assert "legacy.flag" not in properties and "legacy_flag" not in properties
    models = definition["models"]
    assert list(models) == ["CustomerAddressGeo", "CustomerAddress", "CustomerOrders"]
    assert models["CustomerAddress"]["properties"] == {
        "city": {"type": "string", "required": True},
        "zip": {"type": "string"},
        "geo": {"type": "CustomerAddressGeo"},
    }
    assert models["CustomerOrders"] == {
        "name": "CustomerOrders",
        "base": "Model",
        "properties": {
            "sku": {"type": "string", "required": True},
            "qty": {"type": "integer", "required": True},
            "price": {"type": "number"},
            "gift": {"type": "boolean"},
        },
        "settings": {"strict": False},
    }
    # the definition is in the normal form model_definition writes
    cls = define_model(definition, registry=ModelRegistry())
    assert model_definition(cls, include_models=True) == definition


async def test_define_model_loads_every_sampled_document_intact(odm_db: Any) -> None:
    stored = customers()
    await seed(odm_db, "customers", stored)
    cls = define_model(await discover_model(odm_db, "customers"), registry=ModelRegistry())
    found = {entity.email: entity for entity in await Repository(cls, odm_db).find()}
    assert len(found) == 3
    ada, bob, carol = (found[d["email"]] for d in stored)
    assert ada.id == str(stored[0]["_id"])
    assert ada.first_name == "Ada" and ada.age == 36 and ada.joined == JOINED.replace(tzinfo=dt.UTC)
    assert ada.address.geo.lat == 51.5 and ada.address.zip == "N1 9GU"
    assert [o.model_dump() for o in bob.orders] == [
        {"sku": "B-2", "qty": 1, "price": 3.0, "gift": None},
        {"sku": "C-3", "qty": 1, "price": None, "gift": True},
    ]
    assert bob.class_ == "gold" and bob.score == "high" and bob.age == 41.5
    assert bob.active is None and bob.tags == []
    assert carol.first_name is None and carol.address is None and carol.score == 7
    assert carol.ref == REF and bytes(carol.avatar) == b"\x89PNG\x00\x01" and carol.meta == {}
    assert str(ada.balance) == "10.25"
    assert carol.model_extra == {"legacy.flag": 1}


async def test_other_ids_are_caller_supplied_ids_of_their_type(odm_db: Any) -> None:
    await seed(odm_db, "skus", [{"_id": "A-1", "n": 1}, {"_id": "B-2", "n": 2, "x": None}])
    definition = await discover_model(odm_db, "skus", name="Sku")
    assert definition["name"] == "Sku"
    assert definition["properties"] == {
        "id": {"type": "string", "id": True},
        "n": {"type": "integer", "required": True},
        "x": {"type": "any"},
    }
    cls = define_model(definition, registry=ModelRegistry())
    repo = Repository(cls, odm_db)
    assert sorted((e.id, e.n) for e in await repo.find()) == [("A-1", 1), ("B-2", 2)]


async def test_the_sample_is_sample_size_documents(odm_db: Any) -> None:
    await seed(odm_db, "events", [{"_id": i, "kind": "a"} for i in range(20)])
    await seed(odm_db, "events", [{"_id": 100 + i, "kind": "b", "extra": i} for i in range(20)])
    definitions = [await discover_model(odm_db, "events", sample_size=5) for _ in range(2)]
    for definition in definitions:
        assert definition["properties"]["id"] == {"type": "integer", "id": True}
        assert set(definition["properties"]) <= {"id", "kind", "extra"}


async def test_an_empty_collection_gives_only_the_id(odm_db: Any) -> None:
    definition = await discover_model(odm_db, "nothing_here")
    assert definition["properties"] == {"id": {"type": "string", "id": True, "generated": True}}


@pytest.mark.parametrize("bad", [0, -1, True, "10"])
async def test_a_bad_sample_size_is_refused(odm_db: Any, bad: Any) -> None:
    with pytest.raises(ODMError, match="sample_size must be a positive integer"):
        await discover_model(odm_db, "customers", sample_size=bad)


# --- the Python module of the definition, and the command line ------------------------


def import_module(source: str, tmp_path: Path, name: str) -> types.ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the annotations in the module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


async def test_the_python_module_imports_and_its_class_loads_the_documents(
    odm_db: Any, tmp_path: Path
) -> None:
    stored = customers()
    await seed(odm_db, "customers", stored)
    definition = await discover_model(odm_db, "customers")
    source = python_module(definition)
    assert '    first_name: str | None = prop(None, field_name="first-name")\n' in source
    assert "    email: str\n" in source
    assert "    id: str = prop(id=True, generated=True)\n" in source
    assert '@model(collection="customers", strict=False)\nclass Customer(Entity):' in source
    module = import_module(source, tmp_path, "discovered_customers")
    assert model_definition(module.Customer, include_models=True) == definition
    found = {e.email: e for e in await Repository(module.Customer, odm_db).find()}
    assert sorted(found) == sorted(d["email"] for d in stored)
    assert found["bob@example.com"].orders[1].gift is True
    assert found["ada@example.com"].address.geo.lng == -0.1
    assert found["carol@example.com"].ref == REF


on_the_server_only = pytest.mark.backend_limit(
    mock="the command opens its own client: it cannot share the test's in-memory mock "
    "(the mock runs discover_model and python_module through the tests above)",
    uri="runs on the embedded server",
)


async def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``python -m odm ARGS`` in a thread of this process (it runs its own event loop)."""
    code = await asyncio.to_thread(main, list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def database_options(odm_db: Any, odm_backend: str, server: EmbeddedServer) -> list[str]:
    uri = server.uri.replace("/?", f"/{odm_db.name}?", 1)
    return ["--uri", uri, "--driver", "motor" if odm_backend == "motor" else "pymongo"]


@on_the_server_only
async def test_the_command_prints_the_definition_as_json(
    odm_db: Any,
    odm_backend: str,
    odm_backend_server: EmbeddedServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await seed(odm_db, "customers", customers())
    options = database_options(odm_db, odm_backend, odm_backend_server)
    code, out, err = await cli(capsys, "discover", "customers", *options, "--sample", "50")
    assert (code, err) == (0, "")
    assert json.loads(out) == await discover_model(odm_db, "customers")
    code, out, _ = await cli(capsys, "discover", "customers", *options, "--name", "Client")
    assert code == 0 and json.loads(out)["name"] == "Client"
    assert "ClientAddress" in json.loads(out)["models"]


@on_the_server_only
async def test_the_command_prints_an_importable_module(
    odm_db: Any,
    odm_backend: str,
    odm_backend_server: EmbeddedServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    stored = customers()
    await seed(odm_db, "customers", stored)
    options = database_options(odm_db, odm_backend, odm_backend_server)
    code, out, err = await cli(capsys, "discover", "customers", *options, "--format", "python")
    assert (code, err) == (0, "")
    module = import_module(out, tmp_path, "cli_customers")
    found = await Repository(module.Customer, odm_db).find()
    assert sorted(e.email for e in found) == sorted(d["email"] for d in stored)
    assert sorted(str(e.first_name) for e in found) == ["Ada", "Bob", "None"]


@on_the_server_only
async def test_the_command_refuses_a_bad_sample_and_a_bad_class_name(
    odm_db: Any,
    odm_backend: str,
    odm_backend_server: EmbeddedServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    options = database_options(odm_db, odm_backend, odm_backend_server)
    code, out, err = await cli(capsys, "discover", "customers", *options, "--sample", "0")
    assert (code, out) == (1, "")
    assert (
        err
        == "odm discover: error: discover_model: sample_size must be a positive integer, not 0\n"
    )
    code, out, err = await cli(
        capsys, "discover", "customers", *options, "--format", "python", "--name", "my-model"
    )
    assert (code, out) == (1, "")
    assert "'my-model' is not a Python class name; give the model another with --name" in err


async def test_ids_of_several_types_make_an_any_id_that_loads_each(odm_db: Any) -> None:
    oid = ObjectId()
    await seed(odm_db, "mixed", [{"_id": "a", "n": 1}, {"_id": oid, "n": 2}, {"_id": 3}])
    definition = await discover_model(odm_db, "mixed")
    assert definition["properties"]["id"] == {"type": "any", "id": True}
    cls = define_model(definition, registry=ModelRegistry())
    found = {e.n: e.id for e in await Repository(cls, odm_db).find()}
    assert found == {1: "a", 2: oid, None: 3}
