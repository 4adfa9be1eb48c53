"""Declared indexes against the database's: the pure diff a migration carries out.

A declared index is matched to an existing one by name first, then by keys. The same
name or the same keys with other options is a *conflict* (the server would refuse to
create it); the same keys and options under another name count as *existing* (the
server would refuse a second copy too). The ``_id_`` index is never compared, reported
or dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .specs import IndexSpec, difference, same, same_keys

__all__ = ["IndexConflict", "IndexMatch", "IndexPlan", "diff"]

_ID_INDEX = "_id_"


@dataclass(frozen=True)
class IndexMatch:
    """A declared index found in the database (``found.name`` may differ)."""

    declared: IndexSpec
    found: IndexSpec


@dataclass(frozen=True)
class IndexConflict:
    """A declared index whose name or keys are taken by an index with other options."""

    declared: IndexSpec
    found: IndexSpec
    reason: str


@dataclass
class IndexPlan:
    """What :func:`diff` found: indexes to create, already there, in conflict, extra."""

    create: list[IndexSpec] = field(default_factory=list)
    existing: list[IndexMatch] = field(default_factory=list)
    conflicting: list[IndexConflict] = field(default_factory=list)
    extra: list[IndexSpec] = field(default_factory=list)


def diff(
    declared: Sequence[IndexSpec], existing_information: Mapping[str, Mapping[str, Any]]
) -> IndexPlan:
    """Compare declared indexes with ``index_information()``; see the module docstring."""
    unclaimed = {
        name: IndexSpec.from_information(name, information)
        for name, information in existing_information.items()
        if name != _ID_INDEX
    }
    plan = IndexPlan()
    pending: list[IndexSpec] = []
    for spec in declared:
        found = unclaimed.pop(spec.name, None)
        if found is None:
            pending.append(spec)
            continue
        reason = difference(spec, found)
        if reason is None:
            plan.existing.append(IndexMatch(spec, found))
        else:
            plan.conflicting.append(IndexConflict(spec, found, reason))
    for spec in pending:
        with_keys = [found for found in unclaimed.values() if same_keys(spec, found)]
        identical = next((found for found in with_keys if same(spec, found)), None)
        if identical is not None:
            del unclaimed[identical.name]
            plan.existing.append(IndexMatch(spec, identical))
        elif with_keys:
            found = with_keys[0]
            del unclaimed[found.name]
            reason = difference(spec, found) or "the same keys"
            plan.conflicting.append(IndexConflict(spec, found, f"{found.name!r}: {reason}"))
        else:
            plan.create.append(spec)
    plan.extra = list(unclaimed.values())
    return plan
