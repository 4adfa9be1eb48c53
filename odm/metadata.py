"""The per-class compiled description of a model: settings, properties, field map, id.

:func:`compile_model` builds it in four stages, as pydantic builds a model class:

1. **collect** the declaration: the settings given to ``@model`` merged with the
   inherited ones, and one :class:`PropertyMeta` per pydantic field with the options
   ``prop()`` recorded (the declared field, never one odm rewrote earlier);
2. **check** it, raising ``ModelDefinitionError`` (ids, generators, field names, hidden
   names, unknown settings and ``prop()`` options);
3. **rewrite** each pydantic field so pydantic enforces odm's rules (BSON types,
   ``nullable``, ``required``, enforced keywords, hidden properties, field-name aliases,
   generators);
4. **install** the rewritten fields on the class and the :class:`ModelMeta` as
   ``__odm__``.

Everything later (codec, validation, filters, indexes, schema) reads that one
description; what those layers compile from it on first use lives in its typed
:class:`Plans`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any, ForwardRef, Literal, Optional

from pydantic import AfterValidator, BeforeValidator, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .errors import ModelDefinitionError
from .keywords import keyword_checker, odm_error
from .properties import DEFAULT_FNS, PROP_OPTION_NAMES, PropertyOptions, make_generator
from .relations.declarations import RelationOptions, relation_options
from .rules import field_name_problem
from .settings import INHERITED, SETTING_NAMES, ModelSettings, ModelSettingsDict, Strict
from .stamps import stamp_names, stamp_source
from .types import TypeInfo, bson_annotation, parse_type

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "ID_FIELD",
    "SETTING_NAMES",
    "ModelMeta",
    "ModelSettings",
    "ModelSettingsDict",
    "PathInfo",
    "Plans",
    "PropertyMeta",
    "compile_model",
    "meta_of",
]

ID_FIELD = "_id"


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
        info = self.rewritten
        return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


@dataclass(frozen=True)
class PathInfo:
    """A property path resolved against a model: its field path and what it ends on."""

    field_path: str
    type: TypeInfo
    property: PropertyMeta | None
    chain: tuple[PropertyMeta, ...]


#: A value converter of the codec (Python value -> BSON value, or back).
Convert = Callable[[Any], Any]


@dataclass
class Plans:
    """What later layers compile from a :class:`ModelMeta` on first use, one typed slot
    each (None until compiled); a new compilation of the class starts with empty plans."""

    #: codec: (property, field name, encoder) for each stored property
    encode: list[tuple[str, str, Convert | None]] | None = None
    #: codec: the generated instance -> document function
    dumper: Callable[[BaseModel], dict[str, Any]] | None = None
    #: codec: the generated trusted document -> instance function
    loader: Callable[[Mapping[str, Any]], Any] | None = None
    #: codec: pydantic's ``extra`` on load, and whether extras are restored afterwards
    load_mode: tuple[Literal["allow", "ignore"], bool] | None = None
    #: codec: (field name, property, decoder, missing-field default) for each property
    decode: list[tuple[str, str, Convert | None, Callable[[], Any]]] | None = None
    #: hidden: whether a hidden property is reachable from the model, at any depth
    holds_hidden: bool | None = None
    #: hidden: (names a hidden field, may hold one) by property path
    hidden_paths: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    #: ids: the id argument coercer (ids' ``_Coercer``)
    id_coercer: Any = None
    #: validation: the properties holding models, and whether any reachable model keeps extras
    embedded: tuple[tuple[str, ...], bool] | None = None
    #: filters: resolved query targets by property path (filters' ``_Target``)
    targets: dict[str, Any] = field(default_factory=dict)
    #: indexes: the declared indexes (indexes' ``IndexSpec``)
    indexes: tuple[Any, ...] | None = None
    #: versioning: the timestamp and version properties (versioning's ``Stamps``)
    stamps: Any = None
    #: relations: the resolved relations by name (relations' ``Relation``)
    relations: dict[str, Any] | None = None


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
    plans: Plans = field(default_factory=Plans)
    #: navigational properties (never stored): their pydantic fields and declarations
    relations: dict[str, tuple[FieldInfo, RelationOptions]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def complete(self) -> bool:
        """True when every annotation is resolved (no forward reference is waiting)."""
        return not any(_unresolved(p.annotation) for p in self.properties.values())

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
                if part in meta.relations:  # navigational: never stored, never queried
                    return None
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


# --- stage 1: collect -----------------------------------------------------------------


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
        values = {key: getattr(parent.settings, key) for key in INHERITED}
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


def _unresolved(annotation: Any) -> bool:
    # pydantic keeps an annotation it could not evaluate yet as a ForwardRef
    return isinstance(annotation, str | ForwardRef)


def _declared_source(
    name: str,
    current: FieldInfo,
    previous: ModelMeta | None,
    parent: ModelMeta | None,
    own: set[str],
) -> FieldInfo:
    """The field as the user declared it: pydantic's fields of a compiled class (and
    the ones it copies from a compiled parent) are odm's rewritten ones."""
    earlier = previous.properties.get(name) if previous is not None else None
    if earlier is None and parent is not None and name not in own:
        earlier = parent.properties.get(name)
    if earlier is None:
        return current
    if (
        current is not earlier.rewritten
        and _unresolved(earlier.source.annotation)
        and not _unresolved(current.annotation)
    ):
        # pydantic has resolved a forward reference since, building the field again
        # from its declaration
        return current
    return earlier.source


def _collect_properties(
    cls: type[BaseModel], previous: ModelMeta | None, parent: ModelMeta | None
) -> dict[str, PropertyMeta]:
    own = set(inspect.get_annotations(cls))
    properties: dict[str, PropertyMeta] = {}
    for name, current in cls.model_fields.items():
        if relation_options(current) is not None:
            continue
        source = copy.copy(_declared_source(name, current, previous, parent, own))
        source.metadata = list(source.metadata)
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
    return properties


def _implicit_id() -> PropertyMeta:
    source = FieldInfo(annotation=str, default=None)
    options = PropertyOptions(id=True, generated=True)
    source.metadata.append(options)
    return PropertyMeta("id", "id", str, parse_type(str), options, source, has_default=True)


def _add_stamps(settings: ModelSettings, properties: dict[str, PropertyMeta], entity: bool) -> None:
    """The properties the timestamps and version settings maintain, declared or added."""
    names = stamp_names(settings.name, settings.timestamps, settings.version, entity=entity)
    for name, kind in names.kinds():
        declared = properties.get(name)
        source = stamp_source(settings.name, name, kind, declared.source if declared else None)
        field_name, annotation = _options_of(source).field_name or name, source.annotation
        properties[name] = PropertyMeta(
            name, field_name, annotation, parse_type(annotation), _options_of(source), source
        )
        properties[name].has_default = True


# --- stage 2: check -------------------------------------------------------------------


def _check_field_name(model: str, name: str, field_name: str) -> None:
    problem = field_name_problem(field_name)
    if problem is not None:
        raise ModelDefinitionError(
            f"{model}.{name}: field_name {field_name!r} is not a valid MongoDB field name "
            f"({problem})"
        )


def _nested_list_without_schema(info: TypeInfo) -> bool:
    return info.kind == "list" and info.item is not None and info.item.kind == "list"


def _check_id(
    model: str, properties: dict[str, PropertyMeta], is_entity: bool
) -> tuple[dict[str, PropertyMeta], PropertyMeta | None]:
    """The properties with the entity's id marked (an implicit one added when none is
    declared), and the id property."""
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
    if not is_entity:
        return properties, None
    if ids:
        id_prop = ids[0]
    elif "id" in properties:
        id_prop = properties["id"]
        id_prop.options = replace(id_prop.options, id=True)
    else:
        id_prop = _implicit_id()
        properties = {"id": id_prop, **properties}
    if id_prop.options.field_name is not None:
        raise ModelDefinitionError(
            f"{model}.{id_prop.name}: the id property is always stored as _id; "
            "it cannot have a field_name"
        )
    id_prop.is_id = True
    id_prop.field_name = ID_FIELD
    id_prop.has_default = id_prop.has_default or id_prop.options.generated
    return properties, id_prop


def _check_options(model: str, prop: PropertyMeta) -> None:
    options = prop.options
    if options.unknown:
        raise ModelDefinitionError(
            f"{model}.{prop.name}: unknown prop() option(s) {list(options.unknown)}; "
            f"allowed: {', '.join(sorted(PROP_OPTION_NAMES))}"
        )
    if options.default_fn is not None and options.default_fn not in DEFAULT_FNS:
        raise ModelDefinitionError(
            f"{model}.{prop.name}: unknown default_fn {options.default_fn!r}; "
            f"known: {', '.join(sorted(DEFAULT_FNS))}"
        )
    if options.generated and not options.id:
        raise ModelDefinitionError(
            f"{model}.{prop.name}: generated=True is only for the id property"
        )
    if options.field_name is not None and not prop.is_id:
        _check_field_name(model, prop.name, options.field_name)
    if _nested_list_without_schema(prop.type) and not options.json_schema:
        raise ModelDefinitionError(
            f"{model}.{prop.name}: a nested list property needs a json_schema describing it"
        )


def _field_map(model: str, properties: Mapping[str, PropertyMeta]) -> dict[str, PropertyMeta]:
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
    return by_field


def _hidden_names(settings: ModelSettings, properties: Mapping[str, PropertyMeta]) -> set[str]:
    hidden = {p.name for p in properties.values() if p.options.hidden}
    for name in settings.hidden_properties:
        if name not in properties:
            raise ModelDefinitionError(
                f"{settings.name}: hidden property {name!r} is not a property of the model"
            )
        hidden.add(name)
    return hidden


# --- stage 3: rewrite -----------------------------------------------------------------


def _null_check(code: str, message: str) -> BeforeValidator:
    def refuse_none(value: Any) -> Any:
        if value is None:
            raise odm_error(code, message)
        return value

    return BeforeValidator(refuse_none)


def _rewrite(prop: PropertyMeta) -> FieldInfo:
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
    if prop.hidden:
        new.exclude = True
    return new


# --- stage 4: install -----------------------------------------------------------------


def _install_pydantic_fields(cls: type[BaseModel], meta: ModelMeta) -> None:
    """Give pydantic odm's rewritten fields and the model's config.

    The one place odm writes pydantic's internals: pydantic offers no public hook to
    replace the fields it collected from the class body before it builds the schema, so
    ``__pydantic_fields__`` is replaced here (a class pydantic has already built must then
    be rebuilt, ``model_rebuild(force=True)``).
    """
    cls.__pydantic_fields__ = {name: prop.rewritten for name, prop in meta.properties.items()}
    cls.__pydantic_fields__.update({name: info for name, (info, _) in meta.relations.items()})
    cls.model_config["extra"] = extra_mode(meta.strict)
    cls.model_config["title"] = meta.name
    type.__setattr__(cls, "__odm__", meta)


def compile_model(
    cls: type[BaseModel], *, is_entity: bool, declared: Mapping[str, Any]
) -> ModelMeta:
    """Check a model declaration and compile it; stores the result as ``cls.__odm__``.

    Runs when the class is created, again when ``@model(...)`` gives it settings, and
    when pydantic resolves forward references; each run starts from the declaration.
    """
    parent = _parent_meta(cls)
    settings = _settings(cls, declared, parent)
    model = settings.name
    properties = _collect_properties(cls, meta_of(cls), parent)
    properties, id_prop = _check_id(model, properties, is_entity)
    _add_stamps(settings, properties, is_entity)
    for prop in properties.values():
        _check_options(model, prop)
    by_field = _field_map(model, properties)
    hidden = _hidden_names(settings, properties)
    for prop in properties.values():
        prop.hidden = prop.name in hidden
        prop.rewritten = _rewrite(prop)
    meta = ModelMeta(
        cls=cls,
        settings=settings,
        properties=properties,
        by_field=by_field,
        id=id_prop,
        is_entity=is_entity,
        hidden=frozenset(hidden),
        declared=dict(declared),
        relations={
            name: (info, options)
            for name, info in cls.model_fields.items()
            if (options := relation_options(info)) is not None
        },
    )
    _install_pydantic_fields(cls, meta)
    return meta
