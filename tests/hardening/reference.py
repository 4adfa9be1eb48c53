"""An in-Python reference of odm's filter semantics (SPEC §5 on MongoDB's rules), written
from the specification and not from odm's translator, for the differential tests.

Rows are dicts of property values; a field that is not stored at all (``$unset``) is
absent from the dict. Only what the differential tests generate is covered: the
properties of ``models.Row``, one level of embedded document (``spot.city``), arrays of
strings, and every LoopBack operator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

# MongoDB's sort order of the BSON types the differential rows hold.
_TYPE_RANK = {"null": 1, "number": 2, "string": 3, "object": 4, "array": 5, "bool": 8}


def type_class(value: Any) -> str:
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    raise TypeError(f"no reference semantics for {value!r}")


def lookup(row: Mapping[str, Any], path: str) -> Any:
    """The value at a property path; MISSING when a part is absent or not a document."""
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def same(a: Any, b: Any) -> bool:
    """BSON equality: numbers compare across int/float, a bool is never a number."""
    if type_class(a) != type_class(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def equals(value: Any, target: Any) -> bool:
    """``{p: target}``: None matches null and missing; an array matches when it equals the
    target or holds an element equal to it."""
    if target is None:
        if value is None or value is MISSING:
            return True
        return isinstance(value, list) and any(item is None for item in value)
    if isinstance(value, list):
        return same(value, target) or any(same(item, target) for item in value)
    return value is not MISSING and same(value, target)


def compare(operator: str, value: Any, target: Any) -> bool:
    """``gt``/``gte``/``lt``/``lte``: only within one BSON type class (numbers together);
    ``gte``/``lte`` null match null and missing; an array matches by any element."""
    if isinstance(value, list) and not isinstance(target, list):
        return any(compare(operator, item, target) for item in value)
    if target is None:
        return operator in ("gte", "lte") and (value is None or value is MISSING)
    if value is MISSING or value is None or type_class(value) != type_class(target):
        return False
    if operator == "gt":
        return bool(value > target)
    if operator == "gte":
        return bool(value >= target)
    if operator == "lt":
        return bool(value < target)
    return bool(value <= target)


def like(pattern: str, text: str, *, ignore_case: bool) -> bool:
    """SQL LIKE over the whole value (``%`` any run, ``_`` one character, ``\\`` escapes);
    a value with one trailing newline matches as if it had none (PCRE's ``$``)."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    regex = re.compile("".join(parts), flags)
    return bool(regex.fullmatch(text)) or (text.endswith("\n") and bool(regex.fullmatch(text[:-1])))


def regexp(pattern: str, text: str) -> bool:
    flags = 0
    if pattern.startswith("/") and pattern.rfind("/") > 0:
        body, _, letters = pattern[1:].rpartition("/")
        pattern = body
        flags |= re.IGNORECASE if "i" in letters else 0
        flags |= re.MULTILINE if "m" in letters else 0
        flags |= re.DOTALL if "s" in letters else 0
    return re.search(pattern, text, flags) is not None


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return [value] if isinstance(value, str) else []


def condition_holds(value: Any, condition: Any) -> bool:
    if not (isinstance(condition, Mapping) and condition):
        return equals(value, condition)
    for operator, argument in condition.items():
        if operator == "eq":
            holds = equals(value, argument)
        elif operator == "neq":
            holds = not equals(value, argument)
        elif operator in ("gt", "gte", "lt", "lte"):
            holds = compare(operator, value, argument)
        elif operator == "inq":
            holds = any(equals(value, item) for item in argument)
        elif operator == "nin":
            holds = not any(equals(value, item) for item in argument)
        elif operator == "between":
            # $gte and $lte: on an array each may hold for a different element
            low, high = argument
            holds = compare("gte", value, low) and compare("lte", value, high)
        elif operator in ("like", "ilike", "nlike", "nilike"):
            ignore_case = operator in ("ilike", "nilike")
            found = any(like(argument, text, ignore_case=ignore_case) for text in _strings(value))
            holds = not found if operator.startswith("n") else found
        elif operator == "regexp":
            holds = any(regexp(argument, text) for text in _strings(value))
        elif operator == "exists":
            holds = (value is not MISSING) == bool(argument)
        else:
            raise ValueError(f"no reference semantics for operator {operator!r}")
        if not holds:
            return False
    return True


def matches(row: Mapping[str, Any], where: Mapping[str, Any] | None) -> bool:
    """Whether ``row`` satisfies the LoopBack where clause."""
    for key, condition in (where or {}).items():
        if key == "and":
            holds = all(matches(row, clause) for clause in condition)
        elif key == "or":
            holds = any(matches(row, clause) for clause in condition)
        elif key == "nor":
            holds = not any(matches(row, clause) for clause in condition)
        else:
            holds = condition_holds(lookup(row, key), condition)
        if not holds:
            return False
    return True


def _sort_key(value: Any) -> tuple[int, Any]:
    kind = type_class(value)
    return (_TYPE_RANK[kind], None if kind == "null" else value)


def order(rows: Sequence[Mapping[str, Any]], items: Sequence[tuple[str, int]]) -> list[Any]:
    """Rows sorted by ``(property, 1 | -1)`` items, MongoDB's type order (null first)."""
    ordered = list(rows)
    for path, direction in reversed(items):
        ordered.sort(key=lambda row, p=path: _sort_key(lookup(row, p)), reverse=direction < 0)
    return ordered
