"""Timestamps and versions, declared: the properties ``@model(timestamps=...)`` and
``@model(version=...)`` maintain, checked and added when the class is compiled.

``timestamps=True`` maintains ``created_at`` and ``updated_at``; a mapping renames them
(``{"created": "created", "updated": "modified"}``, ``None`` or ``False`` leaves one
out). ``version=True`` maintains ``version``, ``version="rev"`` a property of that name.
A class may declare them itself (``created_at: datetime | None = None``, with
``prop(field_name=...)`` to map the field); one it does not declare is added, typed
``datetime | None`` (``int | None`` for the version), ``None`` until the entity is
stored. What a write does with them is :mod:`odm.versioning`'s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from pydantic.fields import FieldInfo

from .errors import ModelDefinitionError
from .properties import PropertyOptions
from .types import parse_type

__all__ = [
    "DEFAULT_CREATED",
    "DEFAULT_UPDATED",
    "DEFAULT_VERSION",
    "StampNames",
    "StampOptions",
    "stamp_names",
    "stamp_source",
]

DEFAULT_CREATED = "created_at"
DEFAULT_UPDATED = "updated_at"
DEFAULT_VERSION = "version"
_TIMESTAMP_KEYS = frozenset(["created", "updated"])


@dataclass(frozen=True)
class StampOptions(PropertyOptions):
    """The options of a timestamp or version property odm added (the class did not
    declare it): model definitions leave such a property out, the setting brings it."""


@dataclass(frozen=True)
class StampNames:
    """The property names a model's ``timestamps`` and ``version`` settings maintain."""

    created: str | None = None
    updated: str | None = None
    version: str | None = None

    def kinds(self) -> list[tuple[str, type]]:
        """(property name, Python type) of each maintained property."""
        found: list[tuple[str, type]] = [
            (name, datetime) for name in (self.created, self.updated) if name
        ]
        if self.version:
            found.append((self.version, int))
        return found


def _name(model: str, setting: str, value: Any, default: str) -> str | None:
    if value is True:
        return default
    if value is None or value is False:
        return None
    if not isinstance(value, str) or not value.isidentifier():
        raise ModelDefinitionError(
            f"{model}: {setting} names a property (an identifier), True or None, not {value!r}"
        )
    return value


def stamp_names(model: str, timestamps: Any, version: Any, *, entity: bool) -> StampNames:
    """The names the settings give, or ``ModelDefinitionError`` for a bad setting."""
    created = updated = None
    if isinstance(timestamps, Mapping):
        unknown = set(timestamps) - _TIMESTAMP_KEYS
        if unknown:
            raise ModelDefinitionError(
                f"{model}: unknown timestamps key(s) {sorted(unknown)}; "
                "allowed: 'created', 'updated'"
            )
        created = _name(
            model, "timestamps['created']", timestamps.get("created", True), DEFAULT_CREATED
        )
        updated = _name(
            model, "timestamps['updated']", timestamps.get("updated", True), DEFAULT_UPDATED
        )
    elif timestamps is True:
        created, updated = DEFAULT_CREATED, DEFAULT_UPDATED
    elif timestamps not in (False, None):
        raise ModelDefinitionError(
            f"{model}: timestamps is True, False or a mapping "
            f"{{'created': name, 'updated': name}}, not {timestamps!r}"
        )
    names = StampNames(created, updated, _name(model, "version", version, DEFAULT_VERSION))
    chosen = [name for name, _ in names.kinds()]
    if chosen and not entity:
        raise ModelDefinitionError(f"{model}: timestamps and version are for an odm.Entity")
    if len(set(chosen)) != len(chosen):
        raise ModelDefinitionError(
            f"{model}: the timestamps and version properties need distinct names ({chosen})"
        )
    return names


def stamp_source(model: str, name: str, kind: type, declared: FieldInfo | None) -> FieldInfo:
    """The field of a maintained property: the declared one made optional (``None``
    until stored, never required from a caller), or a new one when not declared."""
    if declared is None:
        source = FieldInfo(annotation=Optional[kind], default=None)  # type: ignore[arg-type]  # noqa: UP045
        source.metadata.append(StampOptions())
        source.json_schema_extra = {"readOnly": True}
        return source
    info = parse_type(declared.annotation)
    options = next(
        (m for m in reversed(declared.metadata) if isinstance(m, PropertyOptions)),
        PropertyOptions(),
    )
    wrong = info.python is not kind or info.kind in ("list", "dict", "model")
    if wrong or options.id or options.required or options.default_fn:
        shown = "datetime" if kind is datetime else "int"
        raise ModelDefinitionError(
            f"{model}.{name}: odm maintains this property (timestamps/version); declare it "
            f"as `{name}: {shown} | None = None` (prop(field_name=...) may map it), with no "
            "id, required or default_fn"
        )
    source = copy.copy(declared)
    source.metadata = list(declared.metadata)
    source.annotation = Optional[declared.annotation]  # type: ignore[assignment]  # noqa: UP045
    source.default = None
    source.default_factory = None
    extra = declared.json_schema_extra if isinstance(declared.json_schema_extra, dict) else {}
    source.json_schema_extra = {**extra, "readOnly": True}
    return source
