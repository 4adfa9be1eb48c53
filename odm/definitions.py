"""Model classes from LoopBack model-definition dicts, and the registry of their names
(the way out is :mod:`odm.definition_export`, inference from a document
:mod:`odm.inference`).

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
mapping given to :func:`define_model`, then in its :class:`ModelRegistry`: the classes
:func:`define_model` built into it, by model name. Without ``registry=`` that is
:data:`default_registry`. Defining a name the registry already holds gives the
registered class when the definition is the same and raises ``ModelDefinitionError``
when it differs, unless ``replace=True``; a separate ``ModelRegistry()`` is a
separate namespace (one per tenant, per test, or to rebuild exported definitions beside
the originals), and ``registry.clear()`` lets its classes go.

A definition may carry the definitions of the models it names under ``"models"`` (an odm
extension, as ``model_definition(cls, include_models=True)`` writes them); they are
defined first, in the same registry.

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
import keyword
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from bson import ObjectId
from pydantic import BaseModel, ConfigDict, PydanticUserError, TypeAdapter, create_model
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_json

from .definition_export import DECIMAL_DATA_TYPE, INDEX_OPTIONS, model_definition
from .errors import ModelDefinitionError
from .geo import GeoPoint
from .models import Entity, Model, model
from .properties import DEFAULT_FNS, prop
from .relations.definitions import complete_waiting, relation_fields, remember_models
from .types import bson_annotation

__all__ = [
    "BASES",
    "TYPE_NAMES",
    "ModelRegistry",
    "create_model_class",
    "default_registry",
    "define_model",
    "is_safe_property_name",
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
    "geopoint": GeoPoint,
}

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
        "scopes",
        "indexes",
        "description",
        "mongodb",
        "timestamps",
        "version",
    ]
)
_DEFINITION_KEYS = frozenset(["name", "base", "properties", "settings", "models", "relations"])
# LoopBack model keys odm has no use for (relations, ACLs, REST settings, ...).
_IGNORED_MODEL_KEYS = frozenset(
    [
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


class ModelRegistry:
    """Model classes by model name: where :func:`define_model` registers the classes it
    builds and finds the models a definition names.

    >>> registry = ModelRegistry()
    >>> Address = define_model({"name": "Address", "properties": {"city": "string"}},
    ...                        registry=registry)
    >>> registry.get("Address") is Address
    True

    It holds its classes until :meth:`remove` or :meth:`clear`.
    """

    def __init__(self) -> None:
        self._models: dict[str, type[Model]] = {}

    def register(self, cls: type[Model], *, name: str | None = None, replace: bool = False) -> None:
        """Register ``cls`` under ``name`` (its model name by default); a name already
        taken by another class raises ``ModelDefinitionError`` unless ``replace=True``."""
        key = name if name is not None else cls.odm_meta().name
        found = self._models.get(key)
        if found is not None and found is not cls and not replace:
            raise _name_taken(key)
        self._models[key] = cls

    def get(self, name: str) -> type[Model] | None:
        """The class registered under ``name``, or None."""
        return self._models.get(name)

    def remove(self, name: str) -> None:
        """Forget the class registered under ``name`` (nothing if there is none)."""
        self._models.pop(name, None)

    def clear(self) -> None:
        """Forget every registered class."""
        self._models.clear()

    def as_dict(self) -> dict[str, type[Model]]:
        """The registered classes by name (a copy)."""
        return dict(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return f"ModelRegistry({sorted(self._models)})"


def _name_taken(name: str) -> ModelDefinitionError:
    return ModelDefinitionError(
        f"{name}: another model of that name is already defined in this registry; pass "
        "replace=True to replace it, or define it in another ModelRegistry()"
    )


#: The registry :func:`define_model` uses when given none.
default_registry = ModelRegistry()


def registered_models(registry: ModelRegistry | None = None) -> dict[str, type[Model]]:
    """The classes :func:`define_model` has built into ``registry`` (the default one),
    by model name (a copy)."""
    return (default_registry if registry is None else registry).as_dict()


def define_model(
    definition: Mapping[str, Any],
    *,
    models: Mapping[str, type[BaseModel]] | None = None,
    registry: ModelRegistry | None = None,
    replace: bool = False,
) -> type[Model]:
    """Build a model class from a LoopBack model-definition dict.

    ``base`` is ``"Entity"``/``"PersistedModel"``, ``"Model"``/``"ValueObject"`` or the
    name of another model (defaults to ``Entity`` when a property is the id, else
    ``Model``). Property types and options, and settings, use LoopBack's camelCase keys
    (see the module docstring). A property that is not ``required`` and has no
    ``default`` becomes ``T | None = None``. Model names are found in ``models``, then
    in ``registry`` (:data:`default_registry` when None). The class is registered there
    under its model name, and so are the definitions under ``"models"``.

    Defining a name the registry holds again gives the registered class when the
    definition is the same, and raises ``ModelDefinitionError`` when it differs (unless
    ``replace=True``, which replaces it). Raises ``ModelDefinitionError`` too for an
    unknown type, base or key, or a bad option.
    """
    registry = default_registry if registry is None else registry
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
            known[nested_name] = define_model(
                nested_definition, models=known, registry=registry, replace=replace
            )

    properties = _mapping_or_empty(definition.get("properties"))
    if not isinstance(properties, Mapping):
        raise ModelDefinitionError(f"{name}: 'properties' maps property names to definitions")
    specs = {
        prop_name: _normalise_property(name, prop_name, spec)
        for prop_name, spec in properties.items()
    }
    known = {**registry.as_dict(), **known}  # models= and "models" first, then the registry
    base_cls = _base_class(name, definition.get("base"), specs, known)
    if _takes_id_by_name(base_cls, specs):
        # the class compiler makes a property named "id" the id; type it as one
        specs["id"] = {**specs["id"], "id": True}
    fields = {prop_name: _field(name, prop_name, spec, known) for prop_name, spec in specs.items()}
    fields |= relation_fields(name, definition.get("relations"), known)
    cls = create_model_class(name, base_cls, fields, _settings(name, definition))
    remember_models(cls, lambda: {**registry.as_dict(), **known})
    registered = registry.get(name)
    if registered is not None and not replace:
        if model_definition(registered) != model_definition(cls):
            raise _name_taken(name)
        return registered  # the same definition again: the class it already gave
    registry.register(cls, name=name, replace=True)
    complete_waiting(registry.as_dict())
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


def create_model_class(
    name: str,
    base: type[Model],
    fields: Mapping[str, tuple[Any, FieldInfo]],
    settings: Mapping[str, Any],
) -> type[Model]:
    for prop_name in fields:
        if not is_safe_property_name(prop_name):
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


def is_safe_property_name(name: str) -> bool:
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
        found = known.get(base)
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
        if lowered == "number" and mongodb.get("dataType") == DECIMAL_DATA_TYPE:
            return decimal.Decimal
        return TYPE_NAMES[lowered]
    found = known.get(type_spec)
    if isinstance(found, type) and issubclass(found, BaseModel):
        return found
    raise ModelDefinitionError(
        f"{where}: unknown type {type_spec!r}; use one of string, number, integer, boolean, "
        "date, DateString, object, any, ObjectId, uuid, buffer, GeoPoint, [type], or the name of a "
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
        return {INDEX_OPTIONS.get(str(key), str(key)): option for key, option in value.items()}
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
    for key in ("scope", "scopes", "indexes"):
        if merged.get(key) is not None:
            if not isinstance(merged[key], Mapping):
                raise ModelDefinitionError(f"{name}: {key} must be a mapping, not {merged[key]!r}")
            settings[key] = copy.deepcopy(dict(merged[key]))
    for key in ("timestamps", "version"):  # checked when the class is compiled
        if merged.get(key) is not None:
            settings[key] = copy.deepcopy(merged[key])
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
