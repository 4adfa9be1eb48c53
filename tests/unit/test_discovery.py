"""The pure part of discovery: a model definition inferred from documents, its Python
module, and (property) every document it was inferred from loads and stores back as is."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, Decimal128, ObjectId, Regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odm import ODMError, define_model, discover_model, model_definition
from odm.cli.discover import python_module
from odm.codec import decode, encode
from odm.definitions import ModelRegistry
from odm.discovery import infer_definition, model_name_for


def props(*documents: dict[str, Any]) -> dict[str, Any]:
    return infer_definition(documents, name="Thing", collection="things")["properties"]


def types_of(*values: Any) -> Any:
    return props(*({"v": value} for value in values))["v"]["type"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((1, 2), "integer"),
        ((1, 2.5), "number"),
        ((1.5,), "number"),
        (("a", "b"), "string"),
        ((True, False), "boolean"),
        ((True, 1), "any"),
        (("7", 7), "any"),
        ((dt.datetime(2024, 1, 1),), "date"),
        ((ObjectId(),), "ObjectId"),
        ((uuid.uuid4(), Binary.from_uuid(uuid.uuid4())), "uuid"),
        ((b"\x00", Binary(b"\x01", 0)), "buffer"),
        ((Regex("^a"),), "any"),
        (({}, {}), "object"),
        (({"a": 1}, "flat"), "any"),
        (([1], 1), "any"),
        (([1, 2.5], [3]), ["number"]),
        (([], []), ["any"]),
        (([1, None],), ["any"]),
        (([[1, 2], [3]],), ["any"]),
        ((["a"], [1]), ["any"]),
    ],
)
def test_types_are_merged_across_documents(values: tuple[Any, ...], expected: Any) -> None:
    assert types_of(*values) == expected


def test_only_nulls_give_any_and_nothing_is_required() -> None:
    assert props({"v": None}, {"v": None})["v"] == {"type": "any"}


def test_required_only_where_present_and_not_null_in_every_document() -> None:
    found = props({"a": 1, "b": 1, "c": 1}, {"a": 2, "b": None}, {"a": 3, "c": 2})
    assert found["a"] == {"type": "integer", "required": True}
    assert found["b"] == {"type": "integer"}
    assert found["c"] == {"type": "integer"}


def test_nested_objects_are_named_models_required_within_their_parent() -> None:
    definition = infer_definition(
        [
            {"address": {"city": "Oslo", "zip": "0150"}, "lines": [{"sku": "a", "qty": 1}]},
            {"address": {"city": "Rome"}, "lines": [{"sku": "b"}, {"sku": "c", "qty": 2.5}]},
            {"address": None, "lines": []},
            {"address": {}},
        ],
        name="Order",
        collection="orders",
    )
    assert definition["properties"]["address"] == {"type": "OrderAddress"}
    assert definition["properties"]["lines"] == {"type": ["OrderLines"]}
    assert definition["models"] == {
        "OrderAddress": {
            "name": "OrderAddress",
            "base": "Model",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "settings": {"strict": False},
        },
        "OrderLines": {
            "name": "OrderLines",
            "base": "Model",
            "properties": {"sku": {"type": "string", "required": True}, "qty": {"type": "number"}},
            "settings": {"strict": False},
        },
    }


def test_model_names_that_collide_get_a_number() -> None:
    definition = infer_definition(
        [{"ship_to": {"a": 1}, "shipTo": {"b": 1}}], name="Order", collection="orders"
    )
    assert definition["properties"]["ship_to"] == {"type": "OrderShipTo", "required": True}
    assert definition["properties"]["shipTo"] == {"type": "OrderShipTo2", "required": True}


def test_field_names_that_are_not_property_names_are_mapped() -> None:
    found = props(
        {
            "first-name": "a",
            "first_name": "b",
            "_class": "c",
            "class": "d",
            "2fa": True,
            "copy": 1,
            "id": "legacy",
            "a.b": 1,
            "$weird": 1,
        }
    )
    mapped = {name: spec.get("mongodb", {}).get("fieldName") for name, spec in found.items()}
    assert mapped == {
        "id_": None,
        "first_name_": "first-name",
        "first_name": None,
        "class_": "_class",
        "class__": "class",
        "f_2fa": "2fa",
        "copy_": "copy",
        "id": None,
    }


def test_the_id_is_odm_s_generated_id_for_object_ids_else_a_supplied_one() -> None:
    assert props({"_id": ObjectId()})["id"] == {"type": "string", "id": True, "generated": True}
    assert props({"_id": 1}, {"_id": 2})["id"] == {"type": "integer", "id": True}
    assert props({"_id": uuid.uuid4()})["id"] == {"type": "uuid", "id": True}
    assert props({"_id": "a"}, {"_id": 1})["id"] == {"type": "any", "id": True}
    assert props({"_id": {"a": 1}})["id"] == {"type": "any", "id": True}


@pytest.mark.parametrize(
    ("collection", "name"),
    [
        ("customers", "Customer"),
        ("order_items", "OrderItem"),
        ("categories", "Category"),
        ("boxes", "Box"),
        ("address", "Address"),
        ("status", "Statu"),  # naive: give name= where it guesses wrong
        ("2024-logs", "M2024Log"),
        ("---", "Document"),
    ],
)
def test_the_model_name_comes_from_the_collection(collection: str, name: str) -> None:
    assert model_name_for(collection) == name


# documents as real collections hold them: odd keys, mixed types, nulls, nesting
keys = st.sampled_from(["name", "first-name", "class", "_x", "qty", "2fa", "tags", "id"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.builds(Binary.from_uuid, st.uuids()),
    st.builds(Decimal128, st.decimals(min_value=-(10**6), max_value=10**6, places=2)),
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.replace(microsecond=0)),
    st.binary(max_size=3),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(keys, inner, min_size=1, max_size=3)
    ),
    max_leaves=8,
)
documents = st.lists(
    st.builds(
        lambda fields, oid: {"_id": oid, **fields},
        st.dictionaries(keys, values, max_size=5),
        st.builds(ObjectId),
    ),
    min_size=1,
    max_size=6,
)


def without_added_nulls(stored: Any, original: Any) -> Any:
    """``stored`` without the nulls odm writes for the properties ``original`` lacks."""
    if isinstance(stored, dict) and isinstance(original, dict):
        return {
            key: without_added_nulls(value, original.get(key))
            for key, value in stored.items()
            if key in original or value is not None
        }
    if isinstance(stored, list) and isinstance(original, list):
        return [without_added_nulls(s, o) for s, o in zip(stored, original, strict=True)]
    return stored


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(documents)
def test_every_document_loads_and_stores_back_as_it_was(sample: list[dict[str, Any]]) -> None:
    definition = infer_definition(sample, name="Sampled", collection="sampled")
    cls = define_model(definition, registry=ModelRegistry())
    for document in sample:
        stored = encode(decode(cls, document))
        assert without_added_nulls(stored, document) == document  # 1 == 1.0: equal


def test_the_python_module_declares_each_property_as_the_definition_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = infer_definition(
        [
            {"_id": 7, "e-mail": "a@b.c", "n": 1, "at": dt.datetime(2024, 1, 1), "o": ObjectId()},
            {"_id": 8, "e-mail": "d@e.f", "n": None, "x": [{"k": 1}], "any": "1"},
            {"_id": 9, "e-mail": "g@h.i", "any": 1, "blob": b"1", "u": uuid.uuid4()},
        ],
        name="Row",
        collection="rows",
    )
    source = python_module(definition)
    body = source.split("class Row(Entity):\n")[1]
    assert body.splitlines() == [
        "    id: int = prop(id=True)",
        '    e_mail: str = prop(field_name="e-mail")',
        "    n: int | None = None",
        "    at: datetime.datetime | None = None",
        "    o: ObjectId | None = None",
        "    x: list[RowX] | None = None",
        "    any: Any = None",
        "    blob: bytes | None = None",
        "    u: uuid.UUID | None = None",
    ]
    assert (
        "import datetime\nimport uuid\nfrom typing import Any\n\nfrom bson import ObjectId\n"
        in source
    )
    assert "@model(strict=False)\nclass RowX(Model):\n    k: int\n" in source
    (tmp_path / "discovered_rows.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("discovered_rows")
    monkeypatch.delitem(sys.modules, "discovered_rows")
    assert model_definition(module.Row, include_models=True) == definition
    row = decode(module.Row, {"_id": 1, "e-mail": "x", "x": [{"k": 2, "more": True}]})
    assert (row.id, row.e_mail, row.x[0].k, row.x[0].model_extra) == (1, "x", 2, {"more": True})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"collection": ""}, "a collection name is a non-empty string, not ''"),
        ({"sample_size": 0}, "sample_size must be a positive integer, not 0"),
        ({"sample_size": 2.5}, "sample_size must be a positive integer, not 2.5"),
        ({"name": ""}, "name must be a non-empty string, not ''"),
    ],
)
async def test_bad_arguments_are_refused_before_any_database_access(
    arguments: dict[str, Any], message: str
) -> None:
    call = {"collection": "customers", **arguments}
    with pytest.raises(ODMError, match=re.escape(f"discover_model: {message}")):
        await discover_model(None, call.pop("collection"), **call)
