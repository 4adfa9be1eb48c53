"""LoopBack where clauses to MongoDB queries.

One :class:`_Translator` walks a where clause: property paths become field paths (through
:mod:`.values`), values are coerced to the property's type, operators translate by the
:data:`OPERATORS` table, and every refusal is an ``InvalidFilterError`` with the path of
the part and the reason. What a clause may reveal is asked of :mod:`odm.hidden`; the
depth limit is :data:`odm.rules.MAX_FILTER_DEPTH`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from ..codec import encode_any
from ..errors import InvalidFilterError
from ..hidden import HIDDEN_REASON, model_holds_hidden
from ..metadata import ModelMeta
from ..rules import MAX_FILTER_DEPTH, depth_exceeds
from .near import near_condition, refuse_inside_point
from .patterns import like_condition, regexp_condition
from .values import (
    _SEQUENCES,
    _TRUE_WORDS,
    _check_path,
    _join,
    _passthrough_target,
    _refuse_field_name,
    _show,
    _storable,
    _Target,
    _target,
)

__all__ = ["FORBIDDEN_OPERATORS", "OPERATORS", "Operator", "check_depth", "translate_where"]


Mode = Literal["logical", "one", "many", "pair", "like", "regexp", "flag", "not", "elem", "near"]


@dataclass(frozen=True, slots=True)
class Operator:
    """How one where operator translates.

    ``mode``: ``logical`` (a list of where clauses), ``one`` (one coerced value), ``many``
    (a list of coerced values), ``pair`` (``[low, high]``), ``like`` (an SQL pattern),
    ``regexp``, ``flag`` (a boolean), ``not`` and ``elem`` (an operator object or, for
    ``elem`` on documents, a where clause). ``extended``: a ``$`` operator, only with
    ``allow_extended_operators``.
    """

    mode: Mode
    mongo: str = ""
    negate: bool = False
    ignore_case: bool = False
    extended: bool = False


#: Every where operator odm translates, LoopBack's and the ``$`` ones it understands.
#: Other ``$`` operators pass unchanged when extended operators are allowed.
OPERATORS: dict[str, Operator] = {
    "and": Operator("logical", "$and"),
    "or": Operator("logical", "$or"),
    "nor": Operator("logical", "$nor"),
    "eq": Operator("one", "$eq"),
    "neq": Operator("one", "$ne"),
    "gt": Operator("one", "$gt"),
    "gte": Operator("one", "$gte"),
    "lt": Operator("one", "$lt"),
    "lte": Operator("one", "$lte"),
    "inq": Operator("many", "$in"),
    "nin": Operator("many", "$nin"),
    "between": Operator("pair"),
    "like": Operator("like"),
    "nlike": Operator("like", negate=True),
    "ilike": Operator("like", ignore_case=True),
    "nilike": Operator("like", negate=True, ignore_case=True),
    "regexp": Operator("regexp"),
    "exists": Operator("flag", "$exists"),
    "near": Operator("near"),  # with maxDistance, minDistance, unit: see .near
    "$and": Operator("logical", "$and", extended=True),
    "$or": Operator("logical", "$or", extended=True),
    "$nor": Operator("logical", "$nor", extended=True),
    "$eq": Operator("one", "$eq", extended=True),
    "$ne": Operator("one", "$ne", extended=True),
    "$gt": Operator("one", "$gt", extended=True),
    "$gte": Operator("one", "$gte", extended=True),
    "$lt": Operator("one", "$lt", extended=True),
    "$lte": Operator("one", "$lte", extended=True),
    "$in": Operator("many", "$in", extended=True),
    "$nin": Operator("many", "$nin", extended=True),
    "$all": Operator("many", "$all", extended=True),
    "$exists": Operator("flag", "$exists", extended=True),
    "$not": Operator("not", "$not", extended=True),
    "$elemMatch": Operator("elem", "$elemMatch", extended=True),
}

#: Keys refused at any depth of a filter, whatever the options: they run JavaScript on
#: the server.
FORBIDDEN_OPERATORS = frozenset(["$where", "$function", "$accumulator", "mapReduce"])


_LOOPBACK_OPERATORS = ", ".join(name for name, op in OPERATORS.items() if not op.extended)

#: ``$`` operators that may stand at the top of a clause under
#: ``prohibit_hidden_in_query`` on a model with hidden fields: they name no field.
#: Every other one (``$expr``, ``$jsonSchema``, ``$text``, ...) can reach any field, and
#: no safe analysis of its operand exists, so it is refused there.
_SAFE_TOP_OPERATORS = frozenset(["$comment"])
#: ``$`` operators on a field that never compare its value with one given: allowed on a
#: field that holds a hidden property under ``prohibit_hidden_in_query``.
_SAFE_FIELD_OPERATORS = frozenset(["$type", "$size"])
_REGEX_OPERATORS = frozenset(["$regex", "$options"])


_CONTAINERS = (dict, list, tuple)


def _shallow(where: Mapping[str, Any]) -> bool:
    """Whether ``where`` nests at most two levels (the common ``{p: v}`` and
    ``{p: {op: v}}``): the depth walk is skipped for those."""
    for value in where.values():
        if value.__class__ is dict:
            for inner in value.values():
                if inner.__class__ in _CONTAINERS:
                    return False
        elif value.__class__ in _CONTAINERS or isinstance(value, Mapping):
            return False
    return True


def check_depth(value: Any, path: str) -> None:
    """Refuse a filter part nested deeper than :data:`~odm.rules.MAX_FILTER_DEPTH`
    levels (objects and lists inside each other), before any recursive walk."""
    if isinstance(value, Mapping) and _shallow(value):
        return
    if depth_exceeds(value, MAX_FILTER_DEPTH):
        raise InvalidFilterError(
            path,
            f"the filter nests objects and lists more than {MAX_FILTER_DEPTH} levels deep "
            f"(the limit is {MAX_FILTER_DEPTH})",
        )


class _Translator:
    """One where translation: the model, the options, the root strict mode."""

    __slots__ = ("allow", "allow_regexp", "meta", "passthrough", "prohibit_hidden")

    def __init__(
        self, meta: ModelMeta, *, allow: bool, prohibit_hidden: bool, allow_regexp: bool = True
    ) -> None:
        self.meta = meta
        self.allow = allow
        self.prohibit_hidden = prohibit_hidden
        self.allow_regexp = allow_regexp
        self.passthrough = meta.strict is False

    def refuse_regexp(self, path: str) -> None:
        if not self.allow_regexp:
            raise InvalidFilterError(
                path,
                "regular expressions are refused: this repository was made with "
                "allow_regexp=False (use like or ilike)",
            )

    def refuse_hidden_operator(self, key: str, target: _Target | None, path: str) -> None:
        """Refuse, under ``prohibit_hidden``, a ``$`` operator sent as given that could
        test a hidden field: at the top of a clause any but ``$comment`` (``$expr``,
        ``$jsonSchema``, ... name fields freely) when the model holds a hidden field; on a
        field that holds one, any that compares its value."""
        if not self.prohibit_hidden:
            return
        if target is None:
            if key not in _SAFE_TOP_OPERATORS and model_holds_hidden(self.meta):
                raise InvalidFilterError(
                    path,
                    f"{key} can name any field, hidden ones included, and this repository "
                    "was made with prohibit_hidden_in_query=True",
                )
        elif key not in _SAFE_FIELD_OPERATORS and (target.hidden or target.holds_hidden):
            raise InvalidFilterError(path, HIDDEN_REASON)

    def refuse_dollar(self, key: str, path: str) -> None:
        if key in FORBIDDEN_OPERATORS:
            raise InvalidFilterError(path, f"{key} is never allowed in a filter")
        if not self.allow and key.startswith("$"):
            raise InvalidFilterError(
                path,
                f"{key}: keys starting with '$' need a repository made with "
                "allow_extended_operators=True",
            )

    def scan(self, value: Any, path: str) -> None:
        """Refuse forbidden keys (and ``$`` keys unless allowed) anywhere in ``value``."""
        if isinstance(value, Mapping):
            for key, item in value.items():
                here = _join(path, key)
                if isinstance(key, str):
                    for segment in key.split("."):  # "a.$where" too
                        self.refuse_dollar(segment, here)
                    if "." in key and any(s.startswith("$") for s in key.split(".")[1:]):
                        raise InvalidFilterError(
                            here, f"a path segment cannot start with '$' ({_show(key)})"
                        )
                self.scan(item, here)
        elif isinstance(value, (*_SEQUENCES, set, frozenset)):
            for index, item in enumerate(value):
                self.scan(item, _join(path, index))

    def passthrough_value(self, value: Any, path: str) -> Any:
        """An argument sent as given (an unlisted ``$`` operator's): scanned, BSON-encoded
        as an ``Any`` property's value is, and checked storable."""
        self.scan(value, path)
        try:
            encoded = encode_any(value)
        except ArithmeticError as error:  # Decimal128 refuses 35+ digits
            raise InvalidFilterError(
                path, f"{_show(value)} cannot be stored in MongoDB ({error!r})"
            ) from None
        return _storable(encoded, path)

    def clause(self, meta: ModelMeta, clause: Any, path: str) -> dict[str, Any]:
        if not isinstance(clause, Mapping):
            raise InvalidFilterError(path, f"a where clause must be an object, not {_show(clause)}")
        out: dict[str, Any] = {}
        extra: list[dict[str, Any]] = []
        for key, value in clause.items():
            here = _join(path, key)
            if not isinstance(key, str):
                raise InvalidFilterError(here, f"property names are strings, not {_show(key)}")
            op = OPERATORS.get(key)
            if op is not None and op.mode == "logical":
                if op.extended:
                    self.refuse_dollar(key, here)
                conditions = [(op.mongo, self.logical(meta, value, here))]
            elif key.startswith("$") or key in FORBIDDEN_OPERATORS:
                self.refuse_dollar(key, here)
                self.refuse_hidden_operator(key, None, here)
                conditions = [(key, self.passthrough_value(value, here))]
            else:
                target = self.target(meta, key, here)
                conditions = [(target.field, c) for c in self.condition(target, value, here)]
            for field_key, condition in conditions:
                if field_key in out:
                    extra.append({field_key: condition})
                else:
                    out[field_key] = condition
        return {"$and": [out, *extra]} if extra else out

    def logical(self, meta: ModelMeta, value: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(value, _SEQUENCES) or not value:
            raise InvalidFilterError(
                path, f"expected a non-empty list of where clauses, not {_show(value)}"
            )
        return [self.clause(meta, item, _join(path, i)) for i, item in enumerate(value)]

    def target(self, meta: ModelMeta, key: str, path: str) -> _Target:
        _check_path(key, path)
        if "$" in key:
            for segment in key.split("."):
                if segment.startswith("$"):  # an operator in a path is never a field
                    self.refuse_dollar(segment, path)
                    raise InvalidFilterError(
                        path, f"a path segment cannot start with '$' ({_show(segment)})"
                    )
        _refuse_field_name(meta, key, path)
        found = _target(meta, key)
        if "." in key:
            refuse_inside_point(meta, key, path)
        if found is None:
            if not self.passthrough:
                raise InvalidFilterError(
                    path,
                    f"{meta.name} has no property {key!r} (strict mode {self.meta.strict!r}); "
                    f"known: {', '.join(n for n, p in meta.properties.items() if not p.hidden)}",
                )
            found = _passthrough_target(meta, key)
        if found.hidden and self.prohibit_hidden:
            raise InvalidFilterError(path, HIDDEN_REASON)
        return found

    def condition(self, target: _Target, value: Any, path: str) -> list[Any]:
        """The MongoDB conditions on one field (several when operators collide)."""
        if isinstance(value, re.Pattern):
            self.refuse_regexp(path)
            return [regexp_condition(value, path)]
        if isinstance(value, Mapping):
            if "near" in value:
                return [near_condition(target, value, path)]
            if any(_is_operator(key) for key in value):
                groups = self.operators(target, value, path)
                if len(groups) == 1 and groups[0].keys() == {"$eq"}:
                    only = groups[0]["$eq"]
                    if not isinstance(only, re.Pattern):
                        return [only]
                return groups
            if not target.holds_documents:
                unknown = next(iter(value), None)
                if unknown is None:
                    raise InvalidFilterError(path, f"{target.label}: an empty operator object")
                raise InvalidFilterError(
                    _join(path, unknown),
                    f"unknown operator {unknown!r}; allowed: {_LOOPBACK_OPERATORS}",
                )
        return [self.value(target, value, path)]

    def value(self, target: _Target, value: Any, path: str) -> Any:
        if isinstance(value, (Mapping, *_SEQUENCES)):
            self.scan(value, path)
        if self.prohibit_hidden and target.holds_hidden:
            self.refuse_hidden_document(value, path)
        return _storable(target.coerce(value, path), path)

    def refuse_hidden_document(self, value: Any, path: str) -> None:
        """A whole document compares every property, hidden ones included (the default of
        one not given): an oracle of hidden values, refused when prohibited."""
        items = value if isinstance(value, _SEQUENCES) else [value]
        if any(isinstance(item, (Mapping, BaseModel)) for item in items):
            raise InvalidFilterError(
                path,
                "comparing whole documents compares a hidden property, and this repository "
                "was made with prohibit_hidden_in_query=True; compare the other properties "
                "one by one",
            )

    def operators(
        self, target: _Target, operators: Mapping[Any, Any], path: str
    ) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = [{}]
        for name, argument in operators.items():
            here = _join(path, name)
            if not isinstance(name, str):
                raise InvalidFilterError(here, f"operator names are strings, not {_show(name)}")
            op = OPERATORS.get(name)
            if op is None:
                if not name.startswith("$"):
                    if name in FORBIDDEN_OPERATORS:
                        self.refuse_dollar(name, here)
                    raise InvalidFilterError(
                        here, f"unknown operator {name!r}; allowed: {_LOOPBACK_OPERATORS}"
                    )
                self.refuse_dollar(name, here)
                if name in _REGEX_OPERATORS:
                    self.refuse_regexp(here)
                self.refuse_hidden_operator(name, target, here)
                parts: dict[str, Any] = {name: self.passthrough_value(argument, here)}
            else:
                if op.extended:
                    self.refuse_dollar(name, here)
                parts = self.operator(op, target, argument, here)
            for group in groups:
                if group.keys().isdisjoint(parts):
                    group.update(parts)
                    break
            else:
                groups.append(parts)
        return groups

    def operator(self, op: Operator, target: _Target, argument: Any, path: str) -> dict[str, Any]:
        mode = op.mode
        if mode == "one":
            return {op.mongo: self.value(target, argument, path)}
        if mode == "many":
            if not isinstance(argument, (*_SEQUENCES, set, frozenset)):
                raise InvalidFilterError(path, f"expected a list of values, not {_show(argument)}")
            return {
                op.mongo: [self.value(target, v, _join(path, i)) for i, v in enumerate(argument)]
            }
        if mode == "pair":
            if not isinstance(argument, _SEQUENCES) or len(argument) != 2:
                raise InvalidFilterError(
                    path, f"between takes a list of exactly two values, not {_show(argument)}"
                )
            low, high = argument
            return {
                "$gte": self.value(target, low, _join(path, 0)),
                "$lte": self.value(target, high, _join(path, 1)),
            }
        if mode == "like":
            return like_condition(argument, path, negate=op.negate, ignore_case=op.ignore_case)
        if mode == "regexp":
            self.refuse_regexp(path)
            return regexp_condition(argument, path)
        if mode == "flag":
            return {op.mongo: _flag(argument, path)}
        if mode == "not":
            if isinstance(argument, Mapping):
                groups = self.operators(target, argument, path)
                if len(groups) > 1:
                    raise InvalidFilterError(path, "conflicting operators inside $not")
                return {"$not": groups[0]}
            return {"$not": self.passthrough_value(argument, path)}
        if mode == "elem":
            return {"$elemMatch": self.elem_match(target, argument, path)}
        raise InvalidFilterError(path, f"{op.mongo or mode} is not allowed here")

    def elem_match(self, target: _Target, argument: Any, path: str) -> dict[str, Any]:
        if not isinstance(argument, Mapping):
            raise InvalidFilterError(path, f"$elemMatch takes an object, not {_show(argument)}")
        if target.item_meta is not None:
            return self.clause(target.item_meta, argument, path)
        if target.holds_documents and not any(_is_operator(key) for key in argument):
            # Documents of no known model: a where clause in field names, kept as given.
            if self.prohibit_hidden and target.holds_hidden:
                raise InvalidFilterError(path, HIDDEN_REASON)
            return dict(self.passthrough_value(argument, path))
        groups = self.operators(target.item_target(), argument, path)
        if len(groups) > 1:
            raise InvalidFilterError(path, "conflicting operators inside $elemMatch")
        return groups[0]


def _is_operator(key: Any) -> bool:
    return key in OPERATORS or key in FORBIDDEN_OPERATORS or str(key).startswith("$")


def _flag(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE_WORDS:
        return _TRUE_WORDS[value.lower()]
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InvalidFilterError(path, f"expected true or false, not {_show(value)}")


def _and(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    if not first:
        return second
    if not second:
        return first
    if first.keys().isdisjoint(second):
        return {**first, **second}
    return {"$and": [first, second]}


def translate_where(
    meta: ModelMeta,
    where: Mapping[str, Any] | None,
    *,
    scope_where: Mapping[str, Any] | None = None,
    allow_extended_operators: bool = False,
    prohibit_hidden: bool = False,
    allow_regexp: bool = True,
) -> dict[str, Any]:
    """The MongoDB query of a LoopBack where clause, AND-ed with the scope's where.

    >>> translate_where(Customer.odm_meta(), {"age": {"gte": "18"}, "id": "65a1...e2"})
    {'age': {'$gte': 18}, '_id': ObjectId('65a1...e2')}

    Raises ``InvalidFilterError`` for what odm refuses (see :mod:`odm.filters`).
    """
    call: dict[str, Any] = {}
    if where is not None:
        check_depth(where, "where")
        translator = _Translator(
            meta,
            allow=allow_extended_operators,
            prohibit_hidden=prohibit_hidden,
            allow_regexp=allow_regexp,
        )
        call = translator.clause(meta, where, "where")
    if not scope_where:
        return call
    scoped = _Translator(meta, allow=True, prohibit_hidden=False)
    return _and(scoped.clause(meta, scope_where, "scope.where"), call)
