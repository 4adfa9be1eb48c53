"""The default scope on the write side: the scalar equalities of a scope's where by
property path (top level and dotted paths into embedded models), filled in as defaults on
create and compared on every other write, so no write moves a document out of the
scope. Pure: validation and the update translator report what is found here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .errors import InvalidFilterError
from .metadata import ID_FIELD, ModelMeta

__all__ = [
    "MISSING",
    "apply_scope_defaults",
    "scope_conflicts",
    "scope_values",
    "value_at",
]


def scope_values(
    meta: ModelMeta, scope: Mapping[str, Any] | None, *, coerce: bool = True
) -> dict[str, Any]:
    """Property path -> value for the scalar equalities of the scope's where, at any depth
    of embedded models (``owner.tenant``): defaults on create, conflicts on other writes.

    Found at the top of the where or inside (nested) ``and`` lists; values coerced to the
    property's type (unless not ``coerce``: raw values, for data validated later). Paths
    through lists are left out (an array matches when any item
    does, which is no single value to default or to keep).

    >>> scope_values(meta, {"where": {"and": [{"deleted": False}, {"owner.tenant": "a"}]}})
    {'deleted': False, 'owner.tenant': 'a'}
    """
    found: dict[str, Any] = {}
    where = (scope or {}).get("where")
    if isinstance(where, Mapping):
        _collect(meta, where, "scope.where", found, coerce)
    return found


def _collect(
    meta: ModelMeta, where: Mapping[str, Any], path: str, found: dict[str, Any], coerce: bool
) -> None:
    for key, value in where.items():
        here = f"{path}.{key}"
        if key in ("and", "$and"):
            if isinstance(value, list | tuple):
                for index, clause in enumerate(value):
                    if isinstance(clause, Mapping):
                        _collect(meta, clause, f"{here}.{index}", found, coerce)
            continue
        if not isinstance(key, str) or key.startswith("$") or key in ("or", "nor"):
            continue
        if isinstance(value, Mapping):
            if len(value) != 1 or next(iter(value)) not in ("eq", "$eq"):
                continue
            value = next(iter(value.values()))
        if isinstance(value, Mapping | list | tuple | set | frozenset) or hasattr(value, "pattern"):
            continue
        name = meta.id.name if key in ("id", ID_FIELD) and meta.id is not None else key
        if name not in meta.properties and meta.id is not None and key == "id":
            name = meta.id.name
        resolved = meta.resolve_path(name)
        if resolved is None:
            if meta.strict is not False:
                raise InvalidFilterError(here, f"{meta.name} has no property {key!r}")
            found.setdefault(name, value)  # an extra of a strict=False model
            continue
        if any(p.type.kind == "list" for p in resolved.chain[:-1]):
            continue
        prop = resolved.property
        if coerce and prop is not None and value is not None:
            try:
                value = prop.adapter.validate_python(value)
            except PydanticValidationError:
                raise InvalidFilterError(
                    here, f"{meta.name}.{name}: {value!r} is not a valid value"
                ) from None
        found.setdefault(name, value)


MISSING: Any = object()


def value_at(value: Any, path: str) -> Any:
    """The value at a property path of validated data (``MISSING`` when absent)."""
    for part in path.split("."):
        if isinstance(value, BaseModel):
            value = value.__dict__.get(part, MISSING)
        elif isinstance(value, Mapping):
            value = value.get(part, MISSING)
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def _with_default(value: Any, parts: list[str], default: Any) -> Any:
    """``value`` (a dict, an instance, or missing) with ``default`` at ``parts`` where the
    data gives nothing there."""
    head, rest = parts[0], parts[1:]
    if isinstance(value, BaseModel):
        if head in value.model_fields_set:
            if not rest:
                return value
            return value.model_copy(
                update={head: _with_default(value.__dict__.get(head), rest, default)}
            )
        if rest:
            return value.model_copy(update={head: _with_default(MISSING, rest, default)})
        return value.model_copy(update={head: default})
    if value is MISSING:
        value = {}
    if not isinstance(value, Mapping):
        return value  # None or a wrong type: reported as a conflict or a type error
    out = dict(value)
    if not rest:
        out.setdefault(head, default)
    else:
        out[head] = _with_default(out.get(head, MISSING), rest, default)
    return out


def apply_scope_defaults(raw: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Give ``raw`` (create or replace data, in place) the scope's values it lacks."""
    for path, expected in values.items():
        parts = path.split(".")
        if len(parts) == 1:
            raw.setdefault(path, expected)
        else:
            raw[parts[0]] = _with_default(raw.get(parts[0], MISSING), parts[1:], expected)


def scope_conflicts(values: Any, expected_values: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """``(path, message, value)`` for each scope path that ``values`` (validated data by
    property) sets to another value than the scope's; a path whose parent is set (to
    None, or to a document without it) conflicts too."""
    found: list[tuple[str, str, Any]] = []
    for path, expected in expected_values.items():
        top = path.split(".", 1)[0]
        present = top in values.__dict__ if isinstance(values, BaseModel) else top in values
        if not present:
            continue
        actual = value_at(values, path)
        if actual is MISSING or actual != expected:
            shown = "nothing" if actual is MISSING else repr(actual)
            message = f"must be {expected!r} in this repository's scope, not {shown}"
            found.append((path, message, None if actual is MISSING else actual))
    return found
