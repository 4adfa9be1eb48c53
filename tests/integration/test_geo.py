"""``GeoPoint`` and the ``near`` operator on every backend: points stored as GeoJSON and
read back, a ``2dsphere`` index from ``prop(index=True)``, nearest first with distance
bounds in several units, combined with the rest of the where, the default scope, order,
skip, limit and fields; ``count``; mongomock refuses ``near`` with an ``ODMError``."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from odm import Entity, GeoPoint, InvalidFilterError, ODMError, Repository, model, prop

NO_GEO = "mongomock has no geospatial queries (odm raises ODMError, tested below)"

EIFFEL = {"lat": 48.8584, "lng": 2.2945}
# name -> (lat, lng, kind); distances from the Eiffel tower in km
PLACES = {
    "eiffel": (48.8584, 2.2945, "monument"),  # 0
    "louvre": (48.8606, 2.3376, "museum"),  # 3.17
    "notre-dame": (48.8530, 2.3499, "monument"),  # 4.1
    "versailles": (48.8049, 2.1204, "monument"),  # 13.9
    "london": (51.5007, -0.1246, "monument"),  # 341
}


@model(collection="geo_places")
class Place(Entity):
    name: str
    kind: str = "monument"
    loc: GeoPoint | None = prop(default=None, index=True, field_name="location")
    secret: str = prop(default="s", hidden=True)


@model(collection="geo_places", scope={"where": {"kind": "monument"}})
class Monument(Entity):
    name: str
    kind: str = "monument"
    loc: GeoPoint | None = prop(default=None, index=True, field_name="location")


async def seeded(odm_db: Any) -> Repository[Place]:
    repo = Repository(Place, odm_db)
    await repo.migrate()
    await repo.create_all(
        [
            {"name": n, "kind": k, "loc": {"lat": lat, "lng": lng}}
            for n, (lat, lng, k) in PLACES.items()
        ]
    )
    return repo


def near(**bounds: Any) -> dict[str, Any]:
    return {"where": {"loc": {"near": EIFFEL, **bounds}}}


async def test_stored_as_geojson_and_read_back(odm_db: Any) -> None:
    repo = Repository(Place, odm_db)
    place = await repo.create({"name": "louvre", "loc": "48.8606,2.3376"})
    raw = await repo.collection.find_one({"_id": ObjectId(place.id)})
    assert raw["location"] == {"type": "Point", "coordinates": [2.3376, 48.8606]}
    for loader in (repo, Repository(Place, odm_db, validate_on_load=False)):
        found = await loader.find_by_id(place.id)
        assert isinstance(found.loc, GeoPoint)
        assert (found.loc.lat, found.loc.lng) == (48.8606, 2.3376)
        assert found.to_json()["loc"] == {"lat": 48.8606, "lng": 2.3376}


async def test_bad_points_are_refused_before_writing(odm_db: Any) -> None:
    repo = Repository(Place, odm_db)
    from odm import ValidationError

    for bad in ("91,0", {"lat": 0, "lng": 181}, [2.29, 48.85], "paris"):
        with pytest.raises(ValidationError) as caught:
            await repo.create({"name": "x", "loc": bad})
        assert caught.value.details[0]["path"].startswith("loc")
    assert await repo.collection.count_documents({}) == 0


async def test_migrate_creates_a_2dsphere_index(odm_db: Any) -> None:
    repo = Repository(Place, odm_db)
    report = await repo.migrate()
    assert report.created == ["location_2dsphere"]
    info = await repo.collection.index_information()
    assert info["location_2dsphere"]["key"] == [("location", "2dsphere")]
    assert (await repo.migrate()).created == []


@pytest.mark.backend_limit(mock=NO_GEO)
async def test_nearest_first_with_bounds_in_several_units(odm_db: Any) -> None:
    repo = await seeded(odm_db)
    names = [p.name for p in await repo.find(near())]
    assert names == ["eiffel", "louvre", "notre-dame", "versailles", "london"]
    assert [p.name for p in await repo.find(near(maxDistance=5, unit="kilometers"))] == [
        "eiffel",
        "louvre",
        "notre-dame",
    ]
    assert [p.name for p in await repo.find(near(maxDistance=3000))] == ["eiffel"]  # meters
    miles = near(minDistance=1, maxDistance=10, unit="miles")
    assert [p.name for p in await repo.find(miles)] == ["louvre", "notre-dame", "versailles"]
    assert [p.name for p in await repo.find(near(minDistance=1, unit="degrees"))] == ["london"]
    feet = near(minDistance=12_000, maxDistance=14_000, unit="feet")  # 3.7 km .. 4.3 km
    assert [p.name for p in await repo.find(feet)] == ["notre-dame"]
    radians = near(maxDistance=0.001, unit="radians")  # 6.4 km
    assert await repo.count(radians["where"]) == 3


@pytest.mark.backend_limit(mock=NO_GEO)
async def test_near_with_where_order_skip_limit_fields(odm_db: Any) -> None:
    repo = await seeded(odm_db)
    where = {"and": [{"loc": {"near": "48.8584,2.2945"}}, {"kind": "monument"}]}
    assert [p.name for p in await repo.find({"where": where, "skip": 1, "limit": 2})] == [
        "notre-dame",
        "versailles",
    ]
    # nearness orders the results; an order only breaks ties
    ordered = await repo.find({**near(maxDistance=5000), "order": "name DESC"})
    assert [p.name for p in ordered] == ["eiffel", "louvre", "notre-dame"]
    first = await repo.find_one({**near(), "fields": ["name"], "skip": 1})
    assert first is not None and first.name == "louvre"
    assert "loc" not in first.to_json() and "kind" not in first.to_json()
    streamed = [
        p.name async for p in repo.iterate({**near(maxDistance=5000), "fields": {"loc": False}})
    ]
    assert streamed == ["eiffel", "louvre", "notre-dame"]
    louvre = (await repo.find({"where": {"name": "louvre"}}))[0]
    assert (await repo.find_by_id(louvre.id, near(maxDistance=5000))).name == "louvre"
    assert await repo.count({"loc": {"near": EIFFEL, "maxDistance": 5000}, "kind": "museum"}) == 1
    assert await repo.count(near()["where"]) == 5


@pytest.mark.backend_limit(mock=NO_GEO)
async def test_near_within_the_default_scope(odm_db: Any) -> None:
    await seeded(odm_db)
    monuments = Repository(Monument, odm_db)
    assert [m.name for m in await monuments.find(near(maxDistance=5, unit="kilometers"))] == [
        "eiffel",
        "notre-dame",
    ]
    assert await monuments.count(near(maxDistance=5, unit="kilometers")["where"]) == 2


async def test_the_mock_refuses_near_with_an_odm_error(odm_db: Any, odm_backend: str) -> None:
    repo = Repository(Place, odm_db)
    await repo.create({"name": "eiffel", "loc": EIFFEL})
    if odm_backend != "mock":
        assert [p.name for p in await repo.find(near())] == ["eiffel"]
        return
    for call in (repo.find(near()), repo.find_one(near()), repo.count(near()["where"])):
        with pytest.raises(ODMError, match="the mongomock backend has no geospatial queries"):
            await call


async def test_bad_near_filters_are_refused(odm_db: Any) -> None:
    repo = Repository(Place, odm_db, prohibit_hidden_in_query=True)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"loc": {"near": {"lat": 91, "lng": 0}}}, "where.loc.near.lat"),
        ({"loc": {"near": [2.29, 48.85]}}, "where.loc.near"),
        ({"loc": {"near": EIFFEL, "maxDistance": -1}}, "where.loc.maxDistance"),
        ({"loc": {"near": EIFFEL, "unit": "parsecs"}}, "where.loc.unit"),
        ({"loc": {"near": EIFFEL, "gt": 1}}, "where.loc.gt"),
        ({"name": {"near": EIFFEL}}, "where.name.near"),
        ({"or": [{"loc": {"near": EIFFEL}}, {"name": "x"}]}, "where.or.0.loc"),
        ({"secret": {"near": EIFFEL}}, "where.secret"),
    ]
    for where, path in bad:
        with pytest.raises(InvalidFilterError) as caught:
            await repo.find({"where": where})
        assert caught.value.path == path, where
        assert "secret" not in caught.value.reason


async def test_writes_refuse_near_and_change_nothing(odm_db: Any) -> None:
    repo = Repository(Place, odm_db)
    await repo.create({"name": "eiffel", "loc": EIFFEL})
    where = {"loc": {"near": EIFFEL}}
    for write in (
        repo.update_all({"name": "x"}, where),
        repo.delete_all(where),
        repo.find_one_and_update(where, {"name": "x"}),
        repo.upsert_with_where(where, {"name": "x"}),
        repo.find_or_create(where, {"name": "x"}),
    ):
        with pytest.raises(InvalidFilterError, match="near orders the results of a read"):
            await write
    assert [p.name for p in await repo.find()] == ["eiffel"]


async def test_near_added_by_an_access_hook_to_a_by_id_write_is_refused(odm_db: Any) -> None:
    repo = Repository(Place, odm_db)
    eiffel = await repo.create({"name": "eiffel", "loc": EIFFEL})

    def nearby(ctx: Any) -> None:
        ctx.query["where"] = {"loc": {"near": EIFFEL}}

    repo.observe("access", nearby)
    for write in (
        repo.update_by_id(eiffel.id, {"name": "x"}),
        repo.delete_by_id(eiffel.id),
    ):
        with pytest.raises(InvalidFilterError, match="near orders the results of a read"):
            await write
    assert [doc["name"] async for doc in repo.collection.find({})] == ["eiffel"]


@pytest.mark.backend_limit(mock="mongomock has no change streams (watch raises ODMError)")
async def test_a_change_stream_refuses_near(odm_db: Any) -> None:
    with pytest.raises(InvalidFilterError, match="cannot take it"):
        Repository(Place, odm_db).watch({"loc": {"near": EIFFEL}})
