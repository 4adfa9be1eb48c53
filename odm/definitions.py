"""LoopBack model-definition JSON in and out (SPEC §2.8), and inference from a document.

>>> Address = define_model({"name": "Address", "properties": {"city": "string"}})
>>> Customer = define_model({
...     "name": "Customer", "base": "Entity",
...     "properties": {"email": {"type": "string", "required": True},
...                    "address": {"type": "Address"}},
...     "settings": {"strict": "filter", "mongodb": {"collection": "customers"}},
... })
>>> model_definition(Customer)["settings"]
{'strict': 'filter', 'mongodb': {'collection': 'customers'}}

Model names in a definition (``base``, property types) are looked up in the ``models=``
mapping given to :func:`define_model`, then in a registry of every class
:func:`define_model` built in this process (a later definition of a name replaces the
earlier one). :func:`model_definition` gives the nested models by name only; with
``include_models=True`` it also gives their definitions under the key ``"models"``
(an odm extension, which :func:`define_model` reads back), so one dict rebuilds a class
and everything it refers to.

Property types: ``string`` (``str``), ``number`` (``float``; ``Decimal`` with
``mongodb.dataType: "Decimal128"``), ``integer`` (``int``), ``boolean``, ``date``
(``datetime``), ``DateString`` (``datetime.date``), ``object`` (``dict[str, Any]``),
``any``, ``ObjectId``, ``uuid``, ``buffer`` (``bytes``), ``["T"]`` or ``"array"`` with
``itemType`` (``list[T]``), and model names. The built-in names are case-insensitive.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import enum
import inspect
import keyword
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, Optional

from bson import Binary, Decimal128, ObjectId
from pydantic import BaseModel, ConfigDict, PydanticUserError, TypeAdapter, create_model
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_json, to_jsonable_python

from .errors import ModelDefinitionError
from .metadata import ModelMeta, PropertyMeta, meta_of
from .model import Entity, Model, model
from .properties import DEFAULT_FNS, prop
from .types import SCALAR_TABLE, TypeInfo, bson_annotation

__all__ = [
    "BASES",
    "TYPE_NAMES",
    "build_model_from_instance",
    "define_model",
    "model_definition",
    "registered_models",
]

#: LoopBack base names and the odm class each one means.
BASES: dict[str, type[Model]] = {
    "Entity": Entity,
    "PersistedModel": Entity,
    "Model": Model,
    "ValueObject": Model,
}

#: Built-in type names (lower case) and the annotation each one gives.
TYPE_NAMES: dict[str, Any] = {
    "string": str,
    "number": float,
    "integer": int,
    "boolean": bool,
    "date": dt.datetime,
    "datestring": dt.date,
    "object": dict[str, Any],
    "any": Any,
    "objectid": ObjectId,
    "uuid": uuid.UUID,
    "buffer": bytes,
}

# The name model_definition writes for each scalar (subclasses first).
_SCALAR_NAMES: tuple[tuple[type, str], ...] = tuple(
    (row.python, row.loopback) for row in SCALAR_TABLE
)
_DECIMAL_DATA_TYPE = "Decimal128"

_PROPERTY_KEYS = frozenset(
    [
        "type",
        "itemType",
        "id",
        "generated",
        "required",
        "nullable",
        "default",
        "defaultFn",
        "index",
        "unique",
        "hidden",
        "description",
        "jsonSchema",
        "mongodb",
        "columnName",
    ]
)
# LoopBack property keys odm has no use for (SQL sizes, other connectors' settings).
_IGNORED_PROPERTY_KEYS = frozenset(
    ["length", "precision", "scale", "comments", "postgresql", "mysql", "mssql", "oracle", "db2"]
)
_SETTING_KEYS = frozenset(
    [
        "strict",
        "hiddenProperties",
        "hidden",
        "forceId",
        "scope",
        "indexes",
        "description",
        "mongodb",
    ]
)
_DEFINITION_KEYS = frozenset(["name", "base", "properties", "settings", "models"])
# LoopBack model keys odm has no use for (relations, ACLs, REST settings, ...).
_IGNORED_MODEL_KEYS = frozenset(
    [
        "relations",
        "acls",
        "methods",
        "mixins",
        "options",
        "plural",
        "http",
        "public",
        "idInjection",
        "validateUpsert",
        "replaceOnPUT",
        "validations",
    ]
)
# MongoDB's camelCase index options and odm's names for them.
_INDEX_OPTIONS = {
    "expireAfterSeconds": "expire_after_seconds",
    "partialFilterExpression": "partial_filter",
}

_registry: dict[str, type[Model]] = {}


def registered_models() -> dict[str, type[Model]]:
    """The classes :func:`define_model` has built, by model name (a copy)."""
    return dict(_registry)


def define_model(
    definition: Mapping[str, Any], *, models: Mapping[str, type[BaseModel]] | None = None
) -> type[Model]:
    """Build a model class from a LoopBack model-definition dict.

    ``base`` is ``"Entity"``/``"PersistedModel"``, ``"Model"``/``"ValueObject"`` or the
    name of another model (defaults to ``Entity`` when a property is the id, else
    ``Model``). Property types and options, and settings, use LoopBack's camelCase keys
    (see the module docstring). A property that is not ``required`` and has no
    ``default`` becomes ``T | None = None``. Model names are found in ``models``, then
    among the earlier definitions. The class is registered under its model name.

    Raises ``ModelDefinitionError`` for an unknown type, base or key, or a bad option.
    """
    if not isinstance(definition, Mapping):
        raise ModelDefinitionError(
            f"a model definition is a mapping, not {type(definition).__name__}"
        )
    name = definition.get("name")
    if not isinstance(name, str) or not name:
        raise ModelDefinitionError(
            f"a model definition needs a non-empty string 'name', not {name!r}"
        )
    _check_keys(name, definition, _DEFINITION_KEYS | _SETTING_KEYS, _IGNORED_MODEL_KEYS, "key")
    known: dict[str, type[BaseModel]] = dict(models or {})
    nested = _mapping_or_empty(definition.get("models"))
    if not isinstance(nested, Mapping):
        raise ModelDefinitionError(f"{name}: 'models' maps model names to definitions")
    for nested_name, nested_definition in nested.items():
        if nested_name not in known:
            known[nested_name] = define_model(nested_definition, models=known)

    properties = _mapping_or_empty(definition.get("properties"))
    if not isinstance(properties, Mapping):
        raise ModelDefinitionError(f"{name}: 'properties' maps property names to definitions")
    specs = {
        prop_name: _normalise_property(name, prop_name, spec)
        for prop_name, spec in properties.items()
    }
    base_cls = _base_class(name, definition.get("base"), specs, known)
    if _takes_id_by_name(base_cls, specs):
        # the class compiler makes a property named "id" the id; type it as one
        specs["id"] = {**specs["id"], "id": True}
    fields = {prop_name: _field(name, prop_name, spec, known) for prop_name, spec in specs.items()}
    cls = _create(name, base_cls, fields, _settings(name, definition))
    _registry[name] = cls
    return cls


def _takes_id_by_name(base: type[Model], specs: Mapping[str, Mapping[str, Any]]) -> bool:
    if not issubclass(base, Entity) or "id" not in specs:
        return False
    if any(spec.get("id") for spec in specs.values()):
        return False
    inherited = base.odm_meta().id
    return inherited is not None and inherited.name == "id"


def _mapping_or_empty(value: Any) -> Any:
    return {} if value is None else value


def _check_keys(
    where: str,
    given: Mapping[str, Any],
    allowed: frozenset[str],
    ignored: frozenset[str],
    what: str,
) -> None:
    unknown = [key for key in given if key not in allowed and key not in ignored]
    if unknown:
        raise ModelDefinitionError(
            f"{where}: unknown {what}(s) {unknown}; allowed: {', '.join(sorted(allowed))}"
        )


def _create(
    name: str,
    base: type[Model],
    fields: Mapping[str, tuple[Any, FieldInfo]],
    settings: Mapping[str, Any],
) -> type[Model]:
    for prop_name in fields:
        if not _is_safe_name(prop_name):
            raise ModelDefinitionError(
                f"{name}.{prop_name}: a property name must be a Python identifier that does "
                "not start with '_' nor shadow a model attribute; give the property "
                "another name and map the stored one with mongodb.fieldName"
            )
    try:
        cls = create_model(name, __base__=base, __module__=__name__, **fields)  # type: ignore[call-overload]
    except ModelDefinitionError:
        raise
    except (PydanticUserError, TypeError, ValueError, NameError) as error:
        raise ModelDefinitionError(f"{name}: {error}") from error
    built: type[Model] = model(**settings)(cls)
    return built


def _is_safe_name(name: str) -> bool:
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and not hasattr(Entity, name)
    )


def _normalise_property(model_name: str, name: str, spec: Any) -> dict[str, Any]:
    where = f"{model_name}.{name}"
    if isinstance(spec, str | list) or (isinstance(spec, type) and issubclass(spec, BaseModel)):
        spec = {"type": spec}
    if not isinstance(spec, Mapping):
        raise ModelDefinitionError(
            f"{where}: a property is a type name or a mapping of options, not {spec!r}"
        )
    _check_keys(where, spec, _PROPERTY_KEYS, _IGNORED_PROPERTY_KEYS, "property option")
    if "type" not in spec:
        raise ModelDefinitionError(f"{where}: the property has no 'type'")
    return dict(spec)


def _bool_option(where: str, spec: Mapping[str, Any], key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise ModelDefinitionError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def _str_option(where: str, spec: Mapping[str, Any], key: str, label: str = "") -> str | None:
    value = spec.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ModelDefinitionError(
            f"{where}: {label or key} must be a non-empty string, not {value!r}"
        )
    return value


def _base_class(
    name: str, base: Any, specs: Mapping[str, Mapping[str, Any]], known: Mapping[str, type[Any]]
) -> type[Model]:
    if base is None:
        return Entity if any(spec.get("id") for spec in specs.values()) else Model
    if isinstance(base, type) and issubclass(base, Model):
        return base
    if isinstance(base, str):
        if base in BASES:
            return BASES[base]
        found = known.get(base) or _registry.get(base)
        if isinstance(found, type) and issubclass(found, Model):
            return found
    raise ModelDefinitionError(
        f"{name}: unknown base {base!r}; use one of {', '.join(BASES)} or the name of a "
        "model defined earlier (or given in models=)"
    )


def _resolve_type(
    where: str,
    type_spec: Any,
    spec: Mapping[str, Any],
    known: Mapping[str, type[Any]],
    *,
    top: bool,
) -> Any:
    if isinstance(type_spec, type) and issubclass(type_spec, BaseModel):
        return type_spec
    if isinstance(type_spec, list):
        if len(type_spec) != 1:
            raise ModelDefinitionError(
                f'{where}: an array type lists exactly one item type, as ["string"], '
                f"not {type_spec!r}"
            )
        return list[_resolve_type(where, type_spec[0], {}, known, top=False)]  # type: ignore[misc]
    if not isinstance(type_spec, str):
        raise ModelDefinitionError(f"{where}: a type is a name or [name], not {type_spec!r}")
    lowered = type_spec.lower()
    if lowered == "array":
        item = spec.get("itemType", "any") if top else "any"
        return list[_resolve_type(where, item, {}, known, top=False)]  # type: ignore[misc]
    if lowered in TYPE_NAMES:
        mongodb = spec.get("mongodb") or {}
        if lowered == "number" and mongodb.get("dataType") == _DECIMAL_DATA_TYPE:
            return decimal.Decimal
        return TYPE_NAMES[lowered]
    found = known.get(type_spec) or _registry.get(type_spec)
    if isinstance(found, type) and issubclass(found, BaseModel):
        return found
    raise ModelDefinitionError(
        f"{where}: unknown type {type_spec!r}; use one of string, number, integer, boolean, "
        "date, DateString, object, any, ObjectId, uuid, buffer, [type], or the name of a "
        "model defined earlier (or given in models=)"
    )


def _field_name(where: str, spec: Mapping[str, Any]) -> str | None:
    mongodb = spec.get("mongodb")
    if mongodb is None:
        mongodb = {}
    if not isinstance(mongodb, Mapping):
        raise ModelDefinitionError(f"{where}: mongodb must be a mapping, not {mongodb!r}")
    _check_keys(
        f"{where}.mongodb", mongodb, frozenset(["fieldName", "dataType"]), frozenset(), "key"
    )
    field_name = _str_option(where, mongodb, "fieldName", "mongodb.fieldName")
    column = _str_option(where, spec, "columnName")
    if field_name is not None and column is not None and field_name != column:
        raise ModelDefinitionError(
            f"{where}: mongodb.fieldName {field_name!r} and columnName {column!r} disagree; "
            "give one of them"
        )
    return field_name or column


def _index_option(where: str, value: Any) -> bool | dict[str, Any] | None:
    if value is None or value is False:
        return None
    if value is True:
        return True
    if isinstance(value, Mapping):
        return {_INDEX_OPTIONS.get(str(key), str(key)): option for key, option in value.items()}
    raise ModelDefinitionError(
        f"{where}: index must be true or a mapping of index options, not {value!r}"
    )


def _description(where: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Sequence) and all(isinstance(line, str) for line in value):
        return " ".join(value)
    raise ModelDefinitionError(
        f"{where}: description must be a string or a list of strings, not {value!r}"
    )


def _convert_default(where: str, annotation: Any, value: Any) -> Any:
    """A definition's default (JSON, or a Python value) as a value of the property's type."""
    target = bson_annotation(annotation)
    is_model = isinstance(target, type) and issubclass(target, BaseModel)
    config = None if is_model else ConfigDict(arbitrary_types_allowed=True, val_json_bytes="base64")
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(target, config=config)
        return adapter.validate_json(to_json(value, bytes_mode="base64", fallback=str))
    except (PydanticValidationError, ValueError, TypeError) as error:
        raise ModelDefinitionError(
            f"{where}: default {value!r} is not a valid value of the property's type: {error}"
        ) from error


def _field(
    model_name: str, name: str, spec: Mapping[str, Any], known: Mapping[str, type[Any]]
) -> tuple[Any, FieldInfo]:
    where = f"{model_name}.{name}"
    base_type = _resolve_type(where, spec["type"], spec, known, top=True)
    is_id = _bool_option(where, spec, "id")
    required = _bool_option(where, spec, "required")
    nullable = spec.get("nullable")
    if nullable is not None and not isinstance(nullable, bool):
        raise ModelDefinitionError(f"{where}: nullable must be true or false, not {nullable!r}")
    default_fn = _str_option(where, spec, "defaultFn")
    if default_fn is not None and default_fn not in DEFAULT_FNS:
        raise ModelDefinitionError(
            f"{where}: unknown defaultFn {default_fn!r}; known: {', '.join(sorted(DEFAULT_FNS))}"
        )
    json_schema = spec.get("jsonSchema") or {}
    if not isinstance(json_schema, Mapping):
        raise ModelDefinitionError(f"{where}: jsonSchema must be a mapping, not {json_schema!r}")
    # LoopBack reads a null default as no default
    given_default = spec.get("default")
    if required and nullable is True:
        if given_default is not None or default_fn is not None:
            raise ModelDefinitionError(
                f"{where}: required with nullable means 'must be given, may be null'; "
                "it cannot have a default or a defaultFn"
            )
        # no default makes the value required, and odm's required option would refuse None
        required = False
        annotation: Any = Optional[base_type]  # noqa: UP045
        default: Any = PydanticUndefined
    elif is_id or required:
        annotation = base_type
        default = PydanticUndefined
    else:
        optional = given_default is None and default_fn is None
        annotation = Optional[base_type] if optional or nullable is True else base_type  # noqa: UP045
        default = None if optional else PydanticUndefined
    if given_default is not None:
        default = _convert_default(where, annotation, given_default)
    field = prop(
        default,
        default_fn=default_fn,
        id=is_id,
        generated=_bool_option(where, spec, "generated"),
        required=required,
        nullable=nullable,
        hidden=_bool_option(where, spec, "hidden"),
        field_name=_field_name(where, spec),
        index=_index_option(where, spec.get("index")),
        unique=_bool_option(where, spec, "unique"),
        description=_description(where, spec.get("description")),
        json_schema=dict(json_schema),
    )
    assert isinstance(field, FieldInfo)
    return annotation, field


def _settings(name: str, definition: Mapping[str, Any]) -> dict[str, Any]:
    given = _mapping_or_empty(definition.get("settings"))
    if not isinstance(given, Mapping):
        raise ModelDefinitionError(f"{name}: 'settings' must be a mapping, not {given!r}")
    _check_keys(f"{name}.settings", given, _SETTING_KEYS, _IGNORED_MODEL_KEYS, "setting")
    # LoopBack 3 puts settings at the top level of a definition; 'settings' wins.
    merged = {key: definition[key] for key in _SETTING_KEYS if key in definition}
    merged.update(given)
    settings: dict[str, Any] = {}
    if "strict" in merged:
        settings["strict"] = merged["strict"]
    hidden = merged.get("hiddenProperties", merged.get("hidden"))
    if hidden is not None:
        if isinstance(hidden, str) or not all(isinstance(item, str) for item in hidden):
            raise ModelDefinitionError(
                f"{name}: hiddenProperties must be a list of property names, not {hidden!r}"
            )
        settings["hidden_properties"] = list(hidden)
    if "forceId" in merged:
        if not isinstance(merged["forceId"], bool):
            raise ModelDefinitionError(
                f"{name}: forceId must be true or false, not {merged['forceId']!r}"
            )
        settings["force_id"] = merged["forceId"]
    for key in ("scope", "indexes"):
        if merged.get(key) is not None:
            if not isinstance(merged[key], Mapping):
                raise ModelDefinitionError(f"{name}: {key} must be a mapping, not {merged[key]!r}")
            settings[key] = copy.deepcopy(dict(merged[key]))
    description = _description(name, merged.get("description"))
    if description is not None:
        settings["description"] = description
    mongodb = merged.get("mongodb") or {}
    if not isinstance(mongodb, Mapping):
        raise ModelDefinitionError(f"{name}: mongodb must be a mapping, not {mongodb!r}")
    _check_keys(f"{name}.mongodb", mongodb, frozenset(["collection"]), frozenset(), "key")
    collection = _str_option(name, mongodb, "collection", "mongodb.collection")
    if collection is not None:
        settings["collection"] = collection
    return settings


# -- model_definition ---------------------------------------------------------------


def model_definition(cls: type[BaseModel], *, include_models: bool = False) -> dict[str, Any]:
    """The LoopBack model-definition dict of an odm model class (the reverse of
    :func:`define_model`).

    Keys are camelCase and only options that differ from the defaults are written, so
    ``model_definition(define_model(d))`` is ``d`` in its normal form: short forms
    (``"string"``, ``columnName``, ``"array"`` + ``itemType``, top-level settings) are
    spelled out; the id of an ``Entity`` is listed even when it was implicit; a
    property with no default is ``"required": true``. Nested models are given by name;
    ``include_models=True`` adds their definitions (and those of user-defined bases)
    under ``"models"``, dependencies first.

    Raises ``ModelDefinitionError`` for a type LoopBack cannot express (a union, an
    ``Enum`` or ``Literal`` below a list, a ``dict`` with typed values) or a
    ``default_factory`` other than ``list``/``dict``/``set``/``tuple``.
    """
    meta = meta_of(cls)
    if meta is None:
        raise ModelDefinitionError(f"{cls.__name__} is not an odm model class")
    exporter = _Exporter()
    definition = exporter.definition(meta)
    if include_models and exporter.models:
        definition["models"] = _collect(exporter.models, exclude=meta.name)
    return definition


def _collect(found: Mapping[str, type[BaseModel]], *, exclude: str) -> dict[str, Any]:
    """The definitions of the models in ``found`` and of the models they refer to,
    dependencies first."""
    ordered: dict[str, Any] = {}
    visiting: set[str] = {exclude}

    def visit(name: str, cls: type[BaseModel]) -> None:
        if name in ordered or name in visiting:
            return
        visiting.add(name)
        meta = meta_of(cls)
        if meta is None:
            raise ModelDefinitionError(f"{cls.__name__} is not an odm model class")
        exporter = _Exporter()
        definition = exporter.definition(meta)
        for child_name, child in exporter.models.items():
            visit(child_name, child)
        ordered[name] = definition

    for name, cls in found.items():
        visit(name, cls)
    return ordered


class _Exporter:
    """Writes one definition; collects the model classes it names."""

    def __init__(self) -> None:
        self.models: dict[str, type[BaseModel]] = {}

    def definition(self, meta: ModelMeta) -> dict[str, Any]:
        cls = meta.cls
        parent = next((b for b in cls.__mro__[1:] if meta_of(b) is not None), None)
        parent_meta = meta_of(parent) if parent is not None else None
        builtin_parent = parent is None or parent in (Entity, Model)
        if builtin_parent:
            base = "Entity" if meta.is_entity else "Model"
            own = list(meta.properties.values())
            settings = _settings_of(meta)
        else:
            assert parent_meta is not None and parent is not None
            base = parent_meta.name
            self.models[base] = parent
            annotations = inspect.get_annotations(cls)
            own = [
                p
                for p in meta.properties.values()
                if p.name in annotations or p.name not in parent_meta.properties
            ]
            settings = _settings_of(meta, only=set(meta.declared))
        definition: dict[str, Any] = {"name": meta.name, "base": base}
        description = settings.pop("description", None)
        if description is not None:
            definition["description"] = description
        definition["properties"] = {p.name: self.property(meta, p) for p in own}
        if settings:
            definition["settings"] = settings
        return definition

    def property(self, meta: ModelMeta, item: PropertyMeta) -> dict[str, Any]:
        where = f"{meta.name}.{item.name}"
        options, source = item.options, item.source
        type_name, enum_values = self.type_name(where, item.type, top=True)
        spec: dict[str, Any] = {"type": type_name}
        if item.is_id:
            spec["id"] = True
        if options.generated:
            spec["generated"] = True
        static = source.default
        factory = source.default_factory
        if factory is not None:
            if factory not in (list, dict, set, tuple, frozenset):
                raise ModelDefinitionError(
                    f"{where}: a default_factory cannot be written in a model definition; "
                    "use a static default or a default_fn"
                )
            static = factory()
        has_static = static is not PydanticUndefined and not (item.is_id and item.generated)
        plain_optional = has_static and static is None and not options.required
        if options.required or (not item.has_default and not item.is_id):
            spec["required"] = True
        if options.nullable is not None:
            spec["nullable"] = options.nullable
        elif item.type.nullable and not options.required and not plain_optional and not item.is_id:
            spec["nullable"] = True
        if has_static and not plain_optional:
            spec["default"] = to_jsonable_python(static, bytes_mode="base64", fallback=str)
        if options.default_fn is not None:
            spec["defaultFn"] = options.default_fn
        if options.index is True:
            spec["index"] = True
        elif isinstance(options.index, Mapping):
            camel = {odm: lb for lb, odm in _INDEX_OPTIONS.items()}
            spec["index"] = {camel.get(k, k): v for k, v in options.index.items()}
        if options.unique:
            spec["unique"] = True
        if options.hidden:
            spec["hidden"] = True
        description = options.description or source.description
        if description:
            spec["description"] = description
        json_schema = {**({"enum": enum_values} if enum_values is not None else {})}
        json_schema.update(options.json_schema)
        if json_schema:
            spec["jsonSchema"] = copy.deepcopy(json_schema)
        mongodb: dict[str, Any] = {}
        if options.field_name is not None:
            mongodb["fieldName"] = options.field_name
        if _is_decimal(item.type):
            mongodb["dataType"] = _DECIMAL_DATA_TYPE
        if mongodb:
            spec["mongodb"] = mongodb
        return spec

    def type_name(self, where: str, info: TypeInfo, *, top: bool) -> tuple[Any, list[Any] | None]:
        """The LoopBack type of ``info``, and the enum values it stands for (top level)."""
        if not top and info.nullable and info.kind != "any":
            _cannot(where, "an item that may be None")
        if info.kind == "any":
            return "any", None
        if info.kind == "model" and info.model is not None:
            name = _model_name(info.model)
            known = self.models.get(name)
            if known is not None and known is not info.model:
                raise ModelDefinitionError(
                    f"{where}: two different classes are named {name!r}; give one another "
                    "name with @model(name=...)"
                )
            self.models[name] = info.model
            return name, None
        if info.kind == "list" and info.item is not None:
            item, _ = self.type_name(where, info.item, top=False)
            return [item], None
        if info.kind == "dict":
            if info.item is not None and info.item.kind != "any":
                _cannot(where, "a dict with typed values (only dict[str, Any], 'object')")
            return "object", None
        if info.kind == "scalar" and info.python is not None:
            python = info.python
            values = _enum_values(info)
            if values is not None:
                if not top:
                    _cannot(where, "an Enum or Literal below a list")
                kinds = {type(v) for v in values}
                if len(kinds) != 1:
                    _cannot(where, "an enum of mixed value types")
                python = kinds.pop()
            for scalar, name in _SCALAR_NAMES:
                if issubclass(python, scalar):
                    if scalar is decimal.Decimal and not top:
                        _cannot(where, "a Decimal below a list")
                    return name, values
        _cannot(where, "a union of several types" if info.kind == "union" else "this type")


def _cannot(where: str, what: str) -> NoReturn:
    raise ModelDefinitionError(f"{where}: a LoopBack model definition cannot express {what}")


def _enum_values(info: TypeInfo) -> list[Any] | None:
    """The values of a ``Literal`` or ``Enum`` type (None left out), or None for others."""
    if info.literals:
        members = list(info.literals)
    elif info.python is not None and issubclass(info.python, enum.Enum):
        members = list(info.python)
    else:
        return None
    return [m.value if isinstance(m, enum.Enum) else m for m in members if m is not None]


def _is_decimal(info: TypeInfo) -> bool:
    return (
        info.kind == "scalar"
        and info.python is not None
        and issubclass(info.python, decimal.Decimal)
    )


def _model_name(cls: type[BaseModel]) -> str:
    meta = meta_of(cls)
    return meta.name if meta is not None else cls.__name__


def _settings_of(meta: ModelMeta, *, only: set[str] | None = None) -> dict[str, Any]:
    """The model's settings that differ from the defaults, in definition form."""
    s = meta.settings

    def wanted(key: str) -> bool:
        return only is None or key in only

    settings: dict[str, Any] = {}
    if s.description is not None and wanted("description"):
        settings["description"] = s.description
    if s.strict is not True and wanted("strict"):
        settings["strict"] = s.strict
    if not s.force_id and wanted("force_id"):
        settings["forceId"] = False
    if wanted("hidden_properties"):
        hidden = s.hidden_properties if only is None else meta.declared.get("hidden_properties")
        if hidden:
            settings["hiddenProperties"] = list(hidden)
    if s.scope is not None and wanted("scope"):
        settings["scope"] = copy.deepcopy(dict(s.scope))
    if wanted("indexes"):
        indexes = s.indexes if only is None else meta.declared.get("indexes")
        if indexes:
            settings["indexes"] = copy.deepcopy(dict(indexes))
    if s.collection is not None and wanted("collection"):
        settings["mongodb"] = {"collection": s.collection}
    return settings


# -- build_model_from_instance -------------------------------------------------------


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
    >>> Event.__odm__.properties["at"].type.python
    <class 'datetime.datetime'>
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
    taken = {key for key in sample if isinstance(key, str) and _is_safe_name(key)}
    for key, value in sample.items():
        if not isinstance(key, str):
            raise ModelDefinitionError(f"{name}: field names are strings, not {key!r}")
        if is_entity and key == id_key:
            id_name = "id" if key == "id" or "id" not in sample else _safe_name(key, taken)
            fields[id_name] = _inferred_id(value)
            continue
        prop_name = key if _is_safe_name(key) else _safe_name(key, taken)
        annotation = _infer_type(f"{name}{_pascal(key)}", value)
        field_name = key if prop_name != key else None
        field = prop(None, field_name=field_name)
        assert isinstance(field, FieldInfo)
        fields[prop_name] = (annotation if annotation is Any else Optional[annotation], field)  # noqa: UP045
    base = Entity if is_entity else Model
    return _create(name, base, fields, {"strict": False})


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
    while not _is_safe_name(candidate) or candidate in taken:
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
