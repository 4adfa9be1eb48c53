"""The default scope: how a call's filter merges with it, and the create defaults its
equalities give.

Under a scope the wheres are AND-ed, ``limit`` is the smaller of the two, and ``order``,
``skip`` and ``fields`` are the call's when given, else the scope's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .query import normalize_filter

__all__ = ["merge_scope"]


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
