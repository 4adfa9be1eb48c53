"""MongoDB's rules, each stated once: what a stored name may be, what BSON can hold, and
the limits odm keeps hostile input within. Validation, filters, metadata and the codec
read these; none keeps a copy.

Nothing here knows about models; every function is pure and cheap.
"""

from __future__ import annotations

import decimal
from typing import Any

from bson import Decimal128

__all__ = [
    "ITERATE_BATCH_SIZE",
    "MAX_DATA_DEPTH",
    "MAX_DOCUMENT_SIZE",
    "MAX_FILTER_DEPTH",
    "MAX_INT64",
    "MIN_INT64",
    "decimal_fits",
    "depth_exceeds",
    "field_name_problem",
    "int_fits",
    "is_bad_name",
    "is_utf8",
    "name_problem",
    "value_problem",
]

#: Nesting allowed in written data (documents and arrays inside each other).
MAX_DATA_DEPTH = 100
#: Nesting allowed in a filter (``and``/``or`` lists, operator objects, embedded paths).
MAX_FILTER_DEPTH = 32
#: The largest document MongoDB stores (BSON bytes).
MAX_DOCUMENT_SIZE = 16 * 1024 * 1024

#: The documents per server batch ``Repository.iterate`` asks for unless told otherwise:
#: the driver holds one batch decoded at a time, so a stream's memory stays flat in the
#: number of results (a server's own first batches hold up to 16 MiB of BSON).
ITERATE_BATCH_SIZE = 1_000

MIN_INT64 = -(2**63)
MAX_INT64 = 2**63 - 1


def is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (a lone surrogate, as JSON's "\\ud800" gives,
    does not)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def name_problem(key: Any) -> str | None:
    """Why ``key`` cannot be the name of a stored field, or None when it can: a name is
    non-empty text, valid UTF-8, with no NUL byte, not starting with ``$``, without
    ``.``."""
    if not isinstance(key, str) or key.startswith("$") or "." in key:
        return "names may not start with '$' or contain '.'"
    if not key:
        return "names may not be empty"
    if "\x00" in key:
        return "names may not contain a NUL byte"
    if not is_utf8(key):
        return "names must be valid UTF-8 text"
    return None


def is_bad_name(key: Any) -> bool:
    """The fast form of :func:`name_problem` for the walk over clean data."""
    return (
        key.__class__ is not str
        or not key
        or key[0] == "$"
        or "." in key
        or "\x00" in key
        or not is_utf8(key)
    )


def field_name_problem(field_name: Any) -> str | None:
    """Why ``field_name`` cannot be a declared property's stored name (``field_name=`` /
    ``mongodb.fieldName``), or None."""
    return name_problem(field_name)


def int_fits(value: int) -> bool:
    """Whether an integer fits BSON's 64 bits."""
    return MIN_INT64 <= value <= MAX_INT64


def decimal_fits(value: decimal.Decimal) -> bool:
    """Whether a Decimal fits Decimal128 (34 significant digits, its exponent range)."""
    try:
        Decimal128(value)
    except decimal.DecimalException:
        return False
    return True


def value_problem(value: Any) -> str | None:
    """Why a scalar value cannot be stored in BSON, or None: integers beyond 64 bits,
    text that is not valid UTF-8, decimals beyond Decimal128."""
    kind = value.__class__
    if kind is str or isinstance(value, str):
        return None if is_utf8(value) else "is not valid UTF-8 text (a lone surrogate)"
    if isinstance(value, int) and not isinstance(value, bool):
        return None if int_fits(value) else "is beyond the 64-bit integers MongoDB stores"
    if isinstance(value, decimal.Decimal):
        return None if decimal_fits(value) else "has more digits than Decimal128 stores (34)"
    return None


def depth_exceeds(value: Any, limit: int = MAX_DATA_DEPTH) -> bool:
    """Whether ``value`` nests containers (mappings, lists, tuples, sets, pydantic models)
    deeper than ``limit`` levels. Iterative, so it never meets Python's recursion limit."""
    from pydantic import BaseModel

    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, BaseModel):
            children: Any = list(current.__dict__.values())
            if current.__pydantic_extra__:
                children.extend(current.__pydantic_extra__.values())
        elif isinstance(current, dict):
            children = current.values()
        elif isinstance(current, list | tuple | set | frozenset):
            children = current
        elif hasattr(current, "items") and hasattr(current, "keys"):
            children = [current[key] for key in current]
        else:
            continue
        if depth >= limit:
            return True
        for child in children:
            if isinstance(child, dict | list | tuple | set | frozenset | BaseModel) or (
                hasattr(child, "items") and hasattr(child, "keys")
            ):
                pending.append((child, depth + 1))
    return False
