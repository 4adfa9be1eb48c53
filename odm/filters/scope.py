"""The default scope: how a call's filter merges with it, and the create defaults its
equalities give.

Under a scope the wheres are AND-ed, ``limit`` is the smaller of the two, and ``order``,
``skip`` and ``fields`` are the call's when given, else the scope's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from ..errors import InvalidFilterError
from ..metadata import ID_FIELD, ModelMeta, PropertyMeta
from .query import normalize_filter
from .values import _SEQUENCES, _adapter_for, _join, _show, _type_name
from .where import OPERATORS

__all__ = ["merge_scope", "scope_defaults"]


def _merge(base: dict[str, Any], call: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The default scope's rules on normalized filters, and the keys taken from the call."""
    merged: dict[str, Any] = {}
    from_call: set[str] = set()
    if "where" in base and "where" in call:
        merged["where"] = {"and": [base["where"], call["where"]]}
    elif "where" in base or "where" in call:
        merged["where"] = call.get("where", base.get("where"))
    limits = [n for n in (base.get("limit"), call.get("limit")) if n is not None]
    if limits:
        merged["limit"] = min(limits)
    for key in ("order", "skip", "fields"):
        if key in call:
            merged[key] = call[key]
            from_call.add(key)
        elif key in base:
            merged[key] = base[key]
    return merged, from_call


def merge_scope(
    scope: Mapping[str, Any] | None, filter: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The LoopBack filter a call runs with under a default scope.

    The wheres are AND-ed, ``limit`` is the smaller of the two, ``order``, ``skip`` and
    ``fields`` are the call's when given, else the scope's. ``offset`` becomes ``skip``;
    ``limit`` and ``skip`` come out as ints.

    >>> merge_scope({"where": {"deleted": False}, "limit": 100}, {"limit": "10", "skip": 5})
    {'where': {'deleted': False}, 'limit': 10, 'skip': 5}
    """
    merged, _ = _merge(normalize_filter(scope, "scope"), normalize_filter(filter, ""))
    return merged


def scope_defaults(meta: ModelMeta, scope: Mapping[str, Any] | None) -> dict[str, Any]:
    """Property -> value for the scalar equalities of the scope's where.

    They are create defaults, and writes that set another value conflict with the scope.
    Top-level properties only, found at the top of the where or inside (nested) ``and``
    lists; values are coerced to the property's type (Python values, not BSON).

    >>> scope_defaults(meta, {"where": {"and": [{"deleted": False}, {"tenant": "a"}]}})
    {'deleted': False, 'tenant': 'a'}
    """
    defaults: dict[str, Any] = {}
    if scope:
        where = scope.get("where")
        if isinstance(where, Mapping):
            _collect_defaults(meta, where, "scope.where", defaults)
    return defaults


def _collect_defaults(
    meta: ModelMeta, where: Mapping[str, Any], path: str, defaults: dict[str, Any]
) -> None:
    for key, value in where.items():
        here = _join(path, key)
        if key in ("and", "$and"):
            if isinstance(value, _SEQUENCES):
                for index, clause in enumerate(value):
                    if isinstance(clause, Mapping):
                        _collect_defaults(meta, clause, _join(here, index), defaults)
            continue
        if not isinstance(key, str) or key.startswith("$") or "." in key or key in OPERATORS:
            continue
        if isinstance(value, Mapping):
            if len(value) != 1 or next(iter(value)) not in ("eq", "$eq"):
                continue
            value = next(iter(value.values()))
        if isinstance(value, (Mapping, *_SEQUENCES, set, frozenset, re.Pattern)):
            continue
        name = key
        if key == "id" and meta.id is not None and "id" not in meta.properties:
            name = meta.id.name
        prop = meta.properties.get(name)
        if prop is None and name == ID_FIELD and meta.id is not None:
            prop = meta.id
        if prop is None:
            if meta.strict is not False:
                raise InvalidFilterError(here, f"{meta.name} has no property {key!r}")
            defaults.setdefault(name, value)
            continue
        defaults.setdefault(prop.name, _python_value(meta, prop, value, here))


def _python_value(meta: ModelMeta, prop: PropertyMeta, value: Any, path: str) -> Any:
    if value is None:
        return None
    adapter = _adapter_for(prop.type)
    if adapter is None:
        return value
    try:
        return adapter.validate_python(value)
    except PydanticValidationError:
        raise InvalidFilterError(
            path,
            f"{meta.name}.{prop.name}: {_show(value)} is not a valid {_type_name(prop.type)}",
        ) from None
