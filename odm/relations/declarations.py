"""``has_many()``, ``has_one()``, ``belongs_to()``, ``has_many_through()``,
``references_many()``: navigational properties declared as typed fields.

Each returns a pydantic field (default None, left out of ``model_dump()``/``to_json()``
while None) carrying a :class:`RelationOptions` in its metadata. The class compiler
(``odm.metadata``) keeps such fields out of the model's stored properties: they are
never encoded, never in the schema (unless asked for), never filterable; the target
model and the keys are resolved when the classes are complete (``odm.relations.metadata``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field
from pydantic.fields import FieldInfo

__all__ = [
    "RelationKind",
    "RelationOptions",
    "belongs_to",
    "has_many",
    "has_many_through",
    "has_one",
    "references_many",
    "relation_options",
]

RelationKind = Literal["has_many", "has_one", "belongs_to", "has_many_through", "references_many"]


@dataclass(frozen=True)
class RelationOptions:
    """A relation as declared: its kind and the keys given (None: LoopBack's default)."""

    kind: RelationKind
    key_to: str | None = None
    key_from: str | None = None
    key_through: str | None = None
    through: str | type[Any] | None = None


def _is_none(value: Any) -> bool:
    return value is None


def _field(options: RelationOptions) -> Any:
    info: FieldInfo = Field(default=None, exclude_if=_is_none)  # type: ignore[assignment]
    info.metadata.append(options)
    return info


def relation_options(info: FieldInfo) -> RelationOptions | None:
    """The relation a pydantic field declares, or None for an ordinary property."""
    for item in info.metadata:
        if isinstance(item, RelationOptions):
            return item
    return None


def has_many(*, key_to: str | None = None, key_from: str | None = None) -> Any:
    """Many targets whose ``key_to`` (``<source>_id``) holds this entity's ``key_from``
    (its id): ``orders: list[Order] | None = has_many()``."""
    return _field(RelationOptions("has_many", key_to=key_to, key_from=key_from))


def has_one(*, key_to: str | None = None, key_from: str | None = None) -> Any:
    """One target whose ``key_to`` (``<source>_id``) holds this entity's id:
    ``profile: Profile | None = has_one()``."""
    return _field(RelationOptions("has_one", key_to=key_to, key_from=key_from))


def belongs_to(*, key_from: str | None = None, key_to: str | None = None) -> Any:
    """The target whose ``key_to`` (its id) is this entity's ``key_from``
    (``<relation>_id``): ``customer: Customer | None = belongs_to()``."""
    return _field(RelationOptions("belongs_to", key_to=key_to, key_from=key_from))


def has_many_through(
    *,
    through: str | type[Any],
    key_to: str | None = None,
    key_through: str | None = None,
    key_from: str | None = None,
) -> Any:
    """Many targets linked by documents of the ``through`` entity (a class or a model
    name), whose ``key_to`` (``<source>_id``) holds this entity's id and whose
    ``key_through`` (``<target>_id``) a target's id:
    ``products: list[Product] | None = has_many_through(through="OrderLine")``."""
    return _field(
        RelationOptions(
            "has_many_through",
            key_to=key_to,
            key_from=key_from,
            key_through=key_through,
            through=through,
        )
    )


def references_many(*, key_from: str | None = None, key_to: str | None = None) -> Any:
    """The targets whose ids (``key_to``) are listed in this entity's ``key_from``
    (``<relation singular>_ids``):
    ``tags: list[Tag] | None = references_many(key_from="tag_ids")``."""
    return _field(RelationOptions("references_many", key_to=key_to, key_from=key_from))
