"""LoopBack's ``near`` where operator: the points nearest to a place, nearest first.

``{"loc": {"near": {"lat": 48.85, "lng": 2.29}, "maxDistance": 5, "unit": "kilometers"}}``
on a ``GeoPoint`` property. The point is a ``GeoPoint``, ``{"lat": .., "lng": ..}`` or
``"lat,lng"``; ``maxDistance`` and ``minDistance`` are numbers >= 0 in ``unit`` (one of
:data:`UNITS`, ``meters`` by default as in LoopBack's MongoDB connector).

The translator (:mod:`.where`) makes it the MongoDB condition ``{"$nearSphere":
{"$geometry": <GeoJSON Point>, "$maxDistance": m, "$minDistance": m}}`` (distances in
meters). MongoDB accepts that condition only in a plain find, and some servers do not
sort by it, so a read carrying one is run as a ``$geoNear`` aggregation instead
(:func:`split_near`, then ``odm.geo``'s pipeline). A ``near`` must be a top-level
condition of the where (or of a top-level ``and``), once per where.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidFilterError
from ..metadata import ModelMeta
from ..types import TypeInfo
from .values import _join, _show, _Target

__all__ = [
    "NEAR_KEYS",
    "UNITS",
    "Near",
    "near_condition",
    "point_fields",
    "split_near",
    "to_meters",
]

#: The Earth radius MongoDB's spherical geometry uses, in meters.
EARTH_RADIUS_METERS = 6_378_100.0

#: Meters per unit of ``maxDistance``/``minDistance``.
UNITS: Mapping[str, float] = {
    "meters": 1.0,
    "kilometers": 1000.0,
    "miles": 1609.344,
    "feet": 0.3048,
    "radians": EARTH_RADIUS_METERS,
    "degrees": EARTH_RADIUS_METERS * math.pi / 180,
}

#: The keys of a ``near`` operator object.
NEAR_KEYS = frozenset(["near", "maxDistance", "minDistance", "unit"])

_NEAR = "$nearSphere"


def point_fields(value: Any) -> Any:
    """``{"lat": .., "lng": ..}`` from the accepted forms of a point (a ``"lat,lng"``
    string, a GeoJSON Point); anything else is returned as it is (a mapping, a model) or
    refused with ``ValueError`` (a list: LoopBack reads ``[lat, lng]``, GeoJSON
    ``[lng, lat]``)."""
    if isinstance(value, str):
        parts = value.split(",")
        if len(parts) != 2:
            raise ValueError(f'a point as text is "lat,lng", not {value[:60]!r}')
        try:
            lat, lng = (float(part) for part in parts)
        except ValueError:
            raise ValueError(
                f'a point as text is "lat,lng" (numbers), not {value[:60]!r}'
            ) from None
        return {"lat": lat, "lng": lng}
    if isinstance(value, Mapping) and value.get("type") == "Point" and "coordinates" in value:
        coordinates = value["coordinates"]
        if not isinstance(coordinates, list | tuple) or len(coordinates) != 2:
            raise ValueError("a GeoJSON Point has coordinates [lng, lat]")
        return {"lat": coordinates[1], "lng": coordinates[0]}
    if isinstance(value, list | tuple):
        raise ValueError(
            "a point is {lat, lng} or 'lat,lng', not a list: LoopBack reads [lat, lng] "
            "and GeoJSON [lng, lat]"
        )
    return value


def to_meters(distance: Any, unit: Any = "meters", path: str = "") -> float:
    """``distance`` in ``unit`` as meters; ``InvalidFilterError`` for a distance that is
    not a finite number >= 0 (a numeric string is read) or an unknown unit."""
    factor = UNITS.get(unit) if isinstance(unit, str) else None
    if factor is None:
        raise InvalidFilterError(
            _join(path, "unit"), f"unit is one of {', '.join(UNITS)}, not {_show(unit)}"
        )
    number = _number(distance)
    if number is None or not math.isfinite(number) or number < 0:
        raise InvalidFilterError(path, f"a distance is a number >= 0, not {_show(distance)}")
    return number * factor


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _point(value: Any, path: str) -> tuple[float, float]:
    """(lng, lat) of a point given as a ``GeoPoint``, a mapping or ``"lat,lng"``."""
    try:
        fields = point_fields(value)
    except ValueError as error:
        raise InvalidFilterError(path, str(error)) from None
    if not isinstance(fields, Mapping) and hasattr(fields, "lat") and hasattr(fields, "lng"):
        fields = {"lat": fields.lat, "lng": fields.lng}
    if not isinstance(fields, Mapping) or set(fields) != {"lat", "lng"}:
        raise InvalidFilterError(
            path, f'near takes a point {{"lat": .., "lng": ..}} or "lat,lng", not {_show(value)}'
        )
    lat, lng = _number(fields["lat"]), _number(fields["lng"])
    if lat is None or not -90 <= lat <= 90:
        raise InvalidFilterError(
            _join(path, "lat"), f"lat is in -90..90, not {_show(fields['lat'])}"
        )
    if lng is None or not -180 <= lng <= 180:
        raise InvalidFilterError(
            _join(path, "lng"), f"lng is in -180..180, not {_show(fields['lng'])}"
        )
    return lng, lat


def _is_point_property(target: _Target) -> bool:
    info = target.type
    return info.kind == "model" and _is_point_type(info)


def _is_point_type(info: TypeInfo) -> bool:
    while info.kind == "list" and info.item is not None:
        info = info.item
    return info.kind == "model" and getattr(info.model, "__odm_loopback_type__", None) == (
        "GeoPoint"
    )


def refuse_inside_point(meta: ModelMeta, key: str, path: str) -> None:
    """Refuse a where path below a ``GeoPoint`` (``"loc.lat"``): a point is stored as
    GeoJSON, so no stored field has that name and the condition would match nothing."""
    info = meta.resolve_path(key)
    if info is None or len(info.chain) < 2:
        return
    for prop in info.chain[:-1]:
        if _is_point_type(prop.type):
            raise InvalidFilterError(
                path,
                f"{key!r}: a GeoPoint is stored as GeoJSON and has no stored lat/lng "
                "fields; compare the whole point or use near",
            )


def near_condition(target: _Target, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The MongoDB condition of ``{"near": .., "maxDistance": .., ...}`` on ``target``."""
    unknown = [key for key in value if key not in NEAR_KEYS]
    if unknown:
        raise InvalidFilterError(
            _join(path, unknown[0]),
            f"near takes {', '.join(sorted(NEAR_KEYS))}; not {_show(unknown[0])}",
        )
    if not _is_point_property(target):
        raise InvalidFilterError(
            _join(path, "near"), f"{target.label}: near works on a GeoPoint property only"
        )
    _refuse_nested(path)
    lng, lat = _point(value["near"], _join(path, "near"))
    unit = value.get("unit", "meters")
    spec: dict[str, Any] = {"$geometry": {"type": "Point", "coordinates": [lng, lat]}}
    for key in ("maxDistance", "minDistance"):
        if value.get(key) is not None:
            spec[f"${key}"] = to_meters(value[key], unit, _join(path, key))
    if "unit" in value:
        to_meters(0, unit, path)  # an unknown unit is refused even with no distance
    return {_NEAR: spec}


@dataclass(frozen=True)
class Near:
    """The ``near`` of a translated where: the field, the GeoJSON point, the bounds in
    meters (None: none), and the rest of the query."""

    field: str
    point: dict[str, Any]
    max_distance: float | None
    min_distance: float | None
    rest: dict[str, Any]


def _is_near(condition: Any) -> bool:
    return (
        isinstance(condition, Mapping)
        and isinstance(condition.get(_NEAR), Mapping)
        and ("$geometry" in condition[_NEAR])
    )


def split_near(where: Mapping[str, Any]) -> Near | None:
    """The ``near`` of a translated where and the rest of it (None when it has none).

    ``InvalidFilterError`` for two of them (the translator refuses one under ``or`` or
    ``nor``); only the top level and top-level ``$and`` lists are looked at.
    """
    if not _has_near(where):
        return None
    found: list[tuple[str, Mapping[str, Any]]] = []
    rest = _take(where, found)
    if not found:
        return None
    if len(found) > 1:
        raise InvalidFilterError("where", "near may appear once in a where clause")
    field, spec = found[0]
    return Near(
        field=field,
        point=dict(spec["$geometry"]),
        max_distance=spec.get("$maxDistance"),
        min_distance=spec.get("$minDistance"),
        rest=rest,
    )


def _has_near(where: Mapping[str, Any]) -> bool:
    for key, condition in where.items():
        if key == "$and" and isinstance(condition, list):
            if any(_has_near(item) for item in condition):
                return True
        elif type(condition) is dict and _NEAR in condition:
            return True
    return False


def _take(where: Mapping[str, Any], found: list[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    rest: dict[str, Any] = {}
    for key, condition in where.items():
        if key == "$and" and isinstance(condition, list):
            kept = [part for part in (_take(item, found) for item in condition) if part]
            if kept:
                rest[key] = kept
        elif _is_near(condition):
            found.append((key, condition[_NEAR]))
        else:
            rest[key] = condition
    return rest


_AND = frozenset(["and", "$and"])


def _refuse_nested(path: str) -> None:
    """Refuse a ``near`` whose path (``where.or.0.loc``) is not the where's top level or
    a top-level ``and``: nearness orders the whole result, so it cannot be one
    alternative of an ``or``/``nor``."""
    parts = path.split(".")
    start = 2 if parts[:2] == ["scope", "where"] else 1
    position = start
    while position + 1 < len(parts) and parts[position] in _AND and parts[position + 1].isdigit():
        position += 2
    if any(part in ("or", "nor", "$or", "$nor", "and", "$and") for part in parts[position:-1]):
        raise InvalidFilterError(
            path, "near must be a top-level condition of the where (or of a top-level and)"
        )
