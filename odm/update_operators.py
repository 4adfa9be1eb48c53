"""What each update operator may do to a property, so its value keeps the property's type
(the rules are listed in :mod:`odm.updates`, which calls :func:`operator_value` for each
path of each operator). Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .codec import encode_any, encode_value
from .errors import InvalidFilterError
from .filters import translate_where
from .keywords import ENFORCED_KEYWORDS
from .metadata import ID_FIELD, ModelMeta, PathInfo, PropertyMeta, meta_of
from .rules import name_problem, value_problem
from .types import TypeInfo, to_utc_ms
from .validation import (
    NAVIGATIONAL_MESSAGE,
    Problems,
    check_extras,
    check_names,
    check_storable,
)

__all__ = [
    "ABSENT",
    "BY_NAME",
    "INVALID",
    "increment_guard",
    "operator_value",
    "resolve_operator_path",
]

_NUMERIC = frozenset(["$inc", "$mul"])
_GROWING = frozenset(["$push", "$addToSet"])
_SHRINKING = frozenset(["$pull", "$pop", "$pullAll"])
# The keywords an operator could break without odm seeing the stored value.
_NUMERIC_KEYWORDS = frozenset(
    ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum"]
)
# The bounds an ``$inc`` keeps by matching only the documents whose result stays within
# them: keyword -> (the MongoDB comparison on the stored value, the side it limits).
_GUARDED_BOUNDS: dict[str, tuple[str, int]] = {
    "minimum": ("$gte", -1),
    "exclusiveMinimum": ("$gt", -1),
    "maximum": ("$lte", 1),
    "exclusiveMaximum": ("$lt", 1),
}
INVALID: Any = object()
# Written data names properties, never stored field names (those are for documents).
BY_NAME: dict[str, Any] = {"by_alias": False, "by_name": True}
ABSENT: Any = object()  # an operator that leaves the field out of an inserted document


def resolve_operator_path(
    meta: ModelMeta, path: Any, where: str, value: Any, problems: Problems
) -> PathInfo | None:
    """The property path ``path`` resolved, or None with the problem reported."""
    resolved = meta.resolve_path(path) if isinstance(path, str) else None
    if isinstance(path, str) and path.partition(".")[0] in meta.relations:
        problems.add(where, "navigational-property", f"{path!r} {NAVIGATIONAL_MESSAGE}", None)
        return None
    if resolved is None or not isinstance(path, str) or path.startswith("$"):
        problems.add(
            where, "unknown-property", f"{path!r} is not a property path of the model", None
        )
        return None
    bad = [reason for segment in path.split(".") if (reason := name_problem(segment))]
    if bad:
        # below a dict or Any every segment passes: "extra.$where", "extra..x"
        problems.add(where, "invalid-name", f"path {path!r} is not allowed ({bad[0]})", None)
        return None
    if _collides(meta, path):
        problems.add(
            where,
            "invalid-name",
            f"path {path!r} names a declared property's stored field; use its property name",
            None,
        )
        return None
    return resolved


def _collides(meta: ModelMeta, path: str) -> bool:
    """Whether a segment of ``path`` that is not a property name of its model is a
    declared property's field name or ``_id`` (``strict=False`` models pass such names)."""
    current: ModelMeta | None = meta
    for part in path.split("."):
        if current is None:
            return False
        prop = current.properties.get(part)
        if prop is None:
            if part.isdigit():
                continue
            return part in current.by_field or (part == ID_FIELD and current is not meta)
        models = prop.type.models
        current = meta_of(models[0]) if len(models) == 1 else None
    return False


def _keywords(prop: PropertyMeta | None) -> frozenset[str]:
    if prop is None:
        return frozenset()
    return frozenset(k for k in prop.options.json_schema if k in ENFORCED_KEYWORDS)


def _owner(resolved: PathInfo, path: str) -> tuple[PropertyMeta | None, list[str]]:
    """For a path that goes on past its last property into a dict or a list (``counts.x``,
    ``tags.0``): that property and the rest of the path; else (None, [])."""
    if resolved.property is not None or not resolved.chain:
        return None, []
    owner = resolved.chain[-1]
    if owner.type.kind not in ("dict", "list"):
        return None, []  # a strict=False model's extra, or below Any
    return owner, path.split(".")[len(resolved.chain) :]


def _target_type(resolved: PathInfo, path: str) -> TypeInfo:
    """The type of the value at ``path``, following list indexes and dict keys."""
    owner, rest = _owner(resolved, path)
    if owner is None:
        return resolved.type
    info: TypeInfo = owner.type
    for _ in rest:
        if info.kind in ("dict", "list") and info.item is not None:
            info = info.item
        else:
            return TypeInfo("any", True)
    return info


def _checked_type(resolved: PathInfo, path: str) -> bool:
    """Whether the value at ``path`` has a type odm checks (not below Any or an extra)."""
    return resolved.property is not None or _owner(resolved, path)[0] is not None


def _validated(resolved: PathInfo, path: str, value: Any) -> Any:
    """``value`` validated as the value at ``path``: by its property's validator, or (a
    path into a dict or a list) by the nearest property's validator on a wrapped value."""
    prop = resolved.property
    if prop is not None:
        return prop.adapter.validate_python(value, **BY_NAME)
    owner, rest = _owner(resolved, path)
    if owner is None:
        return value
    wrapped = value
    for part in reversed(rest):
        wrapped = [wrapped] if part.isdigit() else {part: wrapped}
    result = owner.adapter.validate_python(wrapped, **BY_NAME)
    for part in rest:
        result = next(iter(result)) if part.isdigit() else result[part]
    return result


def operator_value(
    meta: ModelMeta,
    operator: str,
    path: str,
    resolved: PathInfo,
    value: Any,
    where: str,
    problems: Problems,
) -> tuple[Any, Any]:
    """The BSON value an operator sends, and the value it gives an inserted document."""
    info = _target_type(resolved, path)
    prop = resolved.property
    try:
        if operator == "$unset":
            return _unset(resolved, path, value, where, problems)
        if operator == "$currentDate":
            return _current_date(info, value, where, problems)
        if operator in _NUMERIC:
            return _numeric(operator, info, prop, value, where, problems)
        if operator in _GROWING or operator in _SHRINKING:
            return _array(meta, operator, path, resolved, info, value, where, problems)
        # $set, $min, $max: one value of the property's type
        if not _checked_type(resolved, path):
            return check_names(value, where, problems), value
        checked = _validated(resolved, path, value)
    except PydanticValidationError as error:
        problems.add_pydantic(error, prefix=where)
        return INVALID, ABSENT
    return _encoded(info, checked, where, problems), checked


def _encoded(info: TypeInfo, checked: Any, where: str, problems: Problems) -> Any:
    """The BSON form of a validated value, or INVALID when MongoDB cannot hold it (names,
    64-bit integers, UTF-8, Decimal128) or it collides with declared field names."""
    before = len(problems.details)
    checked = check_names(checked, where, problems)
    check_extras(checked, where, problems)
    check_storable(checked, where, problems)
    return encode_value(info, checked) if len(problems.details) == before else INVALID


def _unset(
    resolved: PathInfo, path: str, value: Any, where: str, problems: Problems
) -> tuple[Any, Any]:
    prop = resolved.property
    if prop is not None and (prop.required or (not prop.has_default and not prop.nullable)):
        problems.add(where, "presence", "is required and cannot be removed", None)
        return INVALID, ABSENT
    if prop is None and any(part.isdigit() for part in path.split(".")):
        _validated(resolved, path, None)  # an array item is set to null, not removed
    return "", ABSENT


def _current_date(info: TypeInfo, value: Any, where: str, problems: Problems) -> tuple[Any, Any]:
    python = info.python
    is_date = info.kind == "scalar" and python is not None and issubclass(python, dt.date)
    if not is_date and info.kind != "any":
        problems.add(where, "type", "$currentDate needs a date property", value)
        return INVALID, ABSENT
    if value is True or value == {"$type": "date"}:
        now = to_utc_ms(dt.datetime.now(dt.UTC))
        is_day = python is not None and not issubclass(python, dt.datetime)
        return value, now.date() if is_day else now
    if info.kind == "any" and value == {"$type": "timestamp"}:
        return value, ABSENT
    problems.add(where, "type", "must be True or {'$type': 'date'}", value)
    return INVALID, ABSENT


def _numeric(
    operator: str,
    info: TypeInfo,
    prop: PropertyMeta | None,
    value: Any,
    where: str,
    problems: Problems,
) -> tuple[Any, Any]:
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        problems.add(where, "type", f"{operator} takes a number", value)
        return INVALID, ABSENT
    python = info.python
    if info.kind == "any":
        return encode_any(value), 0 * value if operator == "$mul" else value
    numeric = (
        info.kind == "scalar"
        and python is not None
        and not issubclass(python, bool)
        and issubclass(python, int | float | decimal.Decimal)
        and not info.literals
        and not (python is not int and issubclass(python, int))  # an IntEnum
    )
    if not numeric:
        problems.add(where, "type", f"{operator} needs a numeric property", value)
        return INVALID, ABSENT
    assert python is not None
    if issubclass(python, int) and not isinstance(value, int):
        problems.add(where, "type", f"{operator} of an integer property takes an integer", value)
        return INVALID, ABSENT
    if issubclass(python, float) and isinstance(value, decimal.Decimal):
        problems.add(
            where, "type", f"{operator} of a float property takes an int or a float", value
        )
        return INVALID, ABSENT
    if issubclass(python, decimal.Decimal) and isinstance(value, float):
        problems.add(
            where, "type", f"{operator} of a Decimal property takes an int or a Decimal", value
        )
        return INVALID, ABSENT
    bound = _keywords(prop) & _NUMERIC_KEYWORDS
    if operator == "$inc":  # bounds are kept by increment_guard's condition
        bound -= _GUARDED_BOUNDS.keys()
        if value == 0:
            bound = frozenset()
    elif value == 1:
        bound = frozenset()
    if bound:
        problems.add(
            where,
            "type",
            f"{operator} could break the property's {min(bound)} rule; set the value instead",
            value,
        )
        return INVALID, ABSENT
    problem = None
    if isinstance(value, int):
        problem = value_problem(value)
    if problem is not None:
        problems.add(where, "type", problem, value)
        return INVALID, ABSENT
    result = python(0) * value if operator == "$mul" else python(value)
    return encode_any(python(value) if python is decimal.Decimal else value), result


def _array(
    meta: ModelMeta,
    operator: str,
    path: str,
    resolved: PathInfo,
    info: TypeInfo,
    value: Any,
    where: str,
    problems: Problems,
) -> tuple[Any, Any]:
    if info.kind == "any":
        if operator == "$pop":
            return _pop(value, where, problems)
        return check_names(value, where, problems), ABSENT
    if info.kind != "list":
        problems.add(where, "type", f"{operator} needs a list property", None)
        return INVALID, ABSENT
    limit = "maxItems" if operator in _GROWING else "minItems"
    if limit in _keywords(resolved.property):
        problems.add(where, "type", f"{operator} could break the property's {limit} rule", None)
        return INVALID, ABSENT
    if operator == "$pop":
        return _pop(value, where, problems)
    is_mapping = isinstance(value, Mapping) and not isinstance(value, BaseModel)
    if operator == "$pull" and is_mapping:
        return _pull_condition(meta, path, resolved, value, where, problems), ABSENT
    if operator == "$pullAll":
        if not isinstance(value, list | tuple):
            problems.add(where, "type", "$pullAll takes a list of items", value)
            return INVALID, ABSENT
        return _encoded(info, _validated(resolved, path, list(value)), where, problems), ABSENT
    if operator in _GROWING and is_mapping and "$each" in value:
        items = value["$each"]
        if set(value) != {"$each"}:
            problems.add(where, "type", "only $each may wrap the items", None)
            return INVALID, ABSENT
        if not isinstance(items, list | tuple):
            problems.add(where, "type", "$each takes a list", items)
            return INVALID, ABSENT
        checked = _validated(resolved, path, list(items))
        encoded = _encoded(info, checked, where, problems)
        if encoded is INVALID:
            return INVALID, ABSENT
        return {"$each": encoded}, list(checked)
    checked = _validated(resolved, path, [value])
    encoded = _encoded(info, checked, where, problems)
    if encoded is INVALID:
        return INVALID, ABSENT
    return next(iter(encoded)), (list(checked) if operator in _GROWING else ABSENT)


def _pop(value: Any, where: str, problems: Problems) -> tuple[Any, Any]:
    if isinstance(value, bool) or value not in (1, -1):
        problems.add(where, "type", "$pop takes 1 (the last item) or -1 (the first)", value)
        return INVALID, ABSENT
    return value, ABSENT


def _pull_condition(
    meta: ModelMeta,
    path: str,
    resolved: PathInfo,
    condition: Mapping[str, Any],
    where: str,
    problems: Problems,
) -> Any:
    """A ``$pull`` condition is a query on the array's items, translated as a filter is:
    a where clause on the items' model, else the operators of the property itself
    (names mapped, values coerced; server-side JavaScript refused)."""
    item = resolved.type.item
    try:
        if item is not None and item.kind == "model" and item.model is not None:
            item_meta = meta_of(item.model)
            assert item_meta is not None
            return translate_where(item_meta, condition, allow_extended_operators=True)
        query = translate_where(meta, {path: condition}, allow_extended_operators=True)
    except InvalidFilterError as error:
        problems.add(where, "invalid-condition", f"{error.reason} (at {error.path})", None)
        return INVALID
    if set(query) != {resolved.field_path}:
        problems.add(where, "invalid-condition", "conflicting operators in one condition", None)
        return INVALID
    return query[resolved.field_path]


def increment_guard(prop: PropertyMeta | None, step: Any) -> dict[str, Any] | None:
    """The condition on the stored value under which ``$inc`` by ``step`` keeps the
    property's ``minimum``/``maximum`` (exclusive or not): ``{"$gte": 2}`` for a step of
    -3 on ``minimum: 5``. None when the step cannot break a bound."""
    condition: dict[str, Any] = {}
    if (
        prop is None
        or isinstance(step, bool)
        or not isinstance(step, int | float | decimal.Decimal)
    ):
        return None
    for keyword, (comparison, side) in _GUARDED_BOUNDS.items():
        limit = prop.options.json_schema.get(keyword)
        if isinstance(limit, int | float) and not isinstance(limit, bool) and step * side > 0:
            if isinstance(step, decimal.Decimal):
                condition[comparison] = encode_any(decimal.Decimal(str(limit)) - step)
            else:
                condition[comparison] = limit - step
    return condition or None
