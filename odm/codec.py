"""Instances to BSON-ready documents and back, with field names at every depth.

Each class gets its plans compiled once, on first use (so forward references have
resolved): a list of ``(property, field, converter)`` rows where the converter is None
for the values BSON keeps as they are, and from it a generated encoder. The two load
paths, :func:`decode` (validated) and :func:`decode_trusted`, are :mod:`odm.decoding`'s,
named here too.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bson import Binary, Decimal128, ObjectId
from pydantic import BaseModel

from .decoding import _construct_slowly as _construct_slowly
from .decoding import _decode_plan as _decode_plan
from .decoding import _load_mode as _load_mode
from .decoding import _loader as _loader
from .decoding import _restore_extras as _restore_extras
from .decoding import decode, decode_many, decode_trusted
from .errors import ValidationError
from .generated import compiling, entry, generate
from .metadata import ID_FIELD, ModelMeta, PropertyMeta, meta_of
from .rules import MAX_DATA_DEPTH
from .types import BSON_AS_IS, TypeInfo

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


def _dumper(cls: type[BaseModel]) -> Callable[[BaseModel], dict[str, Any]]:
    """The compiled encoder of ``cls`` (see :func:`encode`)."""
    meta = meta_of(cls)
    if meta is None:
        return _encode_slowly
    found: Callable[[BaseModel], dict[str, Any]] | None = meta.plans.dumper
    if found is not None:
        return found
    if cls in compiling:  # a model embedding itself: resolved on the first call
        return lambda instance: _dumper(cls)(instance)
    compiling.add(cls)
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
            entries.append(entry(field_name, f"d[{name!r}]", convert, index, names))
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
        found = generate("dump", "\n".join(lines), names)
    finally:
        compiling.discard(cls)
    meta.plans.dumper = found
    return found


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
