"""Model classes out as LoopBack model-definition dicts (the reverse of
:func:`odm.definitions.define_model`).

>>> model_definition(Customer)["settings"]
{'strict': 'filter', 'mongodb': {'collection': 'customers'}}

Nested models are given by name only; with ``include_models=True`` their definitions
come under the key ``"models"`` (an odm extension, which ``define_model`` reads back),
so one dict rebuilds a class and everything it refers to.
"""

from __future__ import annotations

import copy
import decimal
import enum
import inspect
from collections.abc import Mapping
from typing import Any, NoReturn

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_jsonable_python

from .errors import ModelDefinitionError
from .metadata import ModelMeta, PropertyMeta, meta_of
from .models import Entity, Model
from .relations.metadata import relations_of
from .stamps import StampOptions
from .types import SCALAR_TABLE, TypeInfo

__all__ = ["DECIMAL_DATA_TYPE", "INDEX_OPTIONS", "SCALAR_NAMES", "model_definition"]

#: The name model_definition writes for each scalar (subclasses first).
SCALAR_NAMES: tuple[tuple[type, str], ...] = tuple(
    (row.python, row.loopback) for row in SCALAR_TABLE
)
#: ``mongodb.dataType`` of a ``Decimal`` property.
DECIMAL_DATA_TYPE = "Decimal128"


#: MongoDB's camelCase index options and odm's names for them.
INDEX_OPTIONS = {
    "expireAfterSeconds": "expire_after_seconds",
    "partialFilterExpression": "partial_filter",
}


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
        own = [p for p in own if not isinstance(p.options, StampOptions)]  # the setting adds them
        definition["properties"] = {p.name: self.property(meta, p) for p in own}
        if meta.relations:
            definition["relations"] = {
                name: relation.definition() for name, relation in relations_of(meta).items()
            }
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
            camel = {odm: lb for lb, odm in INDEX_OPTIONS.items()}
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
            mongodb["dataType"] = DECIMAL_DATA_TYPE
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
            builtin = getattr(info.model, "__odm_loopback_type__", None)
            if builtin is not None:  # odm.GeoPoint: LoopBack's own GeoPoint type
                return builtin, None
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
            for scalar, name in SCALAR_NAMES:
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
    if s.scopes and wanted("scopes"):
        settings["scopes"] = copy.deepcopy({name: dict(f) for name, f in s.scopes.items()})
    if wanted("indexes"):
        indexes = s.indexes if only is None else meta.declared.get("indexes")
        if indexes:
            settings["indexes"] = copy.deepcopy(dict(indexes))
    if s.timestamps and wanted("timestamps"):
        shown = s.timestamps
        settings["timestamps"] = shown if isinstance(shown, bool) else dict(shown)
    if s.version and wanted("version"):
        settings["version"] = s.version
    if s.collection is not None and wanted("collection"):
        settings["mongodb"] = {"collection": s.collection}
    return settings
