"""The update translator (plain data and operators -> one MongoDB update document), the
upsert step, and the rulebook they read. Pure: no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128, ObjectId

from odm import Entity, Model, ValidationError, model, prop
from odm.rules import (
    MAX_DATA_DEPTH,
    MAX_DOCUMENT_SIZE,
    MAX_FILTER_DEPTH,
    depth_exceeds,
    field_name_problem,
    name_problem,
    value_problem,
)
from odm.scoping import scope_values
from odm.types import SCALAR_TABLE, SCALARS
from odm.updates import UPDATE_OPERATORS, translate_update, upsert_document


@model()
class Spot(Model):
    city: str
    zip_code: str = prop(default="", field_name="zip")
    code: str | None = prop(default=None, hidden=True)


@model(collection="u_rows", scope={"where": {"tenant": "a", "spot.city": "Paris"}})
class Row(Entity):
    name: str = prop(json_schema={"maxLength": 5})
    count: int = prop(default=0, field_name="n")
    ratio: float = 0.0
    price: Decimal = Decimal("0")
    level: int = prop(default=1, json_schema={"minimum": 1, "maximum": 5})
    at: dt.datetime | None = None
    tags: list[str] = prop(default_factory=list)
    few: list[int] = prop(default_factory=list, json_schema={"maxItems": 3})
    counts: dict[str, int] = prop(default_factory=dict)
    spot: Spot | None = None
    tenant: str = "a"
    note: str | None = None
    token: str = prop(default_fn="uuidv4")
    secret: str | None = prop(default=None, hidden=True)


def plan_of(data: dict[str, Any], **options: Any) -> dict[str, Any]:
    return translate_update(Row, data, allow_extended_operators=True, **options).document()


def refused(data: dict[str, Any], **options: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as error:
        translate_update(Row, data, allow_extended_operators=True, **options)
    return [(d["path"], d["code"]) for d in error.value.details]


# --- the rulebook ---------------------------------------------------------------------


def test_name_rules_are_stated_once() -> None:
    assert name_problem("ok") is None
    assert [name_problem(n) is None for n in ("$x", "a.b", "", "a\x00", "\ud800", 3)] == [False] * 6
    assert field_name_problem("$bad") == name_problem("$bad")


def test_storability_rules() -> None:
    assert value_problem(2**63 - 1) is None
    assert value_problem(2**63) == "is beyond the 64-bit integers MongoDB stores"
    assert value_problem("\ud800") == "is not valid UTF-8 text (a lone surrogate)"
    assert value_problem(Decimal("1." + "1" * 40)) is not None
    assert value_problem(True) is None


def test_limits() -> None:
    assert (MAX_DATA_DEPTH, MAX_FILTER_DEPTH, MAX_DOCUMENT_SIZE) == (100, 32, 16 * 1024 * 1024)
    value: Any = 1
    for _ in range(MAX_DATA_DEPTH):
        value = [value]
    assert not depth_exceeds(value)
    assert depth_exceeds([value])


def test_the_scalar_table_is_the_one_source() -> None:
    from odm.definition_export import SCALAR_NAMES as _SCALAR_NAMES
    from odm.schema import _SCALAR_SCHEMAS

    assert tuple(row.python for row in SCALAR_TABLE) == SCALARS
    assert [python for python, _ in _SCALAR_SCHEMAS] == list(SCALARS)
    assert [python for python, _ in _SCALAR_NAMES] == list(SCALARS)


def test_scope_values_reach_dotted_paths() -> None:
    assert scope_values(Row.odm_meta(), Row.odm_meta().settings.scope) == {
        "tenant": "a",
        "spot.city": "Paris",
    }


# --- operators ------------------------------------------------------------------------


def test_plain_data_and_operators_are_mapped_to_field_names() -> None:
    assert plan_of(
        {
            "name": "Bo",
            "$inc": {"count": 2},
            "$mul": {"ratio": 1.5},
            "$min": {"price": Decimal("1.5")},
            "$push": {"tags": {"$each": ["a", "b"]}},
            "$currentDate": {"at": True},
            "$unset": {"note": ""},
            "$set": {"counts.x": 3},
        }
    ) == {
        "$set": {"name": "Bo", "counts.x": 3},
        "$inc": {"n": 2},
        "$mul": {"ratio": 1.5},
        "$min": {"price": Decimal128("1.5")},
        "$push": {"tags": {"$each": ["a", "b"]}},
        "$currentDate": {"at": True},
        "$unset": {"note": ""},
    }


def test_list_operators_take_items_of_the_item_type() -> None:
    assert plan_of({"$addToSet": {"tags": "a"}, "$max": {"count": 3}}) == {
        "$addToSet": {"tags": "a"},
        "$max": {"n": 3},
    }
    assert plan_of({"$pullAll": {"tags": ["z"]}, "$pop": {"few": -1}}) == {
        "$pullAll": {"tags": ["z"]},
        "$pop": {"few": -1},
    }


def test_every_operator_of_the_contract_is_known() -> None:
    assert {
        "$inc", "$mul", "$min", "$max", "$unset", "$push", "$pull", "$addToSet",
        "$currentDate", "$set", "$pop", "$pullAll",
    } == UPDATE_OPERATORS  # fmt: skip


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"$inc": {"count": 0.5}}, ("$inc.count", "type")),
        ({"$mul": {"count": 1.5}}, ("$mul.count", "type")),
        ({"$inc": {"name": 1}}, ("$inc.name", "type")),
        ({"$inc": {"count": True}}, ("$inc.count", "type")),
        ({"$currentDate": {"name": True}}, ("$currentDate.name", "type")),
        ({"$currentDate": {"at": {"$type": "timestamp"}}}, ("$currentDate.at", "type")),
        ({"$push": {"tags": 5}}, ("$push.tags.0", "type")),
        ({"$push": {"tags": {"$each": ["a"], "$slice": 2}}}, ("$push.tags", "type")),
        ({"$push": {"few": 1}}, ("$push.few", "type")),  # could pass maxItems
        ({"$addToSet": {"name": "x"}}, ("$addToSet.name", "type")),
        ({"$unset": {"name": ""}}, ("$unset.name", "presence")),
        ({"$pop": {"tags": 2}}, ("$pop.tags", "type")),
        ({"$pop": {"tags": True}}, ("$pop.tags", "type")),
        ({"$pop": {"name": 1}}, ("$pop.name", "type")),
        ({"$pullAll": {"tags": "a"}}, ("$pullAll.tags", "type")),
        ({"$pullAll": {"tags": [1]}}, ("$pullAll.tags.0", "type")),
        ({"$set": {"counts.x": "many"}}, ("$set.counts.x.x", "type")),
        ({"$set": {"tags.0": 5}}, ("$set.tags.0.0", "type")),
        ({"$set": {"name": "too long"}}, ("$set.name", "maxLength")),
        ({"$rename": {"name": "other"}}, ("$rename", "invalid-operator")),
        ({"$setOnInsert": {"name": "x"}}, ("$setOnInsert", "invalid-operator")),
        ({"$set": {"id": str(ObjectId())}}, ("$set.id", "immutable")),
        ({"$set": {"n": 3}}, ("$set.n", "unknown-property")),
    ],
)
def test_operators_keep_the_property_type(data: dict[str, Any], expected: Any) -> None:
    assert refused(data) == [expected]


@pytest.mark.parametrize(
    "data",
    [
        {"name": "a", "$set": {"name": "b"}},
        {"$inc": {"count": 1}, "$mul": {"count": 2}},
        {"spot": {"city": "Paris"}, "$set": {"spot.zip_code": "1"}},
        {"$set": {"spot": {"city": "Paris"}, "spot.zip_code": "1"}},
        {"$push": {"tags": "a"}, "$pull": {"tags": "b"}},
    ],
)
def test_a_property_updated_twice_is_a_conflicting_update(data: dict[str, Any]) -> None:
    assert [code for _, code in refused(data)] == ["conflicting-update"]


def test_the_scope_cannot_be_left_through_any_operator() -> None:
    scope = scope_values(Row.odm_meta(), Row.odm_meta().settings.scope)
    for data in (
        {"tenant": "b"},
        {"spot": None},
        {"spot": {"city": "Lyon"}},
        {"$set": {"tenant": "b"}},
        {"$set": {"spot.city": "Lyon"}},
        {"$unset": {"spot": ""}},
        {"$max": {"tenant": "z"}},
    ):
        assert [code for _, code in refused(data, scope_values=scope)] == ["scope-conflict"]
    assert plan_of({"$set": {"spot.city": "Paris"}, "tenant": "a"}, scope_values=scope) == {
        "$set": {"spot.city": "Paris", "tenant": "a"}
    }


def test_pull_conditions_go_through_the_filter_translator() -> None:
    assert plan_of({"$pull": {"tags": {"inq": ["a", "b"]}}}) == {
        "$pull": {"tags": {"$in": ["a", "b"]}}
    }
    assert [code for _, code in refused({"$pull": {"tags": {"$where": "1"}}})] == [
        "invalid-condition"
    ]


def test_hidden_values_never_reach_update_errors() -> None:
    with pytest.raises(ValidationError) as error:
        translate_update(Row, {"secret": ["s3cret"], "$set": {"spot.code": ["hush"]}},
                         allow_extended_operators=True)  # fmt: skip
    assert [d["value"] for d in error.value.details] == [None, None]
    assert "s3cret" not in str(error.value) and "hush" not in str(error.value)


def test_an_update_over_the_size_limit_is_refused() -> None:
    assert refused({"note": "x" * (MAX_DOCUMENT_SIZE + 1)}) == [("", "document-too-large")]


# --- upserts --------------------------------------------------------------------------


def test_an_upsert_sets_on_insert_what_a_create_would_store() -> None:
    scope = scope_values(Row.odm_meta(), Row.odm_meta().settings.scope)
    document = upsert_document(
        Row,
        {"name": "Al"},
        {"$inc": {"count": 1}, "note": "n"},
        scope_values=scope,
        allow_extended_operators=True,
    )
    on_insert = document.pop("$setOnInsert")
    assert document == {"$inc": {"n": 1}, "$set": {"note": "n"}}
    assert set(on_insert) == {
        "name", "ratio", "price", "level", "at", "tags", "few", "counts", "spot", "tenant",
        "token", "secret",
    }  # fmt: skip
    assert on_insert["spot"] == {"city": "Paris", "zip": "", "code": None}
    assert on_insert["tenant"] == "a" and len(on_insert["token"]) == 36


def test_an_upsert_refuses_a_chosen_id_on_a_force_id_model() -> None:
    with pytest.raises(ValidationError) as error:
        upsert_document(Row, {"id": str(ObjectId())}, {"name": "Al"})
    assert error.value.codes == ["absence"]


def test_an_upsert_needs_what_a_create_needs() -> None:
    with pytest.raises(ValidationError) as error:
        upsert_document(Row, {"tenant": "a"}, {"note": "n"})
    assert error.value.codes == ["presence"]
    assert error.value.details[0]["message"].endswith("(in the document an upsert inserts)")


def test_an_increment_of_a_bounded_property_is_guarded_not_refused() -> None:
    plan = translate_update(Row, {"$inc": {"level": 1}}, allow_extended_operators=True)
    assert plan.document() == {"$inc": {"level": 1}}
    assert plan.guards == {"level": {"$lte": 4}}
    assert plan.guard({"_id": 1}) == {"$and": [{"_id": 1}, {"level": {"$lte": 4}}]}
    down = translate_update(Row, {"$inc": {"level": -2}}, allow_extended_operators=True)
    assert down.guards == {"level": {"$gte": 3}}
    error = down.out_of_bounds(Row.odm_meta(), {"level": 2})
    assert error.codes == ["minimum"]
    assert error.details[0]["path"] == "$inc.level"
    assert translate_update(Row, {"$inc": {"count": 5}}, allow_extended_operators=True).guards == {}


def test_an_upsert_cannot_increment_a_bounded_property() -> None:
    with pytest.raises(ValidationError) as error:
        upsert_document(
            Row, {"name": "a"}, {"$inc": {"level": 1}}, allow_extended_operators=True
        )
    assert error.value.codes == ["invalid-operator"]
