"""LoopBack's ``relations`` key of a model definition, in and out.

``{"orders": {"type": "hasMany", "model": "Order", "foreignKey": "customer_id"}}``;
``belongsTo``/``referencesMany`` name the source's key as ``foreignKey``, ``hasMany``
with ``through`` (and ``keyThrough``) is a ``has_many_through`` relation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ForwardRef, Optional

from pydantic import BaseModel

from ..errors import ModelDefinitionError
from .declarations import (
    belongs_to,
    has_many,
    has_many_through,
    has_one,
    references_many,
)

__all__ = ["MODELS_ATTRIBUTE", "complete_waiting", "relation_fields", "remember_models"]

#: the class attribute of a defined model: the models its relations' names resolve to
MODELS_ATTRIBUTE = "__odm_relation_models__"
_KEYS = frozenset(["type", "model", "foreignKey", "through", "keyThrough", "primaryKey"])
_TYPES = ("hasMany", "hasOne", "belongsTo", "referencesMany")


def relation_fields(
    model: str, relations: Any, known: Mapping[str, type[BaseModel]]
) -> dict[str, tuple[Any, Any]]:
    """The navigational fields (annotation, field) of a definition's ``relations``."""
    if relations is None:
        return {}
    if not isinstance(relations, Mapping):
        raise ModelDefinitionError(f"{model}: 'relations' maps relation names to definitions")
    fields: dict[str, tuple[Any, Any]] = {}
    for name, spec in relations.items():
        where = f"{model}.relations.{name}"
        if not isinstance(spec, Mapping) or set(spec) - _KEYS:
            raise ModelDefinitionError(
                f"{where}: a relation is a mapping with keys {', '.join(sorted(_KEYS))}"
            )
        kind, target = spec.get("type"), spec.get("model")
        if kind not in _TYPES or not isinstance(target, str):
            raise ModelDefinitionError(
                f"{where}: give 'type' (one of {', '.join(_TYPES)}) and 'model' (a model name)"
            )
        key = spec.get("foreignKey")
        source_key = spec.get("primaryKey")
        annotation: Any = known.get(target) or ForwardRef(target)
        if kind in ("hasMany", "referencesMany"):
            annotation = list[annotation]
        if kind == "hasMany" and spec.get("through") is not None:
            field = has_many_through(
                through=spec["through"],
                key_to=key,
                key_through=spec.get("keyThrough"),
                key_from=source_key,
            )
        elif kind == "hasMany":
            field = has_many(key_to=key, key_from=source_key)
        elif kind == "hasOne":
            field = has_one(key_to=key, key_from=source_key)
        elif kind == "belongsTo":
            field = belongs_to(key_from=key, key_to=source_key)
        else:
            field = references_many(key_from=key, key_to=source_key)
        fields[name] = (Optional[annotation], field)  # noqa: UP045
    return fields


def remember_models(cls: type[Any], models: Callable[[], Mapping[str, Any]]) -> None:
    """Keep where a defined class's relation targets are looked up (resolved later)."""
    type.__setattr__(cls, MODELS_ATTRIBUTE, models)


def complete_waiting(models: Mapping[str, type[Any]]) -> None:
    """Rebuild the defined classes whose relations wait for a model just defined (a
    relation may name a model defined later, as a forward reference)."""
    for cls in models.values():
        found = getattr(cls, MODELS_ATTRIBUTE, None)
        if callable(found) and not cls.__pydantic_complete__:
            cls.model_rebuild(
                raise_errors=False, _parent_namespace_depth=0, _types_namespace=dict(found())
            )
