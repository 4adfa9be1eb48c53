"""A LoopBack model definition inferred from a sample of a collection's documents
(:func:`discover_model`); the inference itself (:func:`infer_definition`) is pure.

>>> definition = infer_definition(
...     [{"_id": ObjectId(), "first-name": "Ada", "age": 36},
...      {"_id": ObjectId(), "first-name": "Bob", "age": 41.5, "vip": None}],
...     name="Customer", collection="customers")
>>> definition["properties"]["first_name"]
{'type': 'string', 'required': True, 'mongodb': {'fieldName': 'first-name'}}
>>> definition["properties"]["age"], definition["properties"]["vip"]
({'type': 'number', 'required': True}, {'type': 'any'})
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from bson import Binary, Decimal128, ObjectId

from .definition_export import DECIMAL_DATA_TYPE
from .definitions import is_safe_property_name
from .drivers import adapt
from .errors import ODMError
from .inference import _pascal, _safe_name

__all__ = ["discover_model", "infer_definition", "model_name_for"]

# the BSON values with a LoopBack type name, in the order they are tried (bool before int)
_SCALARS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (dt.datetime, "date"),
    (ObjectId, "ObjectId"),
    (uuid.UUID, "uuid"),
    (Decimal128, "decimal"),
)


class _Shape:
    """What the values seen at one place (a field, or the items of arrays) have in common."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.fields: dict[str, _Shape] = {}  # of the objects seen here
        self.objects = 0  # how many non-empty objects were seen
        self.present = 0  # how many objects of the parent held this field, not null
        self.items: _Shape | None = None  # of the arrays seen here
        self.null_items = False

    def add(self, value: Any) -> None:
        if isinstance(value, Mapping):
            if not value:  # a model when other objects here have fields, else "object"
                self.kinds.add("emptyobject")
                self.objects += 1
                return
            if not all(isinstance(key, str) and _plain_key(key) for key in value):
                self.kinds.add("object")
                return
            self.kinds.add("model")
            self.add_object(value)
        elif isinstance(value, list | tuple):
            self.kinds.add("array")
            self.items = self.items or _Shape()
            for item in value:
                if item is None:
                    self.null_items = True
                else:
                    self.items.add(item)
        else:
            self.kinds.add(_scalar_kind(value))

    def add_object(self, document: Mapping[str, Any]) -> None:
        self.objects += 1
        for key, value in document.items():
            field = self.fields.setdefault(key, _Shape())
            if value is not None:
                field.present += 1
                field.add(value)


def _plain_key(key: str) -> bool:
    # a key with a dot or a leading $ cannot be mapped to a property (it reads as a path)
    return bool(key) and "." not in key and not key.startswith("$")


def _scalar_kind(value: Any) -> str:
    if isinstance(value, Binary) and value.subtype in (3, 4):
        return "uuid"
    if isinstance(value, bytes):
        return "buffer"
    for python, kind in _SCALARS:
        if isinstance(value, python):
            return kind
    return "any"


def model_name_for(collection: str) -> str:
    """The model name discovery gives a collection: PascalCase, naively singular
    (``order_items`` -> ``OrderItem``, ``categories`` -> ``Category``)."""
    words = [part for part in re.split(r"[\W_]+", collection) if part]
    if words:
        last = words[-1]
        if last.endswith("ies") and len(last) > 3:
            last = last[:-3] + "y"
        elif re.search(r"(ss|x|ch|sh)es$", last):
            last = last[:-2]
        elif last.endswith("s") and not last.endswith("ss") and len(last) > 1:
            last = last[:-1]
        words[-1] = last
    name = "".join(word[:1].upper() + word[1:] for word in words) or "Document"
    return f"M{name}" if name[0].isdigit() else name


def infer_definition(
    documents: Iterable[Mapping[str, Any]], *, name: str, collection: str
) -> dict[str, Any]:
    """The model definition of ``documents`` (see :func:`discover_model`), for a model
    ``name`` stored in ``collection``."""
    shape = _Shape()
    for document in documents:
        shape.add_object(document)
    models: dict[str, Any] = {}
    taken_names = {name}
    properties: dict[str, Any] = {}
    id_shape = shape.fields.pop("_id", None)
    # a stored field "id" keeps its name; the id (stored as _id) then takes another
    id_name = "id_" if "id" in shape.fields else "id"
    properties[id_name] = _id_property(id_shape)
    properties.update(_properties(name, shape, models, taken_names, reserved=frozenset([id_name])))
    definition: dict[str, Any] = {
        "name": name,
        "base": "Entity",
        "properties": properties,
        "settings": {"strict": False, "mongodb": {"collection": collection}},
    }
    if models:
        definition["models"] = models
    return definition


def _id_property(shape: _Shape | None) -> dict[str, Any]:
    kinds = set() if shape is None else shape.kinds
    if not kinds or kinds == {"ObjectId"}:
        return {"type": "string", "id": True, "generated": True}
    kind = next(iter(kinds)) if len(kinds) == 1 else "any"
    return {"type": kind if kind in _ID_TYPES else "any", "id": True}


_ID_TYPES = frozenset(["string", "integer", "number", "uuid", "date", "ObjectId"])


def _properties(
    owner: str,
    shape: _Shape,
    models: dict[str, Any],
    taken_names: set[str],
    reserved: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    plain = {key for key in shape.fields if _plain_key(key)}
    taken = {key for key in plain if is_safe_property_name(key) and key not in reserved}
    taken |= reserved
    properties: dict[str, Any] = {}
    for key, field in shape.fields.items():
        if key not in plain:
            continue  # kept as an extra field (the model is not strict)
        usable = is_safe_property_name(key) and key not in reserved
        prop_name = key if usable else _safe_name(key, taken)
        spec: dict[str, Any] = {"type": _type(owner + _pascal(key), field, models, taken_names)}
        if field.present == shape.objects:
            spec["required"] = True
        mongodb: dict[str, Any] = {}
        if prop_name != key:
            mongodb["fieldName"] = key
        if spec["type"] == "decimal":
            spec["type"] = "number"
            mongodb["dataType"] = DECIMAL_DATA_TYPE
        if mongodb:
            spec["mongodb"] = mongodb
        properties[prop_name] = spec
    return properties


def _type(model_name: str, shape: _Shape, models: dict[str, Any], taken_names: set[str]) -> Any:
    kinds = shape.kinds - {"emptyobject"} if shape.kinds != {"emptyobject"} else {"object"}
    if kinds <= {"integer", "number"} and "number" in kinds:
        return "number"
    if len(kinds) != 1:
        return "any"  # nothing seen but null, or types that disagree
    kind = next(iter(kinds))
    if kind == "array":
        assert shape.items is not None
        if shape.null_items or "array" in shape.items.kinds:
            return ["any"]  # a None item; arrays of arrays (odm wants a json_schema for them)
        item = _type(model_name, shape.items, models, taken_names) if shape.items.kinds else "any"
        return [item if item != "decimal" else "any"]
    if kind == "model":
        return _nested_model(model_name, shape, models, taken_names)
    return kind


def _nested_model(name: str, shape: _Shape, models: dict[str, Any], taken_names: set[str]) -> str:
    unique = name
    suffix = 2
    while unique in taken_names:
        unique = f"{name}{suffix}"
        suffix += 1
    taken_names.add(unique)
    properties = _properties(unique, shape, models, taken_names)
    models[unique] = {  # after the models it refers to, as define_model reads them
        "name": unique,
        "base": "Model",
        "properties": properties,
        "settings": {"strict": False},
    }
    return unique


async def discover_model(
    db: Any, collection: str, *, sample_size: int = 1000, name: str | None = None
) -> dict[str, Any]:
    """A LoopBack model definition inferred from a sample of ``collection``'s documents
    (``$sample`` of ``sample_size``), which :func:`odm.define_model` turns into a class
    that loads them.

    Types are merged over the sample (an integer and a float in one field make a
    ``number``; types that disagree, or only nulls, make ``any``); a property is
    ``required`` only where every sampled document holds it, not null. Embedded objects
    become nested definitions named after the path (``CustomerAddress``), given under
    ``"models"``; arrays are ``[T]`` with their items merged. ``_id`` is the id: an
    ObjectId gives odm's generated string id, another type a caller-supplied id of that
    type. A field name that is not a usable property name is mapped with
    ``mongodb.fieldName`` (``first-name`` -> ``first_name``); a key holding a dot or
    starting with ``$`` is left undeclared. Every model is ``strict: false``, so fields
    the sample missed are kept. The model name defaults to the collection's, PascalCase
    and singular (``customers`` -> ``Customer``).

    >>> definition = await discover_model(db, "customers", sample_size=500)
    >>> Customer = define_model(definition)
    """
    if not isinstance(collection, str) or not collection:
        raise ODMError(
            f"discover_model: a collection name is a non-empty string, not {collection!r}"
        )
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
        raise ODMError(
            f"discover_model: sample_size must be a positive integer, not {sample_size!r}"
        )
    if name is not None and (not isinstance(name, str) or not name):
        raise ODMError(f"discover_model: name must be a non-empty string, not {name!r}")
    documents = await _sample(db, collection, sample_size)
    model_name = name if name is not None else model_name_for(collection)
    return infer_definition(documents, name=model_name, collection=collection)


async def _sample(db: Any, collection: str, size: int) -> list[dict[str, Any]]:
    return await adapt(db).collection(collection).aggregate([{"$sample": {"size": size}}])
