"""Stored documents to instances, the two load paths:

* :func:`decode` validates: one pydantic-core validation over the raw document (field
  names are validation aliases; the BSON types are taught to pydantic by
  ``odm.types.bson_annotation``);
* :func:`decode_trusted` skips validation: a loader generated per class converts only
  what BSON changes and builds the instance in Python, its ``__dict__`` one dict display.

Neither runs a ``default_fn`` generator for a field missing in the document.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

from bson import Binary, ObjectId
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .collector import collector_paused
from .generated import compiling, entry, generate
from .metadata import ModelMeta, PropertyMeta, meta_of
from .properties import loading
from .types import (
    BSON_UTC,
    EPOCH_BSON,
    EPOCH_UTC,
    TypeInfo,
    as_utc,
    date_from_bson,
    decimal_from_bson,
    object_id_bytes,
    object_id_hex,
)

__all__ = ["decode", "decode_many", "decode_trusted", "validator_of"]

T = TypeVar("T", bound=BaseModel)
Convert = Callable[[Any], Any]


def _loader(cls: type[T]) -> Callable[[Mapping[str, Any]], T]:
    """The compiled trusted loader of ``cls`` (see :func:`decode_trusted`); documents
    lacking a field take the slower path that fills defaults."""
    meta = meta_of(cls)
    if meta is None:
        return cls.model_validate
    found: Callable[[Mapping[str, Any]], T] | None = meta.plans.loader
    if found is not None:
        return found
    if cls in compiling:  # a model embedding itself: resolved on the first call
        return lambda doc: _loader(cls)(doc)

    def slow(doc: Mapping[str, Any]) -> T:
        return _construct_slowly(cls, meta, doc)

    if cls.__pydantic_post_init__ or cls.__private_attributes__:
        meta.plans.loader = slow
        return slow
    compiling.add(cls)
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
            _loadentry(name, f"doc[{field_name!r}]", meta.properties[name], convert, index, names)
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
        found = generate("load", source, names)
    finally:
        compiling.discard(cls)
    meta.plans.loader = found
    return found


# The loader's common conversions written out as expressions (``v`` is the stored value,
# ``c<n>`` the property's converter, which handles every other case): no call per value
# for what pymongo returns (an ObjectId id, a datetime in bson's UTC, a UUID, a list).
_INLINE: dict[Any, str] = {}
_INLINE_NAMES: dict[str, Any] = {
    "OID": ObjectId,
    "DT": dt.datetime,
    "UTC": dt.UTC,
    "UUID": uuid.UUID,
    "EPOCH_UTC": EPOCH_UTC,
    "EPOCH_BSON": EPOCH_BSON,
    "BSON_UTC": BSON_UTC,
    "oid_bytes": object_id_bytes,
}


def _loadentry(
    key: str,
    source: str,
    prop: PropertyMeta,
    convert: Convert | None,
    index: int,
    names: dict[str, Any],
) -> str:
    inline = _INLINE.get(convert)
    if inline is None and prop.type.kind == "list" and prop.type.container is list:
        item = prop.type.item
        item_convert = _decoder_for(item, _load_validator(prop)) if item is not None else None
        if item is not None and item_convert is not None and not _contains_union(prop.type):
            names[f"i{index}"] = item_convert
            names[f"c{index}"] = convert
            inline = (
                "([None if x is None else i{n}(x) for x in v] if (v := {source}).__class__ is "
                "list else (None if v is None else c{n}(v)))"
            )
    if inline is None:
        return entry(key, source, convert, index, names)
    names.update(_INLINE_NAMES)
    names[f"c{index}"] = convert
    return f"{key!r}: " + inline.format(source=source, n=index)


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


def validator_of(cls: type[BaseModel]) -> Callable[..., Any]:
    """pydantic-core's validator of ``cls`` itself, what ``model_validate`` calls (one
    Python frame less per document); a class not complete yet goes through
    ``model_validate``, which rebuilds it first."""
    if cls.__pydantic_complete__:
        validate: Callable[..., Any] = cls.__pydantic_validator__.validate_python
        return validate
    return cls.model_validate


def decode(cls: type[T], doc: Mapping[str, Any]) -> T:
    """A stored document as a validated instance (pydantic-core does the work)."""
    extra, restore = _load_mode(meta_of(cls))
    token = loading.set(True)
    try:
        instance: T = validator_of(cls)(doc, by_alias=True, by_name=False, extra=extra)
    finally:
        loading.reset(token)
    if restore:
        _restore_extras(instance, doc)
    return instance


def decode_many(
    cls: type[T], docs: Iterable[Mapping[str, Any]], *, trusted: bool = False
) -> list[T]:
    """Several stored documents as instances, validated unless ``trusted``; the cyclic
    collector is paused while they are built (see :mod:`odm.collector`)."""
    meta = meta_of(cls)
    token = loading.set(True)
    with collector_paused():
        try:
            if trusted:
                load = _loader(cls)
                return [load(doc) for doc in docs]
            extra, restore = _load_mode(meta)
            validate = validator_of(cls)
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


_INLINE[_datetime_from_bson] = (
    "(v if (v := {source}).__class__ is DT and (z := v.tzinfo) is UTC else EPOCH_UTC + "
    "(v - EPOCH_BSON) if v.__class__ is DT and z is BSON_UTC else (None if v is None else "
    "c{n}(v)))"
)
_INLINE[_uuid_from_bson] = "(v if (v := {source}).__class__ is UUID or v is None else c{n}(v))"
if object_id_bytes is not None:
    _INLINE[_id_from_bson] = (
        "(oid_bytes(v).hex() if (v := {source}).__class__ is OID "
        "else (None if v is None else c{n}(v)))"
    )


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
