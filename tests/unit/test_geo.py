"""``GeoPoint`` validation, ``near``'s translation and unit conversion, the ``$geoNear``
pipeline, and GeoPoint in model definitions, without a database."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from odm import (
    Entity,
    GeoPoint,
    InvalidFilterError,
    define_model,
    get_json_schema,
    model,
    model_definition,
    prop,
)
from odm.codec import decode, decode_trusted, encode
from odm.filters import translate_where
from odm.filters.near import UNITS, split_near, to_meters
from odm.geo import DISTANCE_FIELD, near_pipeline
from odm.indexes import declared_indexes


@model(collection="unit_places")
class Place(Entity):
    name: str = ""
    loc: GeoPoint | None = prop(default=None, index=True, field_name="l")
    kind: str = "a"


def test_accepted_forms() -> None:
    expected = GeoPoint(lat=48.85, lng=2.29)
    for given in (
        {"lat": 48.85, "lng": 2.29},
        "48.85,2.29",
        " 48.85 , 2.29 ",
        {"type": "Point", "coordinates": [2.29, 48.85]},
        expected,
    ):
        assert GeoPoint.model_validate(given) == expected, given
    assert GeoPoint.model_validate("-90,180") == GeoPoint(lat=-90, lng=180)


@pytest.mark.parametrize(
    "bad",
    ["90.1,0", "0,-180.5", {"lat": 0}, [2.29, 48.85], "1,2,3", "north,east", "nan,0", 5],
)
def test_refused_forms(bad: Any) -> None:
    with pytest.raises(PydanticValidationError):
        GeoPoint.model_validate(bad)


def test_stored_as_geojson_and_decoded_on_both_paths() -> None:
    place = Place(name="x", loc="48.85,2.29")
    doc = encode(place)
    assert doc["l"] == {"type": "Point", "coordinates": [2.29, 48.85]}
    doc["_id"] = doc.get("_id", "65a1b2c3d4e5f6a7b8c9d0e1")
    for loaded in (decode(Place, doc), decode_trusted(Place, doc)):
        assert isinstance(loaded.loc, GeoPoint)
        assert loaded.loc == GeoPoint(lat=48.85, lng=2.29)
        assert loaded.to_json()["loc"] == {"lat": 48.85, "lng": 2.29}
        assert loaded.model_dump()["loc"] == {"lat": 48.85, "lng": 2.29}


def test_index_true_declares_a_2dsphere_index() -> None:
    [spec] = declared_indexes(Place.odm_meta())
    assert spec.keys == (("l", "2dsphere"),)
    assert spec.name == "l_2dsphere"


def test_model_definitions_name_the_type_geopoint() -> None:
    definition = model_definition(Place, include_models=True)
    assert definition["properties"]["loc"] == {
        "type": "GeoPoint",
        "index": True,
        "mongodb": {"fieldName": "l"},
    }
    assert "models" not in definition
    rebuilt = define_model({**definition, "name": "Place2"})
    assert rebuilt.odm_meta().properties["loc"].type.model is GeoPoint


@pytest.mark.parametrize(
    ("unit", "meters"),
    [
        ("meters", 1.0),
        ("kilometers", 1000.0),
        ("miles", 1609.344),
        ("feet", 0.3048),
        ("radians", 6_378_100.0),
        ("degrees", 6_378_100.0 * math.pi / 180),
    ],
)
def test_units(unit: str, meters: float) -> None:
    assert to_meters(2, unit) == pytest.approx(2 * meters)
    assert to_meters("2", unit) == pytest.approx(2 * meters)
    assert UNITS[unit] == pytest.approx(meters)


@pytest.mark.parametrize("bad", [-1, "x", True, None, math.inf, [1]])
def test_bad_distances(bad: Any) -> None:
    with pytest.raises(InvalidFilterError):
        to_meters(bad)


def test_near_translates_to_a_near_sphere_condition() -> None:
    meta = Place.odm_meta()
    where = {
        "loc": {"near": "48.85,2.29", "maxDistance": 2, "minDistance": "1", "unit": "kilometers"}
    }
    assert translate_where(meta, where) == {
        "l": {
            "$nearSphere": {
                "$geometry": {"type": "Point", "coordinates": [2.29, 48.85]},
                "$maxDistance": 2000.0,
                "$minDistance": 1000.0,
            }
        }
    }
    point = GeoPoint(lat=1, lng=2)
    assert translate_where(meta, {"loc": {"near": point}})["l"]["$nearSphere"] == {
        "$geometry": {"type": "Point", "coordinates": [2.0, 1.0]}
    }


def test_split_near_and_the_pipeline() -> None:
    meta = Place.odm_meta()
    where = translate_where(
        meta, {"loc": {"near": {"lat": 1, "lng": 2}, "maxDistance": 5}}, scope_where={"kind": "a"}
    )
    near = split_near(where)
    assert near is not None
    assert (near.field, near.max_distance, near.min_distance, near.rest) == (
        "l",
        5.0,
        None,
        {"kind": "a"},
    )
    assert split_near({"kind": "a"}) is None
    pipeline = near_pipeline(near, sort=[("name", 1)], skip=1, limit=2, projection={"name": 1})
    assert pipeline == [
        {
            "$geoNear": {
                "near": {"type": "Point", "coordinates": [2.0, 1.0]},
                "key": "l",
                "distanceField": DISTANCE_FIELD,
                "spherical": True,
                "query": {"kind": "a"},
                "maxDistance": 5.0,
            }
        },
        {"$sort": {DISTANCE_FIELD: 1, "name": 1}},
        {"$skip": 1},
        {"$limit": 2},
        {"$project": {"name": 1}},
    ]
    assert near_pipeline(near)[-1] == {"$project": {DISTANCE_FIELD: 0}}
    assert near_pipeline(near, count=True)[-1] == {"$count": "count"}
    two = translate_where(meta, {"and": [{"loc": {"near": "1,2"}}, {"loc": {"near": "1,2"}}]})
    with pytest.raises(InvalidFilterError, match="once"):
        split_near(two)
    for nested in (
        {"or": [{"loc": {"near": "1,2"}}, {"kind": "b"}]},
        {"and": [{"nor": [{"loc": {"near": "1,2"}}]}]},
        {"and": [{"kind": "b"}, {"or": [{"and": [{"loc": {"near": "1,2"}}]}]}]},
    ):
        with pytest.raises(InvalidFilterError, match="top-level"):
            translate_where(meta, nested)
    deep = translate_where(meta, {"and": [{"and": [{"loc": {"near": "1,2"}}]}, {"kind": "b"}]})
    found = split_near(deep)
    assert found is not None and found.rest == {"$and": [{"kind": "b"}]}


def test_a_path_below_a_point_is_refused() -> None:
    with pytest.raises(InvalidFilterError, match="stored as GeoJSON") as caught:
        translate_where(Place.odm_meta(), {"loc.lat": 48.85})
    assert caught.value.path == "where.loc.lat"


def test_the_json_schema_of_a_point_carries_its_bounds() -> None:
    point = get_json_schema(GeoPoint)["properties"]
    assert point["lat"] == {"type": "number", "minimum": -90, "maximum": 90}
    assert point["lng"] == {"type": "number", "minimum": -180, "maximum": 180}
