"""The settings ``@model(...)`` accepts and what a model inherits: the settings layer of
``odm.metadata`` (which compiles them with the properties)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

__all__ = ["INHERITED", "SETTING_NAMES", "ModelSettings", "ModelSettingsDict", "Strict"]

Strict = bool | Literal["filter"]


class ModelSettingsDict(TypedDict, total=False):
    """The settings ``@model(...)`` accepts; a misspelt one is a type error for mypy and a
    ``ModelDefinitionError`` when the class is created."""

    #: the model name (JSON Schema title, definitions); the class name by default
    name: str
    description: str | None
    #: the MongoDB collection; the model name by default
    collection: str | None
    #: True (unknown properties refused), "filter" (dropped) or False (stored)
    strict: Strict
    #: properties stored and loaded but left out of JSON output (a union with the parent's)
    hidden_properties: Sequence[str]
    #: when the id is generated, callers may not supply it
    force_id: bool
    #: the default scope of every query: a filter (where, order, limit, skip, fields)
    scope: Mapping[str, Any] | None
    #: named scopes by name, each a filter like ``scope``: ``repo.scoped(name)`` applies one
    #: merged with the default scope (a subclass's own ``scopes`` replace the parent's)
    scopes: Mapping[str, Mapping[str, Any]]
    #: model-level indexes by name: ``{"keys": {path: 1 | -1 | "text" ...}, "options": ...}``
    indexes: Mapping[str, Mapping[str, Any]]
    #: maintain ``created_at``/``updated_at`` (True), or renamed: ``{"created": name,
    #: "updated": name}`` (None leaves one out); see ``odm.stamps``
    timestamps: bool | Mapping[str, str | bool | None]
    #: optimistic concurrency: an int ``version`` property (True) or one named so
    version: bool | str


#: The settings ``@model(...)`` accepts.
SETTING_NAMES: frozenset[str] = frozenset(ModelSettingsDict.__annotations__)
INHERITED: tuple[str, ...] = ("description", "collection", "strict", "force_id", "scope")
INHERITED += ("scopes", "timestamps", "version")


@dataclass(frozen=True)
class ModelSettings:
    """Model settings after inheritance (a subclass's own setting replaces the parent's,
    except ``hidden_properties`` and ``indexes``, which are unions)."""

    name: str
    description: str | None = None
    collection: str | None = None
    strict: Strict = True
    hidden_properties: tuple[str, ...] = ()
    force_id: bool = True
    scope: Mapping[str, Any] | None = None
    scopes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    indexes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    timestamps: bool | Mapping[str, str | bool | None] = False
    version: bool | str = False
