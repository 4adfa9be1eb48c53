"""The OpenAPI components of a CRUD router, from odm's JSON Schema.

For a model ``Customer`` (LoopBack 4's names):

- ``Customer``: the entity as a response returns it (and ``PUT`` takes it);
- ``NewCustomer``: a ``POST`` body, without a generated id;
- ``CustomerPartial``: a ``PATCH`` body, every property optional, no generated id;
- ``CustomerWithRelations``: the entity as reads return it, with its navigational
  properties (``orders``, with ``$ref``s to ``OrderWithRelations``) for ``include``;
- one component per model embedded in it (``Address``), referenced with ``$ref``;
- the ``filter`` parameter's schema ``Customer.Filter`` and ``where``'s
  ``Customer.WhereFilter``, inline in the parameters.

Hidden properties are in none of them (``get_json_schema`` leaves them out at every
depth); navigational properties only in the ``...WithRelations`` ones; the properties odm
maintains (timestamps, a version) are not in ``NewCustomer``, and of them only the
version is in ``CustomerPartial`` (a ``PATCH`` that sends the version it read is refused
with a 409 when the entity changed since).

FastAPI builds ``components.schemas`` from the pydantic classes its routes name; the
schemas here are odm's own, so each component is a pydantic class made for the purpose
whose JSON Schema is the odm one (``__get_pydantic_json_schema__``). The classes only
describe: routes read bodies and write responses themselves. One class per component
name and schema is made once per process, so two routers embedding one model share its
component.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic_core import CoreSchema

from ..metadata import ModelMeta
from ..schema import get_json_schema
from ..versioning import stamps_of

__all__ = ["Components", "components_for", "filter_schema", "include_schema", "where_schema"]

_REF_PREFIX = "#/definitions/"
_COMPONENT_PREFIX = "#/components/schemas/"


class Components:
    """The components of one model's router: ``entity``, ``new`` and ``partial`` name
    pydantic classes to use as ``response_model`` / in ``responses``; ``carrier`` is the
    one class whose fields reach every component (FastAPI registers what it reaches)."""

    def __init__(self, meta: ModelMeta, model_class: type[BaseModel]) -> None:
        name = meta.name
        schema = get_json_schema(model_class)
        definitions: dict[str, Any] = schema.pop("definitions", {})
        entity = _rewrite(schema)
        related = get_json_schema(model_class, include_relations=True)
        related_definitions: dict[str, Any] = related.pop("definitions", {})
        self.names = {
            "entity": name,
            "new": f"New{name}",
            "partial": f"{name}Partial",
            "related": f"{name}WithRelations",
        }
        schemas: dict[str, dict[str, Any]] = {
            self.names["entity"]: entity,
            self.names["new"]: _writable_schema(meta, entity, f"New{name}", version=False),
            self.names["partial"]: _partial(meta, entity, f"{name}Partial"),
            self.names["related"]: _rewrite(related),
        }
        for nested_name, nested in {**definitions, **related_definitions}.items():
            if nested_name not in (name, self.names["related"]):
                schemas.setdefault(nested_name, _rewrite(nested))
        self.schemas = schemas
        classes = {key: _component_class(key, _frozen(value)) for key, value in schemas.items()}
        self.new = classes[self.names["new"]]
        self.partial = classes[self.names["partial"]]
        self.related = classes[self.names["related"]]
        others = {key: cls for key, cls in classes.items() if key != name}
        self.entity = _carrier(name, _frozen(entity), tuple(others.items()))

    def ref(self, key: str) -> dict[str, str]:
        """``{"$ref": ...}`` to the component ``entity``, ``new``, ``partial`` or
        ``related``."""
        return {"$ref": _COMPONENT_PREFIX + self.names[key]}


def components_for(meta: ModelMeta, model_class: type[BaseModel]) -> Components:
    """The components of ``model_class``'s router."""
    return Components(meta, model_class)


def filter_schema(meta: ModelMeta, *, with_where: bool = True) -> dict[str, Any]:
    """The schema of the ``filter`` parameter (LoopBack's ``Customer.Filter``)."""
    names = [prop.name for prop in meta.properties.values() if not prop.hidden]
    properties: dict[str, Any] = {
        "offset": {"type": "integer", "minimum": 0},
        "limit": {"type": "integer", "minimum": 1, "examples": [100]},
        "skip": {"type": "integer", "minimum": 0},
        "order": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
            ],
            "examples": [f"{names[0]} ASC" if names else "id ASC"],
        },
        "fields": {
            "title": f"{meta.name}.Fields",
            "oneOf": [
                {
                    "type": "object",
                    "properties": {name: {"type": "boolean"} for name in names},
                    "additionalProperties": meta.strict is False,
                },
                {"type": "array", "items": {"type": "string", "enum": names}, "uniqueItems": True},
            ],
        },
    }
    if with_where:
        properties = {"where": where_schema(meta), **properties}
    if meta.relations:
        properties["include"] = include_schema(meta)
    return {
        "title": f"{meta.name}.Filter",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def include_schema(meta: ModelMeta) -> dict[str, Any]:
    """The schema of a filter's ``include`` (LoopBack's ``Customer.IncludeFilter``)."""
    names = sorted(meta.relations)
    item = {
        "title": f"{meta.name}.IncludeFilter.Items",
        "type": "object",
        "properties": {
            "relation": {"type": "string", "enum": names},
            "scope": {"type": "object", "description": "a filter of the related entities"},
        },
        "required": ["relation"],
        "additionalProperties": False,
    }
    return {
        "title": f"{meta.name}.IncludeFilter",
        "type": "array",
        "items": {"anyOf": [{"type": "string", "enum": names}, item]},
    }


def where_schema(meta: ModelMeta) -> dict[str, Any]:
    """The schema of a ``where`` clause (LoopBack's ``Customer.WhereFilter``)."""
    return {"title": f"{meta.name}.WhereFilter", "type": "object", "additionalProperties": True}


def _rewrite(schema: Any) -> Any:
    """``schema`` with its ``#/definitions/X`` references pointing at components."""
    if isinstance(schema, dict):
        out = {key: _rewrite(value) for key, value in schema.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            out["$ref"] = _COMPONENT_PREFIX + ref[len(_REF_PREFIX) :]
        return out
    if isinstance(schema, list):
        return [_rewrite(item) for item in schema]
    return schema


def _writable(meta: ModelMeta, *, version: bool) -> Iterable[str]:
    """The properties a client may send: all but a generated id, the hidden ones and
    those odm maintains (the version only when ``version``)."""
    stamps = stamps_of(meta)
    managed = {prop.name for prop in stamps.timestamps}
    if stamps.version is not None and not version:
        managed.add(stamps.version.name)
    for prop in meta.properties.values():
        if not (prop.is_id and prop.generated) and not prop.hidden and prop.name not in managed:
            yield prop.name


def _writable_schema(
    meta: ModelMeta, entity: dict[str, Any], title: str, *, version: bool
) -> dict[str, Any]:
    schema = copy.deepcopy(entity)
    keep = set(_writable(meta, version=version))
    schema["title"] = title
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k in keep}
    required = [name for name in schema.get("required", ()) if name in keep]
    schema.pop("required", None)
    if required:
        schema["required"] = required
    return schema


def _partial(meta: ModelMeta, entity: dict[str, Any], title: str) -> dict[str, Any]:
    schema = _writable_schema(meta, entity, title, version=True)
    schema.pop("required", None)
    version = stamps_of(meta).version
    if version is not None:
        described = dict(schema["properties"].get(version.name, {}))
        described.pop("readOnly", None)
        described["description"] = (
            "the version read: the write is refused (409) if the entity changed since"
        )
        schema["properties"][version.name] = described
    return schema


def _frozen(schema: dict[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True)


def _schema_hook(text: str) -> Any:
    def hook(
        cls: type[BaseModel], core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(text)
        return result

    return classmethod(hook)


@functools.cache
def _component_class(name: str, schema: str) -> type[BaseModel]:
    return _describing_class(name, schema, {})


@functools.cache
def _carrier(
    name: str, schema: str, others: tuple[tuple[str, type[BaseModel]], ...]
) -> type[BaseModel]:
    """The entity's component class; its fields (never shown: its schema is odm's) are
    the other components, so FastAPI registers them all."""
    fields = {f"component_{index}": cls | None for index, (_, cls) in enumerate(others)}
    return _describing_class(name, schema, fields)


def _describing_class(name: str, schema: str, fields: dict[str, Any]) -> type[BaseModel]:
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__annotations__": fields,
        "model_config": ConfigDict(extra="allow"),
        "__get_pydantic_json_schema__": _schema_hook(schema),
        **dict.fromkeys(fields),
    }
    return type(name, (BaseModel,), namespace)
