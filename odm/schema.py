"""The JSON Schema of a model class, in LoopBack's shape.

>>> get_json_schema(Customer)["properties"]["address"]
{'$ref': '#/definitions/Address'}

The schema is read from the compiled metadata (``cls.__odm__``), not from pydantic's
own ``model_json_schema``: properties are keyed by property name, nested models are
hoisted into one top-level ``definitions`` map, and each property's ``json_schema``
keywords (``errorMessage`` included, for AJV-style validators) are merged in as given.

Choices where LoopBack is silent:

- A property whose type admits None (``str | None``) gets ``"type": ["string", "null"]``
  (and ``None`` in its ``enum``, ``{"type": "null"}`` in its ``anyOf``), unless it is
  ``required``, ``nullable=False`` or the id. A ``$ref`` stays a plain ``$ref``, as in
  LoopBack.
- A part typed ``Any`` adds nothing: ``Any`` is ``{}``, ``list[Any]`` is
  ``{"type": "array"}``, ``dict[str, Any]`` is ``{"type": "object"}``.
- ``required`` lists, in declaration order, the properties with no default and no
  ``default_fn``, and those declared ``required=True``; a generated id never is.
- Defaults are not written into the schema (LoopBack does not either).
- A model referring to itself (directly or through others) is put into
  ``definitions`` too, so every ``$ref`` resolves.
"""

from __future__ import annotations

import copy
import enum
import inspect
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from .errors import ModelDefinitionError
from .metadata import PropertyMeta, meta_of
from .relations.metadata import relation_schemas
from .types import OBJECT_ID_PATTERN, SCALAR_TABLE, TypeInfo, parse_type

__all__ = ["OBJECT_ID_PATTERN", "get_json_schema", "is_required"]

# Checked in order: bool before int, datetime before date (subclasses first).
_SCALAR_SCHEMAS: tuple[tuple[type, dict[str, Any]], ...] = tuple(
    (row.python, dict(row.json_schema)) for row in SCALAR_TABLE
)


def get_json_schema(
    cls: type[BaseModel], *, include_hidden: bool = False, include_relations: bool = False
) -> dict[str, Any]:
    """The LoopBack-shaped JSON Schema of a model class.

    Keys: ``title`` (the model name), ``type``, ``description`` (when set),
    ``properties`` (by property name), ``required``, ``definitions`` (every nested
    model, at any depth, referenced as ``{"$ref": "#/definitions/Name"}``) and
    ``additionalProperties`` (``strict is False``). Hidden properties, of the model
    and of its nested models, are left out unless ``include_hidden=True``.

    With ``include_relations=True`` the navigational properties are described too (an
    array of ``$ref`` or a ``$ref``) and entity models are named ``<Name>WithRelations``
    (LoopBack's schema of a read with ``include``); without it they are absent.

    Raises ``ModelDefinitionError`` when two different classes in the schema share a
    model name.
    """
    return _SchemaBuilder(cls, include_hidden, include_relations).build()


def is_required(prop: PropertyMeta) -> bool:
    """True when the property must be given on create: it has no default and no
    ``default_fn``, or it is declared ``required=True``; a generated id never is."""
    if prop.is_id and prop.generated:
        return False
    return prop.options.required or not prop.has_default


def _model_name(cls: type[BaseModel]) -> str:
    meta = meta_of(cls)
    if meta is not None:
        return meta.name
    title = cls.model_config.get("title")
    return title if isinstance(title, str) and title else cls.__name__


def _value_type(values: Iterable[Any]) -> dict[str, Any]:
    """The ``type`` shared by enum values, or nothing when they are mixed."""
    kinds: set[str] = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            kinds.add("boolean")
        elif isinstance(value, int):
            kinds.add("integer")
        elif isinstance(value, float):
            kinds.add("number")
        elif isinstance(value, str):
            kinds.add("string")
        else:
            return {}
    if kinds == {"integer", "number"}:
        return {"type": "number"}
    return {"type": kinds.pop()} if len(kinds) == 1 else {}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _scalar_schema(info: TypeInfo) -> dict[str, Any]:
    if info.literals:
        values = [_plain(v) for v in info.literals if v is not None]
        return {**_value_type(values), "enum": values}
    python = info.python
    if python is None:
        return {}
    if issubclass(python, enum.Enum):
        values = [member.value for member in python]
        return {**_value_type(values), "enum": values}
    for scalar, schema in _SCALAR_SCHEMAS:
        if issubclass(python, scalar):
            return dict(schema)
    return {}


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` also accepting None (a ``$ref`` or ``{}`` is left as it is)."""
    if "anyOf" in schema:
        schema["anyOf"] = [*schema["anyOf"], {"type": "null"}]
        return schema
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


class _SchemaBuilder:
    """Builds one schema; collects the nested models' schemas into ``definitions``."""

    def __init__(
        self, root: type[BaseModel], include_hidden: bool, include_relations: bool = False
    ) -> None:
        self.root = root
        self.include_hidden = include_hidden
        self.include_relations = include_relations
        self.definitions: dict[str, dict[str, Any]] = {}
        self.seen: dict[str, type[BaseModel]] = {self.name(root): root}
        self.root_referenced = False

    def name(self, cls: type[BaseModel]) -> str:
        meta = meta_of(cls)
        with_relations = self.include_relations and meta is not None and meta.is_entity
        return _model_name(cls) + ("WithRelations" if with_relations else "")

    def build(self) -> dict[str, Any]:
        schema = self.object_schema(self.root)
        if self.root_referenced:
            self.definitions = {self.name(self.root): dict(schema), **self.definitions}
        if not self.definitions:
            return schema
        strict = schema.pop("additionalProperties")
        return {**schema, "definitions": self.definitions, "additionalProperties": strict}

    def ref(self, cls: type[BaseModel]) -> dict[str, Any]:
        name = self.name(cls)
        known = self.seen.get(name)
        if known is None:
            self.seen[name] = cls
            self.definitions[name] = {}  # reserves the place: parents before children
            self.definitions[name] = self.object_schema(cls)
        elif known is not cls:
            raise ModelDefinitionError(
                f"{self.name(self.root)}: two different classes are named {name!r} in its "
                f"JSON Schema ({known.__module__}.{known.__qualname__} and "
                f"{cls.__module__}.{cls.__qualname__}); give one another name with "
                "@model(name=...)"
            )
        elif cls is self.root:
            self.root_referenced = True
        return {"$ref": f"#/definitions/{name}"}

    def object_schema(self, cls: type[BaseModel]) -> dict[str, Any]:
        meta = meta_of(cls)
        schema: dict[str, Any] = {"title": self.name(cls), "type": "object"}
        properties: dict[str, Any] = {}
        required: list[str] = []
        if meta is None:
            # a plain pydantic model nested in an odm model: its fields as declared
            doc = cls.__dict__.get("__doc__")
            description = inspect.cleandoc(doc) if isinstance(doc, str) else None
            for name, field in cls.model_fields.items():
                info = parse_type(field.annotation)
                item = self.type_schema(info, allow_null=info.nullable)
                extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
                properties[name] = self.finish(item, field.description, extra)
                if field.is_required():
                    required.append(name)
            strict = cls.model_config.get("extra") != "allow"
        else:
            description = meta.settings.description
            for prop in meta.properties.values():
                if prop.hidden and not self.include_hidden:
                    continue
                properties[prop.name] = self.property_schema(prop)
                if is_required(prop):
                    required.append(prop.name)
            if self.include_relations and meta.relations:
                properties.update(relation_schemas(meta, self.ref))
            strict = meta.strict is not False
        if description:
            schema["description"] = description
        schema["properties"] = properties
        if required:
            schema["required"] = required
        schema["additionalProperties"] = not strict
        return schema

    def property_schema(self, prop: PropertyMeta) -> dict[str, Any]:
        options = prop.options
        allow_null = (
            prop.type.nullable
            and options.nullable is not False
            and not options.required
            and not prop.is_id
        )
        schema = self.type_schema(prop.type, allow_null=allow_null)
        source = prop.source
        extra = source.json_schema_extra if isinstance(source.json_schema_extra, dict) else {}
        return self.finish(
            schema, options.description or source.description, {**extra, **options.json_schema}
        )

    @staticmethod
    def finish(
        schema: dict[str, Any], description: str | None, keywords: dict[str, Any]
    ) -> dict[str, Any]:
        if description:
            schema["description"] = description
        schema.update(copy.deepcopy(keywords))
        return schema

    def type_schema(self, info: TypeInfo, *, allow_null: bool) -> dict[str, Any]:
        schema: dict[str, Any]
        if info.kind == "scalar":
            schema = _scalar_schema(info)
        elif info.kind == "model" and info.model is not None:
            schema = self.ref(info.model)
        elif info.kind == "list":
            schema = {"type": "array"}
            if info.item is not None and info.item.kind != "any":
                schema["items"] = self.type_schema(info.item, allow_null=info.item.nullable)
            if info.container is set:
                schema["uniqueItems"] = True
        elif info.kind == "dict":
            schema = {"type": "object"}
            if info.item is not None and info.item.kind != "any":
                schema["additionalProperties"] = self.type_schema(
                    info.item, allow_null=info.item.nullable
                )
        elif info.kind == "union":
            schema = {"anyOf": [self.type_schema(o, allow_null=o.nullable) for o in info.options]}
        else:
            return {}
        return _with_null(schema) if allow_null else schema
