"""The per-class compiled description of a model: settings, properties, field map, id.

:func:`compile_model` runs once when a class is created (and again when ``@model``
adds settings). It checks the declaration (raising ``ModelDefinitionError``), rewrites
the pydantic fields so pydantic enforces odm's rules (BSON types, ``nullable``,
``required``, enforced keywords, hidden properties, field-name aliases, generators), and
stores a :class:`ModelMeta` on the class as ``__odm__``. Everything later (codec,
validation, filters, indexes, schema) reads that one description.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Optional

from pydantic import AfterValidator, BeforeValidator, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .errors import ModelDefinitionError
from .keywords import keyword_checker, odm_error
from .properties import DEFAULT_FNS, PropertyOptions, make_generator
from .types import TypeInfo, bson_annotation, parse_type

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "ID_FIELD",
    "SETTING_NAMES",
    "ModelMeta",
    "ModelSettings",
    "PathInfo",
    "PropertyMeta",
    "compile_model",
    "meta_of",
]

ID_FIELD = "_id"
Strict = bool | Literal["filter"]

#: The settings ``@model(...)`` accepts.
SETTING_NAMES = frozenset(
    [
        "name",
        "description",
        "collection",
        "strict",
        "hidden_properties",
        "force_id",
        "scope",
        "indexes",
    ]
)
_INHERITED = ("description", "collection", "strict", "force_id", "scope")


@dataclass(frozen=True)
class ModelSettings:
    """Model settings after inheritance (see SPEC §2.2)."""

    name: str
    description: str | None = None
    collection: str | None = None
    strict: Strict = True
    hidden_properties: tuple[str, ...] = ()
    force_id: bool = True
    scope: Mapping[str, Any] | None = None
    indexes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass
class PropertyMeta:
    """One property: its names, type, options and the pydantic field it became."""

    name: str
    field_name: str
    annotation: Any
    type: TypeInfo
    options: PropertyOptions
    source: FieldInfo
    is_id: bool = False
    hidden: bool = False
    has_default: bool = False
    rewritten: FieldInfo = field(default_factory=FieldInfo)
    _adapter: TypeAdapter[Any] | None = None

    @property
    def generated(self) -> bool:
        return self.options.generated

    @property
    def required(self) -> bool:
        """True when a value must be given and not None on create and replace."""
        return self.options.required

    @property
    def nullable(self) -> bool:
        """True when None is an accepted value."""
        if self.options.nullable is False or self.options.required:
            return False
        return self.type.nullable or self.type.kind == "any" or (self.is_id and self.generated)

    @property
    def adapter(self) -> TypeAdapter[Any]:
        """Validates one value of this property (partial updates, filter values)."""
        if self._adapter is None:
            self._adapter = TypeAdapter(self.annotation_for_values)
        return self._adapter

    @property
    def annotation_for_values(self) -> Any:
        """The rewritten annotation with the property's validators, as pydantic sees it."""
        from typing import Annotated

        info = self.rewritten
        return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


@dataclass(frozen=True)
class PathInfo:
    """A property path resolved against a model: its field path and what it ends on."""

    field_path: str
    type: TypeInfo
    property: PropertyMeta | None
    chain: tuple[PropertyMeta, ...]


@dataclass
class ModelMeta:
    """The compiled description of one model class."""

    cls: type[BaseModel]
    settings: ModelSettings
    properties: dict[str, PropertyMeta]
    by_field: dict[str, PropertyMeta]
    id: PropertyMeta | None
    is_entity: bool
    hidden: frozenset[str]
    declared: Mapping[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def collection(self) -> str:
        return self.settings.collection or self.settings.name

    @property
    def strict(self) -> Strict:
        return self.settings.strict

    def property_path(self, field_path: str) -> str:
        """The property path of a stored field path (the reverse of :meth:`resolve_path`);
        segments that are not mapped pass unchanged."""
        meta: ModelMeta | None = self
        names: list[str] = []
        for part in field_path.split("."):
            prop = meta.by_field.get(part) if meta is not None else None
            if prop is None:
                names.append(part)
                meta = None if not part.isdigit() else meta
                continue
            names.append(prop.name)
            meta = _nested_meta(prop.type)
        return ".".join(names)

    def resolve_path(self, path: str) -> PathInfo | None:
        """Map a dotted property path to its field path; None if a segment is unknown.

        Paths go through embedded models (and lists of them) at every depth; below a
        ``dict``, ``Any`` or a ``strict=False`` model's unknown names they pass unchanged.
        """
        meta: ModelMeta | None = self
        parts = path.split(".")
        fields: list[str] = []
        chain: list[PropertyMeta] = []
        current: TypeInfo = TypeInfo("model", model=self.cls)
        last: PropertyMeta | None = None
        for position, part in enumerate(parts):
            if meta is None:
                if current.kind in ("any", "dict", "union") or part.isdigit():
                    fields.append(part)
                    current = (
                        current.item
                        if current.kind == "dict" and current.item
                        else TypeInfo("any", True)
                    )
                    last = None
                    continue
                return None
            found = meta.properties.get(part)
            if found is None:
                if part == ID_FIELD and meta.id is not None:
                    found = meta.id
                elif meta.strict is False:
                    fields.extend(parts[position:])
                    return PathInfo(".".join(fields), TypeInfo("any", True), None, tuple(chain))
                else:
                    return None
            fields.append(found.field_name)
            chain.append(found)
            last = found
            current = found.type
            meta = _nested_meta(current)
        return PathInfo(".".join(fields), current, last, tuple(chain))


def _nested_meta(info: TypeInfo) -> ModelMeta | None:
    while info.kind == "list" and info.item is not None:
        info = info.item
    if info.kind == "model" and info.model is not None:
        return meta_of(info.model)
    return None


def meta_of(cls: type[Any]) -> ModelMeta | None:
    """The compiled metadata of an odm model class (None for other classes)."""
    found = cls.__dict__.get("__odm__")
    return found if isinstance(found, ModelMeta) else None


def extra_mode(strict: Strict) -> Literal["forbid", "ignore", "allow"]:
    """pydantic's ``extra`` for a strict mode: on load odm passes "ignore" or "allow"."""
    if strict is True:
        return "forbid"
    return "ignore" if strict == "filter" else "allow"


def _parent_meta(cls: type[Any]) -> ModelMeta | None:
    for base in cls.__mro__[1:]:
        found = meta_of(base)
        if found is not None:
            return found
    return None


def _settings(
    cls: type[Any], declared: Mapping[str, Any], parent: ModelMeta | None
) -> ModelSettings:
    unknown = set(declared) - SETTING_NAMES
    if unknown:
        raise ModelDefinitionError(
            f"{cls.__name__}: unknown model setting(s) {sorted(unknown)}; "
            f"allowed: {sorted(SETTING_NAMES)}"
        )
    values: dict[str, Any] = {}
    if parent is not None:
        values = {key: getattr(parent.settings, key) for key in _INHERITED}
        values["hidden_properties"] = parent.settings.hidden_properties
        values["indexes"] = dict(parent.settings.indexes)
    for key, value in declared.items():
        if key == "hidden_properties":
            values[key] = tuple(dict.fromkeys([*values.get(key, ()), *value]))
        elif key == "indexes":
            values[key] = {**values.get(key, {}), **dict(value)}
        else:
            values[key] = value
    values.setdefault("name", cls.__name__)
    strict = values.get("strict", True)
    if strict not in (True, False, "filter"):
        raise ModelDefinitionError(
            f"{cls.__name__}: strict must be True, False or 'filter', not {strict!r}"
        )
    name = values["name"]
    if not isinstance(name, str) or not name:
        raise ModelDefinitionError(f"{cls.__name__}: name must be a non-empty string")
    return ModelSettings(**values)


def _options_of(info: FieldInfo) -> PropertyOptions:
    for item in reversed(info.metadata):
        if isinstance(item, PropertyOptions):
            return item
    return PropertyOptions()


def _own_annotations(cls: type[Any]) -> set[str]:
    return set(inspect.get_annotations(cls))


def _check_field_name(model: str, name: str, field_name: str) -> None:
    if not field_name or field_name.startswith("$") or "." in field_name:
        raise ModelDefinitionError(
            f"{model}.{name}: field_name {field_name!r} is not a valid MongoDB field name "
            "(it may not be empty, start with '$' or contain '.')"
        )


def _nested_list_without_schema(info: TypeInfo) -> bool:
    return info.kind == "list" and info.item is not None and info.item.kind == "list"


def _null_check(code: str, message: str) -> BeforeValidator:
    def refuse_none(value: Any) -> Any:
        if value is None:
            raise odm_error(code, message)
        return value

    return BeforeValidator(refuse_none)


def _rewrite(model: str, prop: PropertyMeta, hidden: bool) -> FieldInfo:
    """The pydantic field odm installs for ``prop``: a copy of the declared one with
    odm's rules added."""
    source, options = prop.source, prop.options
    new = copy.copy(source)
    new.metadata = [m for m in source.metadata if not isinstance(m, PropertyOptions)]
    as_text = prop.type.python is str
    generated_id = prop.is_id and options.generated
    annotation = bson_annotation(source.annotation, object_id_as_text=generated_id and as_text)
    if generated_id:
        annotation = Optional[annotation]  # noqa: UP045
        new.default = None
        new.default_factory = None
    if options.default_fn is not None:
        new.default = PydanticUndefined
        new.default_factory = make_generator(options.default_fn, as_text)
    new.annotation = annotation
    if options.required:
        new.metadata.append(_null_check("presence", "is required and may not be None"))
    elif options.nullable is False:
        new.metadata.append(_null_check("nullable", "may not be None"))
    checker = keyword_checker(options.json_schema)
    if checker is not None:
        new.metadata.append(AfterValidator(checker))
    if options.description is not None:
        new.description = options.description
    extra = {k: v for k, v in options.json_schema.items() if k != "errorMessage"}
    if extra:
        base = source.json_schema_extra if isinstance(source.json_schema_extra, dict) else {}
        new.json_schema_extra = {**base, **extra}
    if prop.field_name != prop.name:
        new.validation_alias = prop.field_name
    if hidden:
        new.exclude = True
    return new


def compile_model(
    cls: type[BaseModel], *, is_entity: bool, declared: Mapping[str, Any]
) -> ModelMeta:
    """Check a model declaration and compile it; stores the result as ``cls.__odm__``."""
    parent = _parent_meta(cls)
    # @model() compiles a class a second time: its fields are already rewritten then, so
    # the declarations are read from the first compilation.
    previous = meta_of(cls)
    settings = _settings(cls, declared, parent)
    model = settings.name
    own = _own_annotations(cls)
    fields: dict[str, FieldInfo] = cls.__pydantic_fields__
    properties: dict[str, PropertyMeta] = {}
    for name, current in list(fields.items()):
        inherited = parent.properties.get(name) if parent is not None else None
        if previous is not None and name in previous.properties:
            source = previous.properties[name].source
        elif inherited is not None and name not in own:
            source = inherited.source
        else:
            source = current
        source = copy.copy(source)
        source.metadata = list(source.metadata)
        if not getattr(source, "_complete", True) and getattr(current, "_complete", True):
            # a forward reference pydantic has resolved since the last compilation
            source.annotation = current.annotation
            source._complete = True
        options = _options_of(source)
        properties[name] = PropertyMeta(
            name=name,
            field_name=options.field_name or name,
            annotation=source.annotation,
            type=parse_type(source.annotation),
            options=options,
            source=source,
            has_default=not source.is_required() or options.default_fn is not None,
        )

    ids = [p for p in properties.values() if p.options.id]
    if not is_entity and ids:
        raise ModelDefinitionError(
            f"{model}.{ids[0].name}: only an Entity has an id property; "
            "derive the class from odm.Entity or drop id=True"
        )
    if len(ids) > 1:
        raise ModelDefinitionError(
            f"{model}: more than one id property ({', '.join(p.name for p in ids)}); "
            "an Entity has exactly one"
        )
    if is_entity and not ids:
        if "id" in properties:
            implicit = properties["id"]
            implicit.options = PropertyOptions(**{**implicit.options.__dict__, "id": True})
            ids = [implicit]
        else:
            source = FieldInfo(annotation=str, default=None)
            options = PropertyOptions(id=True, generated=True)
            source.metadata.append(options)
            properties = {
                "id": PropertyMeta(
                    "id", "id", str, parse_type(str), options, source, has_default=True
                ),
                **properties,
            }
            ids = [properties["id"]]

    id_prop = ids[0] if ids else None
    for prop in properties.values():
        options = prop.options
        if options.default_fn is not None and options.default_fn not in DEFAULT_FNS:
            raise ModelDefinitionError(
                f"{model}.{prop.name}: unknown default_fn {options.default_fn!r}; "
                f"known: {', '.join(sorted(DEFAULT_FNS))}"
            )
        if options.generated and not options.id:
            raise ModelDefinitionError(
                f"{model}.{prop.name}: generated=True is only for the id property"
            )
        if options.field_name is not None:
            if prop is id_prop:
                raise ModelDefinitionError(
                    f"{model}.{prop.name}: the id property is always stored as _id; "
                    "it cannot have a field_name"
                )
            _check_field_name(model, prop.name, options.field_name)
        if _nested_list_without_schema(prop.type) and not options.json_schema:
            raise ModelDefinitionError(
                f"{model}.{prop.name}: a nested list property needs a json_schema describing it"
            )
        if prop is id_prop:
            prop.is_id = True
            prop.field_name = ID_FIELD
            prop.has_default = prop.has_default or options.generated

    by_field: dict[str, PropertyMeta] = {}
    for prop in properties.values():
        clash = by_field.get(prop.field_name)
        if clash is not None:
            raise ModelDefinitionError(
                f"{model}: properties {clash.name!r} and {prop.name!r} are both mapped to "
                f"field {prop.field_name!r}"
            )
        by_field[prop.field_name] = prop
    for prop in properties.values():
        other = by_field.get(prop.name)
        if other is not None and other is not prop and prop.field_name != prop.name:
            raise ModelDefinitionError(
                f"{model}: property {prop.name!r} is stored as {prop.field_name!r}, but "
                f"{other.name!r} is stored under the name {prop.name!r}"
            )

    hidden = {p.name for p in properties.values() if p.options.hidden}
    for name in settings.hidden_properties:
        if name not in properties:
            raise ModelDefinitionError(
                f"{model}: hidden property {name!r} is not a property of the model"
            )
        hidden.add(name)
    for prop in properties.values():
        prop.hidden = prop.name in hidden
        prop.rewritten = _rewrite(model, prop, prop.hidden)
        fields[prop.name] = prop.rewritten
    cls.__pydantic_fields__ = {name: fields[name] for name in properties}

    cls.model_config["extra"] = extra_mode(settings.strict)
    cls.model_config["title"] = model
    meta = ModelMeta(
        cls=cls,
        settings=settings,
        properties=properties,
        by_field=by_field,
        id=id_prop,
        is_entity=is_entity,
        hidden=frozenset(hidden),
        declared=dict(declared),
    )
    type.__setattr__(cls, "__odm__", meta)
    if cls.__pydantic_complete__:
        cls.model_rebuild(force=True)
    return meta
