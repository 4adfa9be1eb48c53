"""Instances to BSON-ready documents and back, with field names at every depth.

Each class gets its plans compiled once, on first use (so forward references have
resolved): a list of ``(property, field, converter)`` rows where the converter is None
for the values BSON keeps as they are. Two load paths:

* :func:`decode` validates: one ``model_validate`` in pydantic-core over the raw document
  (field names are validation aliases; the BSON types are taught to pydantic by
  ``odm.types.bson_annotation``);
* :func:`decode_trusted` skips validation: it converts only what BSON changes and
  assigns the instance's ``__dict__`` directly.

Neither runs a ``default_fn`` generator for a field missing in the document.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

from bson import Binary, Decimal128, ObjectId
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .errors import ValidationError
from .metadata import ID_FIELD, ModelMeta, PropertyMeta, meta_of
from .properties import loading
from .rules import MAX_DATA_DEPTH
from .types import (
    BSON_AS_IS,
    TypeInfo,
    as_utc,
    date_from_bson,
    decimal_from_bson,
    object_id_hex,
)

__all__ = [
    "decode",
    "decode_many",
    "decode_trusted",
    "encode",
    "encode_any",
    "encode_partial",
    "encode_value",
    "encoder_for",
]

T = TypeVar("T", bound=BaseModel)
Convert = Callable[[Any], Any]

_UNCHANGED = BSON_AS_IS


def _date_to_bson(value: dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


def _uuid_to_bson(value: uuid.UUID) -> Binary:
    return Binary(value.bytes, 4)


def encode_any(value: Any, _depth: int = 0) -> Any:
    """A value of unknown declared type to BSON, by its runtime type. Nesting beyond the
    data limit raises ``ValidationError`` (code ``too-deep``), never ``RecursionError``."""
    kind = type(value)
    if kind in _UNCHANGED:
        return value
    if _depth > MAX_DATA_DEPTH:
        raise _too_deep()
    if isinstance(value, BaseModel):
        return encode(value)
    if isinstance(value, Mapping):
        return {key: encode_any(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode_any(item, _depth + 1) for item in value]
    if isinstance(value, uuid.UUID):
        return _uuid_to_bson(value)
    if isinstance(value, decimal.Decimal):
        return Decimal128(value)
    if isinstance(value, enum.Enum):
        return encode_any(value.value)
    if isinstance(value, dt.date):
        return _date_to_bson(value)
    return value


def _scalar_encoder(python: type | None) -> Convert | None:
    if python is None or python is dt.datetime:
        return None
    if issubclass(python, enum.Enum):
        return lambda value: encode_any(value.value)
    if issubclass(python, dt.datetime):
        return None
    if issubclass(python, dt.date):
        return _date_to_bson
    if issubclass(python, decimal.Decimal):
        return Decimal128
    if issubclass(python, uuid.UUID):
        return _uuid_to_bson
    return None


def encoder_for(info: TypeInfo) -> Convert | None:
    """The converter of a validated value of type ``info`` to BSON; None when BSON keeps
    the value as it is. Converters are called with non-None values only."""
    if info.kind == "scalar":
        return _scalar_encoder(info.python)
    if info.kind == "model":
        return _dumper(info.model) if info.model is not None else encode
    if info.kind == "list":
        item = encoder_for(info.item) if info.item is not None else encode_any
        if item is None:
            return None if info.container is list else list
        convert_item = item
        return lambda values: [None if v is None else convert_item(v) for v in values]
    if info.kind == "dict":
        value_encoder = encoder_for(info.item) if info.item is not None else encode_any
        if value_encoder is None:
            return None
        convert_value = value_encoder
        return lambda values: {
            k: None if v is None else convert_value(v) for k, v in values.items()
        }
    return encode_any


def encode_value(info: TypeInfo, value: Any) -> Any:
    """One validated Python value of type ``info`` in its BSON form."""
    if value is None:
        return None
    convert = encoder_for(info)
    return value if convert is None else convert(value)


def _property_encoder(prop: PropertyMeta) -> Convert | None:
    if prop.is_id and prop.generated and prop.type.python is str:
        return ObjectId
    return encoder_for(prop.type)


def _encode_plan(meta: ModelMeta) -> list[tuple[str, str, Convert | None]]:
    plan: list[tuple[str, str, Convert | None]] | None = meta.plans.encode
    if plan is None:
        plan = [
            (p.name, p.field_name, _property_encoder(p))
            for p in meta.properties.values()
            if not (p.is_id and p.generated)
        ]
        meta.plans.encode = plan
    return plan


def encode(instance: BaseModel) -> dict[str, Any]:
    """An instance as a BSON-ready document: field names at every depth, the id as
    ``_id`` (left out while a generated id is None), hidden properties included."""
    try:
        return _dumper(type(instance))(instance)
    except RecursionError:  # models embedded in each other beyond any sane depth
        raise _too_deep(type(instance).__name__) from None


def _too_deep(model: str = "value") -> ValidationError:
    return ValidationError(
        model,
        [
            {
                "path": "",
                "code": "too-deep",
                "message": f"the data nests deeper than {MAX_DATA_DEPTH} levels",
                "value": None,
            }
        ],
    )


def _encode_slowly(instance: BaseModel) -> dict[str, Any]:
    """The reference encoder, used when an instance lacks a property value."""
    meta = meta_of(type(instance))
    values = instance.__dict__
    if meta is None:
        return {k: encode_any(v) for k, v in instance.model_dump().items()}
    doc: dict[str, Any] = {}
    id_prop = meta.id
    if id_prop is not None and id_prop.generated:
        current = values.get(id_prop.name)
        if current is not None:
            doc[ID_FIELD] = ObjectId(current) if isinstance(current, str) else current
    for name, field_name, convert in _encode_plan(meta):
        value = values.get(name)
        doc[field_name] = value if convert is None or value is None else convert(value)
    extra = instance.__pydantic_extra__
    if extra:
        known = _declared_fields(meta)
        for key, value in extra.items():
            if key not in known:
                doc[key] = encode_any(value)
    return doc


def _declared_fields(meta: ModelMeta) -> frozenset[str]:
    """The stored names an extra may never take: a declared property's, and ``_id``."""
    return frozenset([*meta.by_field, ID_FIELD])


# Generated per class, as dataclasses generate __init__: one dict display per model with
# the converters bound as names, the shortest path Python has from __dict__ to a document.
_compiling: set[type] = set()


def _generate(name: str, source: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    exec(compile(source, f"<odm {name}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


def _entry(
    key: str, source: str, convert: Convert | None, index: int, names: dict[str, Any]
) -> str:
    if convert is None:
        return f"{key!r}: {source}"
    names[f"c{index}"] = convert
    return f"{key!r}: (c{index}(v) if (v := {source}) is not None else None)"


def _dumper(cls: type[BaseModel]) -> Callable[[BaseModel], dict[str, Any]]:
    """The compiled encoder of ``cls`` (see :func:`encode`)."""
    meta = meta_of(cls)
    if meta is None:
        return _encode_slowly
    found: Callable[[BaseModel], dict[str, Any]] | None = meta.plans.dumper
    if found is not None:
        return found
    if cls in _compiling:  # a model embedding itself: resolved on the first call
        return lambda instance: _dumper(cls)(instance)
    _compiling.add(cls)
    try:
        names: dict[str, Any] = {
            "slow": _encode_slowly,
            "encode_any": encode_any,
            "known": _declared_fields(meta),
        }
        entries: list[str] = []
        id_prop = meta.id
        generated_id = id_prop is not None and id_prop.generated
        if generated_id and id_prop is not None:
            names["object_id"] = ObjectId
            entries.append(
                f"{ID_FIELD!r}: (object_id(v) if isinstance(v := d[{id_prop.name!r}], str) else v)"
            )
        for index, (name, field_name, convert) in enumerate(_encode_plan(meta)):
            entries.append(_entry(field_name, f"d[{name!r}]", convert, index, names))
        lines = [
            "def dump(instance):",
            "    d = instance.__dict__",
            "    try:",
            f"        doc = {{{', '.join(entries)}}}",
            "    except KeyError:",
            "        return slow(instance)",
        ]
        if generated_id:
            lines += [f"    if doc[{ID_FIELD!r}] is None:", f"        del doc[{ID_FIELD!r}]"]
        if meta.strict is False:
            lines += [
                "    extra = instance.__pydantic_extra__",
                "    if extra:",
                "        doc.update(",
                "            {k: encode_any(x) for k, x in extra.items() if k not in known}",
                "        )",
            ]
        lines.append("    return doc")
        found = _generate("dump", "\n".join(lines), names)
    finally:
        _compiling.discard(cls)
    meta.plans.dumper = found
    return found


def _loader(cls: type[T]) -> Callable[[Mapping[str, Any]], T]:
    """The compiled trusted loader of ``cls`` (see :func:`decode_trusted`); documents
    lacking a field take the slower path that fills defaults."""
    meta = meta_of(cls)
    if meta is None:
        return cls.model_validate
    found: Callable[[Mapping[str, Any]], T] | None = meta.plans.loader
    if found is not None:
        return found
    if cls in _compiling:  # a model embedding itself: resolved on the first call
        return lambda doc: _loader(cls)(doc)

    def slow(doc: Mapping[str, Any]) -> T:
        return _construct_slowly(cls, meta, doc)

    if cls.__pydantic_post_init__ or cls.__private_attributes__:
        meta.plans.loader = slow
        return slow
    _compiling.add(cls)
    try:
        fields = set(meta.properties)
        names: dict[str, Any] = {
            "slow": slow,
            "new": object.__new__,
            "cls": cls,
            "fields": fields,
            "known": frozenset(meta.by_field),
            **_SLOT_SETTERS,
        }
        plan = _decode_plan(meta)
        entries = [
            _entry(name, f"doc[{field_name!r}]", convert, index, names)
            for index, (field_name, name, convert, _) in enumerate(plan)
        ]
        extra = (
            "{k: x for k, x in doc.items() if k not in known}" if meta.strict is False else "None"
        )
        # pydantic adds to the fields-set only the name of an assigned field, already in
        # this full set, except for an extra assigned on an ``extra="allow"`` model: only
        # those models need a set of their own per instance
        shared = meta.strict is not False and fields == set(cls.__pydantic_fields__)
        source = "\n".join(
            [
                "def load(doc):",
                "    try:",
                f"        d = {{{', '.join(entries)}}}",
                "    except KeyError:",
                "        return slow(doc)",
                "    instance = new(cls)",
                "    set_dict(instance, d)",
                f"    set_fields(instance, {'fields' if shared else 'fields.copy()'})",
                f"    set_extra(instance, {extra})",
                "    set_private(instance, None)",
                "    return instance",
            ]
        )
        found = _generate("load", source, names)
    finally:
        _compiling.discard(cls)
    meta.plans.loader = found
    return found


def _slot_setters() -> dict[str, Callable[[Any, Any], None]]:
    # The setters of BaseModel's instance slots, called directly: what object.__setattr__
    # finds by name on every call (pydantic's own __setattr__ is bypassed either way).
    slots = BaseModel.__dict__
    return {
        "set_dict": slots["__dict__"].__set__,
        "set_fields": slots["__pydantic_fields_set__"].__set__,
        "set_extra": slots["__pydantic_extra__"].__set__,
        "set_private": slots["__pydantic_private__"].__set__,
    }


_SLOT_SETTERS = _slot_setters()


def encode_partial(meta: ModelMeta, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated property values (a partial update) as ``{field name: BSON value}``;
    names that are not properties (a ``strict=False`` model's extras) pass unchanged."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        prop = meta.properties.get(name)
        if prop is None:
            out[name] = encode_any(value)
            continue
        convert = _property_encoder(prop)
        out[prop.field_name] = value if convert is None or value is None else convert(value)
    return out


# --- loading -------------------------------------------------------------------------


def _reachable(meta: ModelMeta) -> list[ModelMeta]:
    """``meta`` and the metadata of every model class embedded in it, at any depth."""
    found = {id(meta): meta}
    pending = [meta]
    while pending:
        for prop in pending.pop().properties.values():
            for nested_cls in prop.type.models:
                nested = meta_of(nested_cls)
                if nested is not None and id(nested) not in found:
                    found[id(nested)] = nested
                    pending.append(nested)
    return list(found.values())


def _load_mode(meta: ModelMeta | None) -> tuple[Literal["allow", "ignore"], bool]:
    """pydantic's ``extra`` for loading, and whether extras must be restored afterwards.

    Unknown stored fields are ignored on load, except by ``strict=False`` models. pydantic's
    ``extra`` applies to every model of one validation, so when a ``strict=False`` model is
    embedded (or embeds others) its extras are put back from the document after validation.
    """
    if meta is None:
        return "ignore", False
    cached: tuple[Literal["allow", "ignore"], bool] | None = meta.plans.load_mode
    if cached is not None:
        return cached
    tree = _reachable(meta)
    mode: tuple[Literal["allow", "ignore"], bool]
    if all(m.strict is not False for m in tree):
        mode = ("ignore", False)
    elif len(tree) == 1:
        mode = ("allow", False)
    else:
        mode = ("ignore", True)
    meta.plans.load_mode = mode
    return mode


def _restore_extras(value: Any, stored: Any) -> None:
    """Give each ``strict=False`` model instance in ``value`` the unknown fields of its
    stored document."""
    if isinstance(value, BaseModel):
        meta = meta_of(type(value))
        if meta is None or not isinstance(stored, Mapping):
            return
        if meta.strict is False:
            extra = {k: v for k, v in stored.items() if k not in meta.by_field}
            object.__setattr__(value, "__pydantic_extra__", extra)
        for prop in meta.properties.values():
            if prop.type.models and prop.field_name in stored:
                _restore_extras(value.__dict__.get(prop.name), stored[prop.field_name])
    elif isinstance(value, list | tuple) and isinstance(stored, list | tuple):
        for item, stored_item in zip(value, stored, strict=False):
            _restore_extras(item, stored_item)
    elif isinstance(value, dict) and isinstance(stored, Mapping):
        for key, item in value.items():
            if key in stored:
                _restore_extras(item, stored[key])


def decode(cls: type[T], doc: Mapping[str, Any]) -> T:
    """A stored document as a validated instance (pydantic-core does the work)."""
    extra, restore = _load_mode(meta_of(cls))
    token = loading.set(True)
    try:
        instance = cls.model_validate(doc, by_alias=True, by_name=False, extra=extra)
    finally:
        loading.reset(token)
    if restore:
        _restore_extras(instance, doc)
    return instance


def decode_many(
    cls: type[T], docs: Iterable[Mapping[str, Any]], *, trusted: bool = False
) -> list[T]:
    """Several stored documents as instances, validated unless ``trusted``."""
    meta = meta_of(cls)
    token = loading.set(True)
    try:
        if trusted:
            load = _loader(cls)
            return [load(doc) for doc in docs]
        extra, restore = _load_mode(meta)
        validate = cls.model_validate
        if not restore:
            return [validate(doc, by_alias=True, by_name=False, extra=extra) for doc in docs]
        docs = list(docs)
        instances = [validate(doc, by_alias=True, by_name=False, extra=extra) for doc in docs]
    finally:
        loading.reset(token)
    for instance, doc in zip(instances, docs, strict=True):
        _restore_extras(instance, doc)
    return instances


def _datetime_from_bson(value: Any) -> Any:
    return as_utc(value) if isinstance(value, dt.datetime) else value


def _id_from_bson(value: Any) -> Any:
    return object_id_hex(value) if type(value) is ObjectId else str(value)


def _uuid_from_bson(value: Any) -> Any:
    return value.as_uuid(value.subtype) if isinstance(value, Binary) else value


def _scalar_decoder(info: TypeInfo) -> Convert | None:
    python = info.python
    if python is None or info.literals:
        return None
    if issubclass(python, enum.Enum):
        return python
    if issubclass(python, dt.datetime):
        return _datetime_from_bson
    if issubclass(python, dt.date):
        return date_from_bson
    if issubclass(python, decimal.Decimal):
        return decimal_from_bson
    if issubclass(python, uuid.UUID):
        return _uuid_from_bson
    return None


def _decoder_for(info: TypeInfo, fallback: Convert) -> Convert | None:
    if info.kind == "scalar":
        return _scalar_decoder(info)
    if info.kind == "model" and info.model is not None:
        model_cls = info.model
        return _loader(model_cls)
    if info.kind == "list" and info.item is not None:
        item = _decoder_for(info.item, fallback)
        container = info.container or list
        if item is None:
            return None if container is list else container
        convert_item = item
        if container is list:
            return lambda values: [None if v is None else convert_item(v) for v in values]

        def items(values: Iterable[Any]) -> Any:
            return container([None if v is None else convert_item(v) for v in values])

        return items
    if info.kind == "dict" and info.item is not None:
        value_decoder = _decoder_for(info.item, fallback)
        if value_decoder is None:
            return None
        convert_value = value_decoder
        return lambda values: {
            k: None if v is None else convert_value(v) for k, v in values.items()
        }
    if info.kind == "union":
        return fallback
    return None


def _contains_union(info: TypeInfo) -> bool:
    while info.item is not None:
        info = info.item
    return info.kind == "union"


def _load_validator(prop: PropertyMeta) -> Convert:
    """Validates a whole stored value of ``prop`` as :func:`decode` would (stored field
    names, unknown fields ignored except by ``strict=False`` models)."""
    validate = prop.adapter.validate_python

    def load(value: Any) -> Any:
        result = validate(value, by_alias=True, by_name=False, extra="ignore")
        _restore_extras(result, value)
        return result

    return load


def _property_decoder(prop: PropertyMeta) -> Convert | None:
    if prop.is_id and prop.type.python is str:
        return _id_from_bson
    load = _load_validator(prop)
    # pydantic picks the member of a union; the property's validator decodes the whole value
    return load if _contains_union(prop.type) else _decoder_for(prop.type, load)


Row = tuple[str, str, Convert | None, Callable[[], Any]]


def _missing(prop: PropertyMeta) -> Callable[[], Any]:
    info = prop.rewritten

    def default() -> Any:
        value = info.get_default(call_default_factory=True, validated_data={})
        return None if value is PydanticUndefined else value

    return default


def _decode_plan(meta: ModelMeta) -> list[Row]:
    plan: list[Row] | None = meta.plans.decode
    if plan is None:
        plan = [
            (p.field_name, p.name, _property_decoder(p), _missing(p))
            for p in meta.properties.values()
        ]
        meta.plans.decode = plan
    return plan


def _construct_slowly(cls: type[T], meta: ModelMeta, doc: Mapping[str, Any]) -> T:
    values: dict[str, Any] = {}
    for field_name, name, convert, missing in _decode_plan(meta):
        if field_name in doc:
            value = doc[field_name]
            values[name] = value if convert is None or value is None else convert(value)
        else:
            values[name] = missing()
    extra: dict[str, Any] | None = None
    if meta.strict is False:
        known = meta.by_field
        extra = {k: v for k, v in doc.items() if k not in known}
    if cls.__pydantic_post_init__ or cls.__private_attributes__:
        instance = cls.model_construct(set(values), **values)
        if extra:
            object.__setattr__(instance, "__pydantic_extra__", extra)
        return instance
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", extra)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def decode_trusted(cls: type[T], doc: Mapping[str, Any]) -> T:
    """A stored document as an instance without validation: BSON values converted
    (ObjectId ids to str, datetimes to UTC, Decimal128, Binary UUIDs, embedded models),
    everything else assigned as it is."""
    token = loading.set(True)
    try:
        return _loader(cls)(doc)
    finally:
        loading.reset(token)
