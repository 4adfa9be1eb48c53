"""What odm knows of a property's type: one parse of the annotation, read by the codec,
the filter translator and the JSON Schema, and the annotation rewrite that teaches
pydantic the BSON types (ObjectId, Decimal128, Binary UUIDs, UTC datetimes).
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import decimal
import enum
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from bson import Binary, Decimal128, ObjectId
from bson.tz_util import utc as _BSON_UTC
from pydantic import AfterValidator, BaseModel, BeforeValidator, GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = [
    "BSON_AS_IS",
    "BSON_UTC",
    "EPOCH_BSON",
    "EPOCH_UTC",
    "LEAF_TYPES",
    "OBJECT_ID",
    "OBJECT_ID_PATTERN",
    "SCALARS",
    "SCALAR_TABLE",
    "Scalar",
    "TypeInfo",
    "as_utc",
    "bson_annotation",
    "date_from_bson",
    "decimal_from_bson",
    "object_id_bytes",
    "object_id_hex",
    "parse_type",
    "to_utc_ms",
]

Kind = Literal["any", "scalar", "model", "list", "dict", "union"]

OBJECT_ID_PATTERN = "^[0-9a-fA-F]{24}$"


@dataclass(frozen=True)
class Scalar:
    """One scalar Python type and what each layer makes of it: ``bson_as_is`` when BSON
    keeps the value unchanged (the codec converts the others), its JSON Schema and its
    LoopBack type name."""

    python: type
    bson_as_is: bool
    json_schema: Mapping[str, Any]
    loopback: str


#: The scalar table, read by the codec, validation, the JSON Schema and the LoopBack
#: definitions. Order matters where types are subclasses: bool before int, datetime
#: before date. (Enum subclasses are scalars too, stored as their value.)
SCALAR_TABLE: tuple[Scalar, ...] = (
    Scalar(bool, True, {"type": "boolean"}, "boolean"),
    Scalar(int, True, {"type": "integer"}, "integer"),
    Scalar(float, True, {"type": "number"}, "number"),
    Scalar(decimal.Decimal, False, {"type": "number"}, "number"),
    Scalar(str, True, {"type": "string"}, "string"),
    Scalar(dt.datetime, True, {"type": "string", "format": "date-time"}, "date"),
    Scalar(dt.date, False, {"type": "string", "format": "date"}, "DateString"),
    Scalar(uuid.UUID, False, {"type": "string", "format": "uuid"}, "uuid"),
    Scalar(bytes, True, {"type": "string", "contentEncoding": "base64"}, "buffer"),
    Scalar(ObjectId, True, {"type": "string", "pattern": OBJECT_ID_PATTERN}, "ObjectId"),
)

#: The scalar Python types odm maps to BSON.
SCALARS: tuple[type, ...] = tuple(row.python for row in SCALAR_TABLE)

#: Runtime types whose values BSON holds as they are (no conversion, no names inside).
BSON_AS_IS: frozenset[type] = frozenset(
    [*(row.python for row in SCALAR_TABLE if row.bson_as_is), type(None), Decimal128, Binary]
)

#: Runtime types whose values hold no names and no nesting (a data walk stops there).
LEAF_TYPES: frozenset[type] = frozenset([*SCALARS, type(None), Decimal128, Binary])


@dataclass(frozen=True)
class TypeInfo:
    """A parsed annotation.

    ``kind`` is ``scalar`` (``python`` is the type; ``literals`` for ``Literal[...]``),
    ``model`` (``model`` is the class), ``list`` (``item``; ``container`` is list, set or
    tuple), ``dict`` (``item`` is the value type), ``union`` (``options``, None left out)
    or ``any``. ``nullable`` is True when the annotation admits None.
    """

    kind: Kind
    nullable: bool = False
    python: type | None = None
    model: type[BaseModel] | None = None
    item: TypeInfo | None = None
    container: type | None = None
    options: tuple[TypeInfo, ...] = ()
    literals: tuple[Any, ...] = ()

    def with_nullable(self, nullable: bool) -> TypeInfo:
        return TypeInfo(
            self.kind,
            nullable,
            self.python,
            self.model,
            self.item,
            self.container,
            self.options,
            self.literals,
        )

    @property
    def models(self) -> list[type[BaseModel]]:
        """Every model class reachable in this type."""
        if self.kind == "model" and self.model is not None:
            return [self.model]
        found: list[type[BaseModel]] = []
        for part in (*self.options, *((self.item,) if self.item else ())):
            found.extend(part.models)
        return found


_LISTS: dict[Any, type] = {
    list: list,
    set: set,
    frozenset: set,
    tuple: tuple,
    collections.abc.Sequence: list,
    collections.abc.MutableSequence: list,
    collections.abc.Set: set,
    collections.abc.MutableSet: set,
    collections.abc.Iterable: list,
}
_DICTS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def parse_type(annotation: Any) -> TypeInfo:
    """Parse a (resolved) annotation into a :class:`TypeInfo`."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any or annotation is object or annotation is None:
        return TypeInfo("any", nullable=True)
    if origin is Annotated:
        return parse_type(args[0])
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        nullable = len(members) < len(args)
        if len(members) == 1:
            return parse_type(members[0]).with_nullable(nullable)
        return TypeInfo("union", nullable, options=tuple(parse_type(m) for m in members))
    if origin is Literal:
        python = type(args[0]) if args else str
        return TypeInfo("scalar", None in args, python=python, literals=tuple(args))
    if origin in _LISTS:
        item_args = [a for a in args if a is not Ellipsis]
        item = parse_type(item_args[0]) if len(item_args) == 1 else TypeInfo("any", True)
        return TypeInfo("list", item=item, container=_LISTS[origin])
    if origin in _DICTS:
        value = parse_type(args[1]) if len(args) == 2 else TypeInfo("any", True)
        return TypeInfo("dict", item=value)
    if annotation in _LISTS:
        return TypeInfo("list", item=TypeInfo("any", True), container=_LISTS[annotation])
    if annotation in _DICTS:
        return TypeInfo("dict", item=TypeInfo("any", True))
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return TypeInfo("model", model=annotation)
        if issubclass(annotation, enum.Enum):
            return TypeInfo("scalar", python=annotation)
        for scalar in SCALARS:
            if issubclass(annotation, scalar):
                return TypeInfo("scalar", python=annotation)
    return TypeInfo("any", True)


_UTC = dt.UTC
# Same-tzinfo subtraction and timedelta addition run in C without calling a tzinfo's
# Python methods: an order of magnitude cheaper than ``replace(tzinfo=...)`` (keyword
# parsing) or ``astimezone`` (two ``utcoffset`` calls) for the same value.
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_BSON = dt.datetime(1970, 1, 1, tzinfo=_BSON_UTC)
#: bson's own UTC (a ``FixedOffset``: pymongo's aware datetimes carry it), the Unix epoch
#: in it and in ``datetime.UTC``: ``EPOCH_UTC + (value - EPOCH_BSON)`` is ``value`` in UTC
BSON_UTC, EPOCH_BSON, EPOCH_UTC = _BSON_UTC, _EPOCH_BSON, _EPOCH_UTC
_EPOCH_NAIVE = dt.datetime(1970, 1, 1)


def as_utc(value: dt.datetime) -> dt.datetime:
    """The same instant with ``datetime.UTC`` as its tzinfo; a naive datetime is taken as
    UTC. pymongo's aware datetimes carry bson's own UTC (a ``FixedOffset``), converted
    here without a call into it."""
    tz = value.tzinfo
    if tz is _UTC:
        return value
    if type(value) is dt.datetime:
        if tz is _BSON_UTC:
            return _EPOCH_UTC + (value - _EPOCH_BSON)
        if tz is None:
            return _EPOCH_UTC + (value - _EPOCH_NAIVE)
    if tz is None:
        return value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


def to_utc_ms(value: dt.datetime) -> dt.datetime:
    """A naive datetime is taken as UTC; any datetime becomes UTC (``datetime.UTC``) at
    millisecond precision."""
    if value.tzinfo is _BSON_UTC and type(value) is dt.datetime:  # what pymongo returns
        value = _EPOCH_UTC + (value - _EPOCH_BSON)
    else:
        value = as_utc(value)
    extra = value.microsecond % 1000
    if extra:
        value = value - dt.timedelta(microseconds=extra)
    return value


def date_from_bson(value: Any) -> Any:
    """A BSON date (a datetime) read back as a ``date``; other values unchanged."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def decimal_from_bson(value: Any) -> Any:
    """A Decimal128 read back as a ``Decimal``; other values unchanged."""
    return value.to_decimal() if isinstance(value, Decimal128) else value


def _object_id_bytes() -> Callable[[ObjectId], bytes] | None:
    # bson keeps an ObjectId's 12 bytes in its one slot; reading the slot directly is
    # several times cheaper than ``str()`` (a Python-level __str__). Checked once against
    # ``str()``, so a bson that stores them otherwise falls back to it.
    slot = ObjectId.__dict__.get("_ObjectId__id")
    getter = getattr(slot, "__get__", None)
    if getter is None:
        return None
    sample = ObjectId()
    try:
        raw = getter(sample, ObjectId)
    except Exception:
        return None
    if not isinstance(raw, bytes) or raw.hex() != str(sample):
        return None
    found: Callable[[ObjectId], bytes] = getter
    return found


_OBJECT_ID_BYTES = _object_id_bytes()
#: An ObjectId's 12 bytes read from its slot (None when bson keeps them otherwise).
object_id_bytes = _OBJECT_ID_BYTES


def object_id_hex(value: ObjectId) -> str:
    """An ObjectId's 24-character hex text (``str(value)``, cheaper)."""
    if _OBJECT_ID_BYTES is not None and type(value) is ObjectId:
        return _OBJECT_ID_BYTES(value).hex()
    return str(value)


def _object_id_text(value: Any) -> Any:
    # A generated id is stored as an ObjectId: read one back as its hex text, and accept
    # only text that converts to one. One call, with no check on what the database gave.
    if type(value) is ObjectId and _OBJECT_ID_BYTES is not None:
        return _OBJECT_ID_BYTES(value).hex()
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, str) and not ObjectId.is_valid(value):
        from .keywords import odm_error

        raise odm_error("type", "must be an ObjectId as a 24-character hex string")
    return value


class _ObjectIdSchema:
    """pydantic schema of ``bson.ObjectId``: accepts an ObjectId or its 24-hex string,
    serialises to the hex string in JSON and stays an ObjectId in Python."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> ObjectId:
            if isinstance(value, ObjectId):
                return value
            if isinstance(value, str) and ObjectId.is_valid(value):
                return ObjectId(value)
            raise ValueError(f"must be an ObjectId or a 24-character hex string, not {value!r}")

        return core_schema.no_info_plain_validator_function(
            validate,
            json_schema_input_schema=core_schema.str_schema(pattern=OBJECT_ID_PATTERN),
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, when_used="json-unless-none"
            ),
        )


#: ``bson.ObjectId`` as pydantic understands it.
OBJECT_ID = Annotated[ObjectId, _ObjectIdSchema()]

_UTC_DATETIME = Annotated[dt.datetime, AfterValidator(to_utc_ms)]


def bson_annotation(annotation: Any, *, object_id_as_text: bool = False) -> Any:
    """The annotation rewritten so pydantic validates stored BSON values as well as Python
    ones: every ``datetime`` normalised to UTC milliseconds, ``date`` read from a BSON date,
    Decimal128 read back (pydantic reads a Binary UUID itself), ObjectId known. Returns the
    same object when nothing needs rewriting. ``object_id_as_text``: a ``str`` here is a
    generated id, stored as an ObjectId.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        inner = bson_annotation(args[0], object_id_as_text=object_id_as_text)
        if inner is args[0]:
            return annotation
        return Annotated[(inner, *annotation.__metadata__)]
    if origin is typing.Union or origin is types.UnionType:
        new_args = tuple(bson_annotation(a, object_id_as_text=object_id_as_text) for a in args)
        if all(n is o for n, o in zip(new_args, args, strict=True)):
            return annotation
        return typing.Union[new_args]  # noqa: UP007
    if origin is not None and args and origin is not Literal:
        new_args = tuple(a if a is Ellipsis else bson_annotation(a) for a in args)
        if all(n is o for n, o in zip(new_args, args, strict=True)):
            return annotation
        return origin[new_args]
    if annotation is dt.datetime:
        return _UTC_DATETIME
    if annotation is dt.date:
        return Annotated[dt.date, BeforeValidator(date_from_bson)]
    if annotation is decimal.Decimal:
        return Annotated[decimal.Decimal, BeforeValidator(decimal_from_bson)]
    if annotation is ObjectId:
        return OBJECT_ID
    if annotation is str and object_id_as_text:
        return Annotated[str, BeforeValidator(_object_id_text)]
    return annotation
