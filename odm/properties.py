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
from typing import Any

from bson import ObjectId
from pydantic import Field
from pydantic_core import PydanticUndefined

__all__ = ["DEFAULT_FNS", "PropertyOptions", "loading", "make_generator", "now_utc_ms", "prop"]

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


def prop(
    default: Any = PydanticUndefined,
    *,
    default_factory: Callable[[], Any] | None = None,
    default_fn: str | None = None,
    id: bool = False,
    generated: bool = False,
    required: bool = False,
    nullable: bool | None = None,
    hidden: bool = False,
    field_name: str | None = None,
    index: bool | Mapping[str, Any] | None = None,
    unique: bool = False,
    description: str | Sequence[str] | None = None,
    json_schema: Mapping[str, Any] | None = None,
    **field_options: Any,
) -> Any:
    """Declare a property's options.

    >>> class Customer(Entity):
    ...     email: str = prop(unique=True, json_schema={"format": "email"})
    ...     created: datetime = prop(default_fn="now", field_name="createdAt")

    Extra keyword arguments go to ``pydantic.Field`` unchanged.
    """
    if description is not None and not isinstance(description, str):
        description = " ".join(description)
    options = PropertyOptions(
        id=id,
        generated=generated,
        required=required,
        nullable=nullable,
        hidden=hidden,
        field_name=field_name,
        index=index,
        unique=unique,
        description=description,
        json_schema=dict(json_schema or {}),
        default_fn=default_fn,
    )
    if default_factory is not None:
        info = Field(default_factory=default_factory, description=description, **field_options)
    else:
        info = Field(default, description=description, **field_options)
    info.metadata.append(options)
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


_UUIDS: dict[str, Callable[[], uuid.UUID]] = {
    "uuid": uuid.uuid1,
    "guid": uuid.uuid1,
    "uuidv4": uuid.uuid4,
    "uuidv7": _uuid7,
}

#: Every ``default_fn`` name odm knows.
DEFAULT_FNS: frozenset[str] = frozenset([*_UUIDS, "now", "objectid", "nanoid"])


def make_generator(default_fn: str, as_text: bool) -> Callable[[], Any]:
    """The default factory of ``default_fn``; ``as_text`` when the property is typed ``str``.

    The factory gives ``None`` while odm loads stored documents, so a field missing in
    the database never gets a fresh value.
    """
    raw: Callable[[], Any]
    if default_fn in _UUIDS:
        make_uuid = _UUIDS[default_fn]
        raw = (lambda: str(make_uuid())) if as_text else make_uuid
    elif default_fn == "objectid":
        raw = (lambda: str(ObjectId())) if as_text else ObjectId
    elif default_fn == "nanoid":
        raw = _nanoid
    elif default_fn == "now":
        raw = now_utc_ms
    else:
        raise ValueError(default_fn)

    def generate() -> Any:
        return None if loading.get() else raw()

    generate.__name__ = f"default_fn_{default_fn}"
    return generate
