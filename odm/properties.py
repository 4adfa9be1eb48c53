"""``prop()``: a property's options, and the ``default_fn`` generators.

``prop`` returns a pydantic ``FieldInfo`` carrying a :class:`PropertyOptions` in its
metadata; the class's metadata compiler (``odm.metadata``) reads it when the class is
created.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack

from bson import ObjectId
from pydantic import Field
from pydantic_core import PydanticUndefined

__all__ = [
    "DEFAULT_FNS",
    "GENERATORS",
    "PROP_OPTION_NAMES",
    "Generator",
    "PropOptions",
    "PropertyOptions",
    "PydanticFieldOptions",
    "loading",
    "make_generator",
    "now_utc_ms",
    "prop",
]

#: True while odm builds instances from stored documents: generators must not run then.
loading: ContextVar[bool] = ContextVar("odm_loading", default=False)


@dataclass(frozen=True)
class PropertyOptions:
    """The odm options of one property, as given to :func:`prop`."""

    id: bool = False
    generated: bool = False
    required: bool = False
    nullable: bool | None = None
    hidden: bool = False
    field_name: str | None = None
    index: bool | Mapping[str, Any] | None = None
    unique: bool = False
    description: str | None = None
    json_schema: Mapping[str, Any] = field(default_factory=dict)
    default_fn: str | None = None
    #: keywords ``prop()`` was given that it does not know (refused at class creation)
    unknown: tuple[str, ...] = ()


class PydanticFieldOptions(TypedDict, total=False):
    """The ``pydantic.Field`` options ``prop()`` passes on (odm's own options cover the
    rest: ``field_name`` is the alias, ``hidden`` the exclusion, ``json_schema`` the extra
    schema)."""

    title: str
    examples: list[Any]
    gt: float
    ge: float
    lt: float
    le: float
    multiple_of: float
    min_length: int
    max_length: int
    pattern: str
    strict: bool
    frozen: bool
    repr: bool
    deprecated: str | bool


class PropOptions(PydanticFieldOptions, total=False):
    """Every keyword ``prop()`` accepts besides ``default``; a misspelt one is a type error
    for mypy and a ``ModelDefinitionError`` when the class is created."""

    default_factory: Callable[[], Any] | None
    default_fn: str | None
    id: bool
    generated: bool
    required: bool
    nullable: bool | None
    hidden: bool
    field_name: str | None
    index: bool | Mapping[str, Any] | None
    unique: bool
    description: str | Sequence[str] | None
    json_schema: Mapping[str, Any] | None


#: The names ``prop()`` accepts as keywords.
PROP_OPTION_NAMES: frozenset[str] = frozenset(PropOptions.__annotations__) | frozenset(
    PydanticFieldOptions.__annotations__
)
_FIELD_OPTION_NAMES = frozenset(PydanticFieldOptions.__annotations__)


def prop(default: Any = PydanticUndefined, **options: Unpack[PropOptions]) -> Any:
    """Declare a property's options.

    >>> class Customer(Entity):
    ...     email: str = prop(unique=True, json_schema={"format": "email"})
    ...     created: datetime = prop(default_fn="now", field_name="createdAt")

    The pydantic ``Field`` options of :class:`PydanticFieldOptions` (``gt``,
    ``max_length``, ``title``, ...) go to ``pydantic.Field`` unchanged; any other
    keyword raises ``ModelDefinitionError`` when the class is created.
    """
    given: dict[str, Any] = dict(options)
    unknown = tuple(sorted(name for name in given if name not in PROP_OPTION_NAMES))
    description = given.get("description")
    if description is not None and not isinstance(description, str):
        description = " ".join(description)
    index = given.get("index")
    property_options = PropertyOptions(
        id=bool(given.get("id", False)),
        generated=bool(given.get("generated", False)),
        required=bool(given.get("required", False)),
        nullable=given.get("nullable"),
        hidden=bool(given.get("hidden", False)),
        field_name=given.get("field_name"),
        index=index,
        unique=bool(given.get("unique", False)),
        description=description,
        json_schema=dict(given.get("json_schema") or {}),
        default_fn=given.get("default_fn"),
        unknown=unknown,
    )
    field_options = {k: v for k, v in given.items() if k in _FIELD_OPTION_NAMES}
    default_factory = given.get("default_factory")
    if default_factory is not None:
        info = Field(default_factory=default_factory, description=description, **field_options)
    else:
        info = Field(default, description=description, **field_options)
    info.metadata.append(property_options)
    return info


def now_utc_ms() -> datetime:
    """The current time, timezone-aware UTC, truncated to the millisecond BSON keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _uuid7() -> uuid.UUID:
    # RFC 9562 UUIDv7: 48-bit Unix milliseconds, version 7, 74 random bits.
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value)


def _nanoid() -> str:
    # 21 characters of the URL-safe alphabet, as nanoid's default.
    return secrets.token_urlsafe(16)[:21]


def _text(make: Callable[[], Any]) -> Callable[[], str]:
    return lambda: str(make())


@dataclass(frozen=True)
class Generator:
    """One ``default_fn``: what it gives, and what it gives for a property typed ``str``."""

    make: Callable[[], Any]
    make_text: Callable[[], Any]


#: Every ``default_fn`` odm knows, by name: the one table a new generator is added to
#: (model checks, model definitions and schemas read it).
GENERATORS: dict[str, Generator] = {
    "uuid": Generator(uuid.uuid1, _text(uuid.uuid1)),
    "guid": Generator(uuid.uuid1, _text(uuid.uuid1)),
    "uuidv4": Generator(uuid.uuid4, _text(uuid.uuid4)),
    "uuidv7": Generator(_uuid7, _text(_uuid7)),
    "now": Generator(now_utc_ms, now_utc_ms),
    "objectid": Generator(ObjectId, _text(ObjectId)),
    "nanoid": Generator(_nanoid, _nanoid),
}

#: Every ``default_fn`` name odm knows.
DEFAULT_FNS: frozenset[str] = frozenset(GENERATORS)


def make_generator(default_fn: str, as_text: bool) -> Callable[[], Any]:
    """The default factory of ``default_fn``; ``as_text`` when the property is typed ``str``.

    The factory gives ``None`` while odm loads stored documents, so a field missing in
    the database never gets a fresh value.
    """
    generator = GENERATORS[default_fn]
    raw = generator.make_text if as_text else generator.make

    def generate() -> Any:
        return None if loading.get() else raw()

    generate.__name__ = f"default_fn_{default_fn}"
    return generate
