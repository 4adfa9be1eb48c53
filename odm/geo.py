"""``GeoPoint``: a point on the Earth (LoopBack's ``GeoPoint`` type), stored as GeoJSON.

In Python and in JSON a point is ``{"lat": .., "lng": ..}``; in MongoDB it is a GeoJSON
Point, ``{"type": "Point", "coordinates": [lng, lat]}``, the form ``2dsphere`` indexes
and the geospatial operators read. A property of this type declared with
``prop(index=True)`` gets a ``2dsphere`` index, and the where operator ``near``
(:mod:`odm.filters.near`) finds the nearest points first.

A point is given as a ``GeoPoint``, a mapping ``{"lat": .., "lng": ..}``, a string
``"lat,lng"`` (LoopBack's form) or a stored GeoJSON Point. A bare list is refused:
LoopBack reads ``[lat, lng]`` and GeoJSON ``[lng, lat]``, so a list is ambiguous.
Latitudes are in -90..90 and longitudes in -180..180 (degrees).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar, Unpack

from pydantic import model_validator

from .drivers import Collection, Document, Session
from .drivers.interface import ReadOptions, Reads, SortSpec
from .errors import InvalidFilterError, ODMError
from .filters.near import Near, point_fields, split_near
from .models import Model
from .properties import prop

__all__ = [
    "MOCK_LIMIT",
    "GeoPoint",
    "NearReads",
    "Reads",
    "geojson",
    "near_pipeline",
    "reads",
    "refuse_near",
]

#: Why ``near`` fails on mongomock (the message of its ``ODMError``).
MOCK_LIMIT = (
    "near: the mongomock backend has no geospatial queries; run near queries on a MongoDB "
    "server (the embedded one included)"
)
#: The field ``$geoNear`` writes each result's distance to (removed before loading).
DISTANCE_FIELD = "__odm_distance"


class GeoPoint(Model):
    """A point on the Earth: ``lat`` (-90..90) and ``lng`` (-180..180), in degrees.

    >>> GeoPoint(lat=48.8584, lng=2.2945)
    GeoPoint(lat=48.8584, lng=2.2945)
    >>> GeoPoint.model_validate("48.8584,2.2945").lng
    2.2945

    Stored as the GeoJSON Point ``{"type": "Point", "coordinates": [lng, lat]}``; read
    back, dumped and sent as JSON as ``{"lat": .., "lng": ..}``.
    """

    #: the direction of a property-level index (``prop(index=True)``)
    __odm_index_direction__: ClassVar[str] = "2dsphere"
    #: its type name in LoopBack model definitions
    __odm_loopback_type__: ClassVar[str] = "GeoPoint"

    lat: float = prop(ge=-90, le=90, json_schema={"minimum": -90, "maximum": 90})
    lng: float = prop(ge=-180, le=180, json_schema={"minimum": -180, "maximum": 180})

    @model_validator(mode="before")
    @classmethod
    def _accept(cls, value: Any) -> Any:
        return point_fields(value)


def geojson(point: GeoPoint) -> dict[str, Any]:
    """The GeoJSON Point of ``point`` (its stored form)."""
    return {"type": "Point", "coordinates": [point.lng, point.lat]}


def _load(doc: Any) -> GeoPoint:
    """A stored point as a ``GeoPoint`` (the trusted load path: no range checks)."""
    fields = point_fields(doc)
    if not isinstance(fields, Mapping):
        return GeoPoint.model_validate(fields)
    return GeoPoint.model_construct(lat=fields["lat"], lng=fields["lng"])


# The codec stores a model through the dumper and loader its plans hold: a point's are
# the GeoJSON ones, set once here (its class is never recompiled).
_plans = GeoPoint.odm_meta().plans
_plans.dumper = geojson  # type: ignore[assignment]
_plans.loader = _load


# --- reads with near ----------------------------------------------------------------


def near_pipeline(
    near: Near,
    *,
    projection: Mapping[str, Any] | None = None,
    sort: SortSpec | None = None,
    skip: int = 0,
    limit: int = 0,
    count: bool = False,
) -> list[dict[str, Any]]:
    """The aggregation of a read with ``near``: ``$geoNear`` (nearest first, the rest of
    the where as its query, the bounds in meters), then the call's order as tie-breaks,
    skip, limit and projection; or the count of what ``$geoNear`` matches."""
    stage: dict[str, Any] = {
        "near": near.point,
        "key": near.field,
        "distanceField": DISTANCE_FIELD,
        "spherical": True,
    }
    if near.rest:
        stage["query"] = near.rest
    if near.max_distance is not None:
        stage["maxDistance"] = near.max_distance
    if near.min_distance is not None:
        stage["minDistance"] = near.min_distance
    pipeline: list[dict[str, Any]] = [{"$geoNear": stage}]
    if count:
        return [*pipeline, {"$count": "count"}]
    if sort:
        pipeline.append({"$sort": {DISTANCE_FIELD: 1, **dict(sort)}})
    if skip:
        pipeline.append({"$skip": skip})
    if limit:
        pipeline.append({"$limit": limit})
    if projection and all(value for value in projection.values()):
        pipeline.append({"$project": dict(projection)})
    else:
        pipeline.append({"$project": {**(projection or {}), DISTANCE_FIELD: 0}})
    return pipeline


class NearReads:
    """A collection's reads for a where with ``near``, run as ``$geoNear`` aggregations
    so results come nearest first on every server (a plain ``$near``/``$nearSphere``
    find does not sort on some, and no server counts with one)."""

    def __init__(self, collection: Collection, near: Near) -> None:
        self.collection = collection
        self.near = near

    async def find(
        self,
        query: Mapping[str, Any],
        *,
        batch_size: int | None = None,
        **options: Unpack[ReadOptions],
    ) -> AsyncIterator[Document]:
        for doc in await self.find_all(query, **options):
            yield doc

    async def find_all(
        self, query: Mapping[str, Any], **options: Unpack[ReadOptions]
    ) -> list[Document]:
        pipeline = near_pipeline(
            self.near,
            projection=options.get("projection"),
            sort=options.get("sort"),
            skip=options.get("skip", 0),
            limit=options.get("limit", 0),
        )
        return await self.collection.aggregate(pipeline, session=options.get("session"))

    async def find_one(
        self,
        query: Mapping[str, Any],
        *,
        projection: Mapping[str, Any] | None = None,
        sort: SortSpec | None = None,
        skip: int = 0,
        session: Session | None = None,
    ) -> Document | None:
        docs = await self.find_all(
            query, projection=projection, sort=sort, skip=skip, limit=1, session=session
        )
        return docs[0] if docs else None

    async def count(
        self,
        query: Mapping[str, Any],
        *,
        skip: int = 0,
        limit: int = 0,
        session: Session | None = None,
    ) -> int:
        pipeline = near_pipeline(self.near, count=True)
        docs = await self.collection.aggregate(pipeline, session=session)
        found = int(docs[0]["count"]) if docs else 0
        return max(0, min(found - skip, limit) if limit else found - skip)


def reads(collection: Collection, where: Mapping[str, Any]) -> Reads:
    """``collection`` itself, or for a where with ``near`` its :class:`NearReads`
    (``ODMError`` on mongomock, which has no geospatial queries)."""
    near = split_near(where) if where else None
    if near is None:
        return collection
    if collection.database.kind == "mongomock":
        raise ODMError(MOCK_LIMIT)
    return NearReads(collection, near)


def refuse_near(where: Mapping[str, Any]) -> None:
    """``InvalidFilterError`` for a where holding ``near`` that is not a read's: nearness
    orders the results of a read; MongoDB refuses it in updates, deletes and streams."""
    if where and split_near(where) is not None:
        raise InvalidFilterError(
            "where",
            "near orders the results of a read (find, find_one, find_by_id, iterate, "
            "count); the where of a write or of a change stream cannot take it",
        )
