"""``python -m odm discover``: a discovered model definition as JSON, or as an importable
Python module of ``@model`` classes (:func:`python_module`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..connection import connect
from ..definition_export import DECIMAL_DATA_TYPE
from ..discovery import discover_model
from ..errors import ODMError

__all__ = ["FORMATS", "discover", "python_module"]

#: the output formats of the command
FORMATS = ("json", "python")

_PYTHON_TYPES = {
    "string": "str",
    "number": "float",
    "integer": "int",
    "boolean": "bool",
    "date": "datetime.datetime",
    "ObjectId": "ObjectId",
    "uuid": "uuid.UUID",
    "buffer": "bytes",
    "object": "dict[str, Any]",
    "any": "Any",
}
# what a module needs to import when its text uses a name
_IMPORTS = (
    ("datetime.", "import datetime"),
    ("decimal.", "import decimal"),
    ("uuid.", "import uuid"),
    ("Any", "from typing import Any"),
    ("ObjectId", "from bson import ObjectId"),
)


async def discover(
    uri: str, collection: str, *, driver: str, sample_size: int, name: str | None, format: str
) -> str:
    """The text ``python -m odm discover`` prints."""
    async with connect(uri, driver=driver) as db:
        definition = await discover_model(db, collection, sample_size=sample_size, name=name)
    if format == "python":
        return python_module(definition)
    return json.dumps(definition, indent=2) + "\n"


def python_module(definition: Mapping[str, Any]) -> str:
    """The source of a module declaring the model of a discovered ``definition`` (and its
    nested models, first) as ``@model`` classes; their ``model_definition`` is the
    definition."""
    name = definition["name"]
    if not name.isidentifier():
        raise ODMError(f"{name!r} is not a Python class name; give the model another with --name")
    nested: Mapping[str, Any] = definition.get("models") or {}
    classes = [_class(d, base="Model") for d in nested.values()]
    classes.append(_class(definition, base="Entity"))
    body = "\n\n".join(classes)
    collection = definition["settings"]["mongodb"]["collection"]
    bases = ", ".join(["Entity", *(["Model"] if nested else []), "model", "prop"])
    imports = sorted(
        {line for used, line in _IMPORTS if used in body},
        key=lambda line: (line.startswith("from"), line),
    )  # "import x" lines before "from x import y" ones, as isort writes them
    stdlib = [line for line in imports if "bson" not in line]
    third = [line for line in imports if line not in stdlib]
    head = "\n".join(stdlib) + ("\n\n" if stdlib else "")
    head += "\n".join(third) + ("\n\n" if third else "")
    return (
        f'"""The models of collection {_string(collection)}, discovered from a sample of '
        'its documents\n(python -m odm discover)."""\n\n'
        f"{head}from odm import {bases}\n\n\n{body}"
    )


def _class(definition: Mapping[str, Any], *, base: str) -> str:
    settings = definition.get("settings") or {}
    options = []
    collection = (settings.get("mongodb") or {}).get("collection")
    if collection is not None:
        options.append(f"collection={_string(collection)}")
    options.append("strict=False")
    lines = [f"@model({', '.join(options)})", f"class {definition['name']}({base}):"]
    properties: Mapping[str, Any] = definition.get("properties") or {}
    lines.extend(f"    {_property(n, spec)}" for n, spec in properties.items())
    if not properties:
        lines.append("    pass")
    return "\n".join(lines) + "\n"


def _property(name: str, spec: Mapping[str, Any]) -> str:
    mongodb = spec.get("mongodb") or {}
    annotation = _annotation(spec["type"], decimal=mongodb.get("dataType") == DECIMAL_DATA_TYPE)
    if spec.get("id"):
        generated = ", generated=True" if spec.get("generated") else ""
        return f"{name}: {annotation} = prop(id=True{generated})"
    field_name = mongodb.get("fieldName")
    if spec.get("required"):
        default = "" if field_name is None else f" = prop(field_name={_string(field_name)})"
        return f"{name}: {annotation}{default}"
    if annotation != "Any":
        annotation += " | None"
    default = "None" if field_name is None else f"prop(None, field_name={_string(field_name)})"
    return f"{name}: {annotation} = {default}"


def _annotation(type_spec: Any, *, decimal: bool = False) -> str:
    if isinstance(type_spec, list):
        return f"list[{_annotation(type_spec[0])}]"
    if decimal:
        return "decimal.Decimal"
    return _PYTHON_TYPES.get(type_spec, str(type_spec))  # else a model name


def _string(value: str) -> str:
    # a JSON string is a Python string literal, in the double quotes ruff's format writes
    return json.dumps(value)
