"""A model class inferred from one stored document (:func:`build_model_from_instance`)."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from bson import Binary, Decimal128, ObjectId
from pydantic.fields import FieldInfo

from .definitions import create_model_class, is_safe_property_name
from .errors import ModelDefinitionError
from .models import Entity, Model
from .properties import prop

__all__ = ["build_model_from_instance"]


def build_model_from_instance(name: str, sample: Mapping[str, Any]) -> type[Model]:
    """Infer a ``strict=False`` model class from one document.

    An ``Entity`` when the sample has ``_id`` (or ``id``), else a ``Model``. Every
    property is optional (``T | None = None``): one document does not show which fields
    all documents have. An ObjectId ``_id`` becomes the usual generated ``id: str``;
    another ``_id`` a caller-supplied id of its type. Nested documents become embedded
    ``strict=False`` models named ``{name}{Key}`` (PascalCase); arrays are typed by their
    first item (``list[Any]`` when empty, when the items differ in type, or for arrays
    of arrays); ``None`` gives ``Any``. A field whose name is not a usable property
    name (not an identifier, a Python keyword, starting with ``_``, or shadowing a
    model attribute) gets a safe property name (``first-name`` -> ``first_name``,
    ``_class`` -> ``class_``) with ``field_name=`` keeping the stored one.

    >>> Event = build_model_from_instance("Event", {"_id": ObjectId(), "at": datetime.now()})
    >>> Event.model_validate({"at": "2024-05-01T12:00:00Z"}).at
    datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(name, str) or not name:
        raise ModelDefinitionError(f"a model name is a non-empty string, not {name!r}")
    if not isinstance(sample, Mapping):
        raise ModelDefinitionError(
            f"{name}: the sample is a mapping (one document), not {type(sample).__name__}"
        )
    return _infer_model(name, sample, top=True)


def _infer_model(name: str, sample: Mapping[str, Any], *, top: bool) -> type[Model]:
    is_entity = top and ("_id" in sample or "id" in sample)
    id_key = "_id" if "_id" in sample else "id"
    fields: dict[str, tuple[Any, FieldInfo]] = {}
    taken = {key for key in sample if isinstance(key, str) and is_safe_property_name(key)}
    for key, value in sample.items():
        if not isinstance(key, str):
            raise ModelDefinitionError(f"{name}: field names are strings, not {key!r}")
        if is_entity and key == id_key:
            id_name = "id" if key == "id" or "id" not in sample else _safe_name(key, taken)
            fields[id_name] = _inferred_id(value)
            continue
        prop_name = key if is_safe_property_name(key) else _safe_name(key, taken)
        annotation = _infer_type(f"{name}{_pascal(key)}", value)
        field_name = key if prop_name != key else None
        field = prop(None, field_name=field_name)
        assert isinstance(field, FieldInfo)
        fields[prop_name] = (annotation if annotation is Any else Optional[annotation], field)  # noqa: UP045
    base = Entity if is_entity else Model
    return create_model_class(name, base, fields, {"strict": False})


def _inferred_id(value: Any) -> tuple[Any, FieldInfo]:
    if value is None or isinstance(value, ObjectId):
        field = prop(id=True, generated=True)
        annotation: Any = str
    else:
        field = prop(id=True)
        annotation = _infer_type("", value)
    assert isinstance(field, FieldInfo)
    return annotation, field


def _safe_name(key: str, taken: set[str]) -> str:
    candidate = re.sub(r"\W", "_", key).lstrip("_") or "field"
    if candidate[0].isdigit():
        candidate = f"f_{candidate}"
    while not is_safe_property_name(candidate) or candidate in taken:
        candidate = f"{candidate}_"
    taken.add(candidate)
    return candidate


def _pascal(key: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[\W_]+", key) if part)


def _scalar_type(value: Any) -> Any:
    if isinstance(value, Binary) and value.subtype in (3, 4):
        return uuid.UUID
    if isinstance(value, Decimal128):
        return decimal.Decimal
    for scalar in (bool, int, float, str, dt.datetime, dt.date, decimal.Decimal, uuid.UUID):
        if isinstance(value, scalar):
            return scalar
    if isinstance(value, bytes):
        return bytes
    if isinstance(value, ObjectId):
        return ObjectId
    return Any


def _infer_type(name: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        if not value or not all(isinstance(k, str) for k in value):
            return dict[str, Any]
        return _infer_model(name, value, top=False)
    if isinstance(value, list | tuple):
        return list[_infer_item(name, value)]  # type: ignore[misc]
    return _scalar_type(value)


def _infer_item(name: str, items: Sequence[Any]) -> Any:
    if not items or isinstance(items[0], list | tuple):
        return Any
    first = items[0]
    if isinstance(first, Mapping):
        return _infer_type(name, first) if all(isinstance(i, Mapping) for i in items) else Any
    kinds = {_scalar_type(item) for item in items}
    if len(kinds) == 1:
        return kinds.pop()
    if kinds <= {int, float}:
        return float
    return Any
