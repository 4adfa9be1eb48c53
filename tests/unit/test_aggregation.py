"""The pure checks of ``aggregate``: a pipeline's shape, refused stages and operators at
any depth, hidden fields, and the scope's ``$match`` put first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128
from hypothesis import given, settings
from hypothesis import strategies as st

from odm import Entity, InvalidFilterError, Model, model, prop
from odm.aggregation import REFUSED_OPERATORS, check_pipeline, scoped_pipeline
from odm.hidden import HIDDEN_REASON


@model(hidden_properties=["pin"])
class Card(Model):
    number: str
    pin: str = ""


@model(collection="agg_users", hidden_properties=["password"])
class User(Entity):
    name: str
    password: str = prop(default="", field_name="pw")
    card: Card | None = None
    age: int = 0


META = User.odm_meta()


def refused(pipeline: Any, **options: Any) -> InvalidFilterError:
    with pytest.raises(InvalidFilterError) as caught:
        check_pipeline(pipeline, **options)
    return caught.value


def test_a_valid_pipeline_comes_back_as_a_list_of_stages() -> None:
    pipeline = ({"$match": {"age": {"$gt": 1}}}, {"$group": {"_id": "$name", "n": {"$sum": 1}}})
    assert check_pipeline(pipeline) == list(pipeline)


@pytest.mark.parametrize(
    ("pipeline", "path"),
    [
        ({"$match": {}}, "pipeline"),
        ("[]", "pipeline"),
        (None, "pipeline"),
        ([{"$match": {}, "$limit": 1}], "pipeline.0"),
        ([{}], "pipeline.0"),
        (["$match"], "pipeline.0"),
        ([{"match": {}}], "pipeline.0"),
        (
            [{"$lookup": {"from": "x", "as": "y", "pipeline": {"$match": {}}}}],
            "pipeline.0.$lookup.pipeline",
        ),
        ([{"$facet": {"a": [{"$limit": 1, "$skip": 1}]}}], "pipeline.0.$facet.a.0"),
        ([{"$facet": [{"$limit": 1}]}], "pipeline.0.$facet"),
        ([{"$unionWith": {"coll": "x", "pipeline": [3]}}], "pipeline.0.$unionWith.pipeline.0"),
    ],
)
def test_a_pipeline_that_is_not_a_list_of_one_key_stages_is_refused(
    pipeline: Any, path: str
) -> None:
    assert refused(pipeline).path == path


DOCUMENTED_REFUSALS = ["$accumulator", "$function", "$merge", "$out", "$where"]


def test_the_refused_operators_hold_the_writing_stages_and_javascript() -> None:
    assert set(DOCUMENTED_REFUSALS) <= REFUSED_OPERATORS


@pytest.mark.parametrize("operator", DOCUMENTED_REFUSALS)
def test_each_refused_operator_is_refused_as_a_stage_and_nested(operator: str) -> None:
    top = refused([{"$match": {}}, {operator: {}}])
    assert top.path == f"pipeline.1.{operator}"
    assert operator in top.reason and "refused" in top.reason
    nested = [
        [{"$lookup": {"from": "o", "as": "x", "pipeline": [{operator: "o"}]}}],
        [{"$unionWith": {"coll": "o", "pipeline": [{"$match": {}}, {operator: {}}]}}],
        [{"$facet": {"a": [{"$limit": 1}], "b": [{operator: {}}]}}],
        [{"$facet": {"a": [{"$facet": {"b": [{operator: {}}]}}]}}],
        [{"$project": {"x": {"$cond": [True, {operator: {}}, 1]}}}],
        [{"$match": {"$and": [{"age": 1}, {operator: "this.age > 1"}]}}],
    ]
    for pipeline in nested:
        error = refused(pipeline)
        assert error.path.endswith(operator), pipeline


def test_refused_operators_are_keys_only_a_string_value_is_data() -> None:
    assert check_pipeline([{"$match": {"name": "$out"}}]) == [{"$match": {"name": "$out"}}]


@pytest.mark.parametrize(
    "pipeline",
    [
        [{"$match": {"pw": "x"}}],
        [{"$match": {"password": "x"}}],
        [{"$project": {"pw": 1}}],
        [{"$sort": {"pw": 1}}],
        [{"$group": {"_id": "$pw"}}],
        [{"$group": {"_id": None, "p": {"$first": "$password"}}}],
        [{"$project": {"x": {"$concat": ["$name", "$pw"]}}}],
        [{"$match": {"card.pin": "1"}}],
        [{"$group": {"_id": "$card"}}],
        [{"$match": {"card": {"number": "1", "pin": "1"}}}],
        [{"$replaceRoot": {"newRoot": "$$ROOT"}}],
        [{"$project": {"x": "$$CURRENT.pw"}}],
        [{"$project": {"x": {"$let": {"vars": {"c": "$name"}, "in": "$$c.pw"}}}}],
        [{"$facet": {"a": [{"$match": {"pw": "x"}}]}}],
        [{"$lookup": {"from": "o", "as": "x", "pipeline": [{"$project": {"pw": 1}}]}}],
        [{"$lookup": {"from": "o", "as": "x", "localField": "pw", "foreignField": "a"}}],
        [{"$lookup": {"from": "o", "as": "x", "localField": "a", "foreignField": "card.pin"}}],
        [
            {
                "$graphLookup": {
                    "from": "o",
                    "startWith": "$name",
                    "connectFromField": "password",
                    "connectToField": "name",
                    "as": "x",
                }
            }
        ],
        [{"$geoNear": {"near": [0, 0], "distanceField": "d", "key": "pw"}}],
        [{"$unwind": {"path": "$pw"}}],
        [{"$sortByCount": "$card"}],
    ],
)
def test_a_pipeline_naming_a_hidden_field_is_refused_when_prohibited(
    pipeline: list[dict[str, Any]],
) -> None:
    error = refused(pipeline, meta=META)
    assert error.reason == HIDDEN_REASON
    assert not {"pw", "password", "pin"} & set(str(error).replace(":", ".").split("."))
    assert check_pipeline(pipeline) == pipeline  # allowed when hidden fields are not prohibited


def test_visible_fields_and_variables_pass_the_hidden_check() -> None:
    pipeline = [
        {"$match": {"age": {"$gte": 1}, "card.number": "1"}},
        {"$project": {"name": 1, "n": "$card.number", "now": "$$NOW"}},
        {"$group": {"_id": "$name", "total": {"$sum": "$age"}}},
        {"$lookup": {"from": "o", "as": "pw", "localField": "_id", "foreignField": "name"}},
    ]
    assert check_pipeline(pipeline, meta=META) == pipeline


def test_the_scope_match_comes_first() -> None:
    stages = [{"$limit": 1}]
    assert scoped_pipeline({"live": True}, stages, collection="c") == [
        {"$match": {"live": True}},
        {"$limit": 1},
    ]
    assert scoped_pipeline({}, stages, collection="c") == stages


def test_the_scope_goes_into_a_first_geo_near_query() -> None:
    near = {"$geoNear": {"near": [0, 0], "distanceField": "d", "query": {"a": 1}}}
    assert scoped_pipeline({"live": True}, [near], collection="c") == [
        {"$geoNear": {**near["$geoNear"], "query": {"$and": [{"live": True}, {"a": 1}]}}}
    ]
    bare = {"$geoNear": {"near": [0, 0], "distanceField": "d"}}
    assert scoped_pipeline({"live": True}, [bare], collection="c")[0]["$geoNear"]["query"] == {
        "live": True
    }


def test_reads_of_the_same_collection_at_any_depth_are_scoped_too() -> None:
    live = {"$match": {"live": True}}
    stages = [
        {"$unionWith": "c"},
        {"$unionWith": "other"},
        {"$unionWith": {"coll": "c", "pipeline": [{"$limit": 1}]}},
        {"$lookup": {"from": "c", "localField": "a", "foreignField": "b", "as": "x"}},
        {"$lookup": {"from": "other", "as": "x", "pipeline": [{"$unionWith": "c"}]}},
        {"$graphLookup": {"from": "c", "restrictSearchWithMatch": {"k": 1}, "as": "g"}},
        {"$graphLookup": {"from": "other", "as": "g"}},
        {"$facet": {"f": [{"$lookup": {"from": "c", "as": "y", "pipeline": []}}]}},
    ]
    assert scoped_pipeline({"live": True}, stages, collection="c") == [
        live,
        {"$unionWith": {"coll": "c", "pipeline": [live]}},
        {"$unionWith": "other"},
        {"$unionWith": {"coll": "c", "pipeline": [live, {"$limit": 1}]}},
        {
            "$lookup": {
                "from": "c",
                "localField": "a",
                "foreignField": "b",
                "as": "x",
                "pipeline": [live],
            }
        },
        {
            "$lookup": {
                "from": "other",
                "as": "x",
                "pipeline": [{"$unionWith": {"coll": "c", "pipeline": [live]}}],
            }
        },
        {
            "$graphLookup": {
                "from": "c",
                "restrictSearchWithMatch": {"$and": [{"live": True}, {"k": 1}]},
                "as": "g",
            }
        },
        {"$graphLookup": {"from": "other", "as": "g"}},
        {"$facet": {"f": [{"$lookup": {"from": "c", "as": "y", "pipeline": [live]}}]}},
    ]


json_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(
    body=json_values,
    operator=st.sampled_from(DOCUMENTED_REFUSALS),
    depth=st.integers(min_value=0, max_value=4),
)
def test_a_refused_operator_is_found_at_any_depth(body: Any, operator: str, depth: int) -> None:
    value: Any = {operator: body}
    for level in range(depth):
        value = [value] if level % 2 else {"$and": value, "x": body}
    with pytest.raises(InvalidFilterError):
        check_pipeline([{"$match": {"$expr": value}}])


def nested(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"$and": value}
    return value


def test_a_pipeline_nested_past_the_filter_limit_is_an_odm_error_not_a_recursion() -> None:
    deep = [{"$match": nested(1, 2000)}]
    assert "levels deep" in refused(deep).reason
    assert "levels deep" in refused(deep, meta=META).reason
    within = [{"$match": nested({"age": 1}, 31)}]
    assert check_pipeline(within) == within


hidden_names = st.sampled_from(["pw", "password", "card.pin", "card"])
visible_names = st.sampled_from(["name", "age", "card.number", "total", "_id"])


def placed(name: str, where: int, depth: int) -> list[dict[str, Any]]:
    """A pipeline naming ``name`` in one of several places, under ``depth`` levels."""
    holders: list[Any] = [
        {name: 1},
        {"x": f"${name}"},
        {"x": {"$concat": ["a", f"$$ROOT.{name}"]}},
        {"x": {"$map": {"input": "$l", "as": "i", "in": f"$$i.{name}"}}},
    ]
    body = nested(holders[where], depth)
    stage_names = ["$match", "$project", "$group", "$addFields"]
    stage = {stage_names[where]: body}
    return [{"$limit": 5}, {"$facet": {"f": [stage]}}] if depth % 2 else [stage]


@settings(max_examples=80, deadline=None)
@given(
    name=hidden_names,
    where=st.integers(min_value=0, max_value=3),
    depth=st.integers(min_value=0, max_value=6),
)
def test_naming_a_hidden_field_anywhere_is_refused_without_naming_it(
    name: str, where: int, depth: int
) -> None:
    error = refused(placed(name, where, depth), meta=META)
    assert error.reason == HIDDEN_REASON
    assert not {"pw", "password", "pin"} & set(str(error).replace(":", ".").split("."))


@settings(max_examples=40, deadline=None)
@given(
    name=visible_names,
    where=st.integers(min_value=0, max_value=3),
    depth=st.integers(min_value=0, max_value=6),
)
def test_naming_only_visible_fields_passes(name: str, where: int, depth: int) -> None:
    pipeline = placed(name, where, depth)
    assert check_pipeline(pipeline, meta=META) == pipeline


def test_python_values_are_encoded_as_an_any_property_s() -> None:
    [stage] = check_pipeline([{"$match": {"price": Decimal("1.5"), "day": dt.date(2026, 1, 2)}}])
    assert stage == {
        "$match": {"price": Decimal128("1.5"), "day": dt.datetime(2026, 1, 2, tzinfo=dt.UTC)}
    }


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"n": 2**63}, "pipeline.1.$match.n"),
        ({"name": "\ud800"}, "pipeline.1.$match.name"),
        ({"a\x00b": 1}, "pipeline.1.$match.a\x00b"),
        ({"n": {"$in": [1, -(2**63) - 1]}}, "pipeline.1.$match.n.$in.1"),
    ],
)
def test_values_bson_cannot_hold_are_refused_where_they_are(value: Any, path: str) -> None:
    assert refused([{"$limit": 1}, {"$match": value}]).path == path


def test_a_value_of_a_type_bson_does_not_know_is_refused() -> None:
    error = refused([{"$limit": 1}, {"$match": {"x": object()}}])
    assert error.path == "pipeline.1" and "cannot be sent to MongoDB" in error.reason
