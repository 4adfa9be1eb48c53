"""The parts of a filter besides where: order, fields, limit and skip, checked and made
canonical; and the :class:`Query` a translated filter becomes.

Order and fields name properties as where does (through :mod:`.values`); what an order
may reveal is asked of :mod:`odm.hidden`. No error message lists hidden names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from ..errors import InvalidFilterError
from ..hidden import HIDDEN_REASON, path_holds_hidden, path_is_hidden
from ..metadata import ID_FIELD, ModelMeta
from ..rules import MAX_INT64
from .values import _SEQUENCES, _check_path, _join, _refuse_field_name, _show, _target
from .where import _flag, check_depth

__all__ = [
    "FILTER_KEYS",
    "Condition",
    "Filter",
    "Query",
    "Where",
    "count_part",
    "normalize_filter",
    "projection_spec",
    "sort_spec",
]


class Condition(TypedDict, total=False):
    """The operators of one property's condition, for IDEs (``{"age": {"gte": 18}}``)."""

    eq: Any
    neq: Any
    gt: Any
    gte: Any
    lt: Any
    lte: Any
    inq: Sequence[Any]
    nin: Sequence[Any]
    between: Sequence[Any]
    like: str
    nlike: str
    ilike: str
    nilike: str
    regexp: Any
    exists: bool


#: A where clause's logical keys, for IDEs; property conditions are any other key
#: (``{"name": "x"}``, ``{"age": Condition}``), so signatures take
#: ``Where | Mapping[str, Any]``.
Where = TypedDict(
    "Where",
    {
        "and": "Sequence[Where | Mapping[str, Any]]",
        "or": "Sequence[Where | Mapping[str, Any]]",
        "nor": "Sequence[Where | Mapping[str, Any]]",
    },
    total=False,
)


class Filter(TypedDict, total=False):
    """A LoopBack filter, for IDEs: every key it may have."""

    where: Where | Mapping[str, Any]
    fields: Sequence[str] | Mapping[str, bool] | str
    order: str | Sequence[str]
    limit: int | str
    skip: int | str
    offset: int | str
    include: Any


@dataclass(frozen=True)
class Query:
    """A translated filter, ready for the driver.

    ``projection`` is None for whole documents, else ``{field: 1, ...}`` or
    ``{field: 0, ...}`` (``_id`` is always returned); ``sort`` is None for the natural
    order; ``limit`` is None for no limit.
    """

    where: dict[str, Any]
    projection: dict[str, int] | None
    sort: list[tuple[str, int]] | None
    skip: int
    limit: int | None


#: The keys a filter may have.
FILTER_KEYS = frozenset(["where", "fields", "order", "limit", "skip", "offset", "include"])

_ORDER_ITEM = re.compile(r"\s*(\S+)(?:\s+(\S+))?\s*")
_DIRECTIONS = {"ASC": 1, "DESC": -1}


def _field_of(meta: ModelMeta, name: str, path: str) -> tuple[str, bool]:
    """The field path of a property path in order/fields, and whether sorting by it can
    reveal a hidden field (it names one, or its values hold one)."""
    if any(segment.startswith("$") for segment in name.split(".")):
        raise InvalidFilterError(path, f"{name!r}: names starting with '$' are not properties")
    _check_path(name, path)
    _refuse_field_name(meta, name, path)
    found = _target(meta, name)
    if found is not None:
        return found.field, found.hidden or found.holds_hidden
    if meta.strict is False:
        return name, path_is_hidden(meta, name) or path_holds_hidden(meta, name)
    known = ", ".join(n for n, p in meta.properties.items() if not p.hidden)
    raise InvalidFilterError(path, f"{meta.name} has no property {name!r}; known: {known}")


def _order_items(order: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(order, str):
        items: Iterable[Any] = order.split(",")
        if not order.strip():
            return []
    elif isinstance(order, _SEQUENCES):
        items = [part for item in order for part in _split_order(item, path)]
    else:
        raise InvalidFilterError(
            path, f"order is a string like 'created DESC, name' or a list, not {_show(order)}"
        )
    return [(item, _join(path, i)) for i, item in enumerate(items)]


def _split_order(item: Any, path: str) -> list[str]:
    if not isinstance(item, str):
        raise InvalidFilterError(
            path, f"an order item is a string like 'name DESC', not {_show(item)}"
        )
    return item.split(",")


def sort_spec(
    meta: ModelMeta, order: Any, *, prohibit_hidden: bool = False
) -> list[tuple[str, int]] | None:
    """The MongoDB sort of a LoopBack ``order`` (None when there is none).

    >>> sort_spec(Customer.odm_meta(), "created DESC, name")
    [('createdAt', -1), ('name', 1)]
    """
    return _sort(meta, order, "order", prohibit_hidden)


def _sort(
    meta: ModelMeta, order: Any, path: str, prohibit_hidden: bool
) -> list[tuple[str, int]] | None:
    if order is None:
        return None
    sort: list[tuple[str, int]] = []
    seen: set[str] = set()
    for item, here in _order_items(order, path):
        match = _ORDER_ITEM.fullmatch(item)
        if match is None:
            raise InvalidFilterError(here, f"an order item is 'property [ASC|DESC]', not {item!r}")
        name, word = match.groups()
        direction = _DIRECTIONS.get(word.upper() if word else "ASC")
        if direction is None:
            raise InvalidFilterError(here, f"order direction is ASC or DESC, not {word!r}")
        field_path, hidden = _field_of(meta, name, here)
        if hidden and prohibit_hidden:
            raise InvalidFilterError(here, HIDDEN_REASON)
        if field_path in seen:
            raise InvalidFilterError(here, f"{name!r} appears twice in order")
        seen.add(field_path)
        sort.append((field_path, direction))
    return sort or None


def projection_spec(meta: ModelMeta, fields: Any) -> dict[str, int] | None:
    """The MongoDB projection of a LoopBack ``fields`` (None: whole documents).

    ``["email", "name"]`` or ``{"email": True, "name": True}`` include, ``{"password":
    False}`` excludes; mixing both is refused. The id is always returned: excluding it is
    ignored.

    >>> projection_spec(Customer.odm_meta(), {"password": False})
    {'password': 0}
    """
    return _projection(meta, fields, "fields")


def _projection(meta: ModelMeta, fields: Any, path: str) -> dict[str, int] | None:
    if fields is None:
        return None
    wanted: list[tuple[str, bool, str]] = []
    if isinstance(fields, str):
        fields = [name.strip() for name in fields.split(",") if name.strip()]
    if isinstance(fields, _SEQUENCES):
        for index, name in enumerate(fields):
            if not isinstance(name, str) or not name:
                raise InvalidFilterError(
                    _join(path, index), f"a field is a property name, not {_show(name)}"
                )
            wanted.append((name, True, _join(path, index)))
    elif isinstance(fields, Mapping):
        for name, flag in fields.items():
            here = _join(path, name)
            if not isinstance(name, str) or not name:
                raise InvalidFilterError(here, f"a field is a property name, not {_show(name)}")
            wanted.append((name, _flag(flag, here), here))
    else:
        raise InvalidFilterError(
            path, f"fields is a list of names or an object of name: true|false, not {_show(fields)}"
        )
    if not wanted:
        return None
    include = wanted[0][1]
    if any(flag is not include for _, flag, _ in wanted):
        raise InvalidFilterError(
            path, "fields either includes (true) or excludes (false) properties, not both"
        )
    paths: list[str] = []
    for name, _, here in wanted:
        field_path, _hidden = _field_of(meta, name, here)
        if include or field_path != ID_FIELD:
            paths.append(field_path)
    chosen = set(paths)
    # A parent path already covers its children; MongoDB refuses both together.
    kept = [p for p in paths if not any(p[:i] in chosen for i, c in enumerate(p) if c == ".")]
    if not kept:
        return None
    value = 1 if include else 0
    return dict.fromkeys(kept, value)


def count_part(value: Any, path: str, minimum: int) -> int | None:
    """A filter's ``limit``/``skip``/``offset`` as an int (digits accepted), or None."""
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    if number is None or not minimum <= number <= MAX_INT64:
        name = path.rpartition(".")[2]
        raise InvalidFilterError(
            path, f"{name} must be an integer >= {minimum}, not {_show(value)}"
        )
    return number


def normalize_filter(filter: Mapping[str, Any] | None, path: str) -> dict[str, Any]:
    """A filter's parts checked and made canonical: where, fields, order, limit and skip
    (ints), each present only when given (not None)."""
    if filter is None:
        return {}
    check_depth(filter, path)
    if not isinstance(filter, Mapping):
        raise InvalidFilterError(path, f"a filter must be an object, not {_show(filter)}")
    unknown = [key for key in filter if key not in FILTER_KEYS]
    if unknown:
        raise InvalidFilterError(
            _join(path, unknown[0]),
            f"unknown filter key {unknown[0]!r}; allowed: {', '.join(sorted(FILTER_KEYS))}",
        )
    out: dict[str, Any] = {}
    where = filter.get("where")
    if where is not None:
        if not isinstance(where, Mapping):
            raise InvalidFilterError(
                _join(path, "where"), f"where must be an object, not {_show(where)}"
            )
        if where:
            out["where"] = where
    for key in ("fields", "order"):
        if filter.get(key) is not None:
            out[key] = filter[key]
    limit = count_part(filter.get("limit"), _join(path, "limit"), 1)
    if limit is not None:
        out["limit"] = limit
    skip = count_part(filter.get("skip"), _join(path, "skip"), 0)
    offset = count_part(filter.get("offset"), _join(path, "offset"), 0)
    if skip is not None and offset is not None and skip != offset:
        raise InvalidFilterError(
            _join(path, "offset"), "skip and offset are synonyms; give one of them"
        )
    if skip is not None or offset is not None:
        out["skip"] = skip if skip is not None else offset
    return out
