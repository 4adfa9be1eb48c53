"""LoopBack filters to MongoDB: the pure translator behind every repository query.

A filter is a JSON-ready dict, possibly straight from a REST query string::

    {"where": {"and": [{"age": {"gte": "18"}}, {"address.zip_code": "75001"}]},
     "fields": ["email", "name"], "order": "created DESC, name", "limit": 10, "skip": 20}

:func:`translate_filter` turns it into a :class:`Query` (MongoDB query, projection, sort,
skip, limit): property paths become field paths at every depth (``id`` becomes ``_id``),
values are coerced to the property's type and encoded to BSON, and everything odm does
not accept raises :class:`~odm.errors.InvalidFilterError` with the path of the offending
part (``where.and.1.age.gte``) and the reason. Nothing here does I/O.

Choices where LoopBack is silent:

- Filter values are coerced to the property's *type* only: pydantic constraints and
  enforced ``json_schema`` keywords are checked on writes, not on values a query compares
  with (``{"age": {"gt": -1}}`` is fine with ``minimum: 0``).
- A dict value is an operator object when one of its keys is an operator (or starts with
  ``$``); otherwise it is an equality with an embedded document, accepted only for
  properties that hold documents (models, dicts, ``Any``).
- ``like``/``ilike`` match the whole value, ``%`` and ``_`` match newlines too (the ``s``
  flag). ``nlike``/``nilike`` put their flags inline (``(?is)``) because a ``$not`` regex
  document may not carry ``$options`` on every backend. A value with one trailing newline
  matches as if it had none (the ``$`` of PCRE).
- ``regexp`` flags are ``i``, ``m``, ``s``, ``x``; ``g`` is accepted and ignored (LoopBack
  clients send it; it means nothing for a match); other flags are refused.
- ``fields``: excluding the id (``{"id": False}``) is ignored, the id is always returned.
  A string is read as a comma-separated list of names.
- The scope is the model's own configuration, so its where clause may use ``$``
  operators and hidden properties whatever the call's options are (the forbidden
  server-side JavaScript operators are refused everywhere).
- With ``allow_extended_operators=True``, ``$and``/``$or``/``$nor``/``$not``/
  ``$elemMatch`` are translated (property names inside mapped, values coerced), the
  comparison operators (``$eq``, ``$gt``, ``$in``, ``$all``, ...) coerce their values, and
  any other ``$`` operator (``$expr``, ``$text``, ``$type``, ``$size``, ...) is passed
  as given (its Python values BSON-encoded as an ``Any`` property's): field references
  inside ``$expr`` use MongoDB field names.
- Nothing BSON cannot hold reaches the driver: integers beyond 64 bits, text or names
  that are not valid UTF-8 (a JSON ``"\\ud800"``), names with a NUL byte, decimals
  beyond Decimal128 and Python sets raise ``InvalidFilterError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from bson import ObjectId
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from .codec import encode_any, encoder_for
from .errors import InvalidFilterError
from .metadata import ID_FIELD, ModelMeta, PropertyMeta, meta_of
from .types import TypeInfo, bson_annotation

__all__ = [
    "FILTER_KEYS",
    "FORBIDDEN_OPERATORS",
    "OPERATORS",
    "Query",
    "like_to_regex",
    "merge_scope",
    "projection_spec",
    "scope_defaults",
    "sort_spec",
    "translate_filter",
    "translate_where",
]


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


Mode = Literal["logical", "one", "many", "pair", "like", "regexp", "flag", "not", "elem"]


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

#: The keys a filter may have.
FILTER_KEYS = frozenset(["where", "fields", "order", "limit", "skip", "offset", "include"])

_LOOPBACK_OPERATORS = ", ".join(name for name, op in OPERATORS.items() if not op.extended)
_SEQUENCES = (list, tuple)
_MAX_INT64 = 2**63 - 1
_MIN_INT64 = -(2**63)
_TARGET_CACHE_SIZE = 2048

# A token of a LoopBack like pattern: an escaped character, %, _, a lone final
# backslash, or a run of plain text.
_LIKE_TOKEN = re.compile(r"\\(.)|(%)|(_)|(\\)|([^\\%_]+)", re.DOTALL)
_REGEX_LITERAL = re.compile(r"/(.*)/([A-Za-z]*)", re.DOTALL)
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_ORDER_ITEM = re.compile(r"\s*(\S+)(?:\s+(\S+))?\s*")
_DIRECTIONS = {"ASC": 1, "DESC": -1}
_TRUE_WORDS = {"true": True, "1": True, "false": False, "0": False}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _hidden_reason(label: str) -> str:
    return f"{label} is hidden, and this repository was made with prohibit_hidden_in_query=True"


def _hidden_within(meta: ModelMeta) -> str | None:
    """A hidden property of ``meta`` or of a model embedded in it, at any depth
    (``Address.code``); None when there is none."""
    if meta.plans.hidden_within is None:
        meta.plans.hidden_within = (_find_hidden(meta, set()),)
    return meta.plans.hidden_within[0]


def _find_hidden(meta: ModelMeta, seen: set[int]) -> str | None:
    if meta.hidden:
        return f"{meta.name}.{min(meta.hidden)}"
    seen.add(id(meta))
    for prop in meta.properties.values():
        for embedded in prop.type.models:
            nested = meta_of(embedded)
            if nested is not None and id(nested) not in seen:
                found = _find_hidden(nested, seen)
                if found is not None:
                    return found
    return None


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _check_text(text: str, path: str, what: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidFilterError(
                path, f"{what} {_show(text)} is not valid UTF-8 (a lone surrogate)"
            ) from None


def _check_name(name: Any, path: str) -> None:
    """Refuse a field name MongoDB cannot hold: not text, a NUL byte, not valid UTF-8."""
    if not isinstance(name, str):
        raise InvalidFilterError(path, f"field names are strings, not {_show(name)}")
    if "\x00" in name:
        raise InvalidFilterError(path, f"the name {_show(name)} contains a NUL byte")
    _check_text(name, path, "the name")


def _check_path(name: str, path: str) -> None:
    """Refuse a property path that cannot name a field: what ``_check_name`` refuses, and
    an empty segment (``a..b``, which the server refuses in a sort)."""
    _check_name(name, path)
    if "" in name.split("."):
        raise InvalidFilterError(path, f"{_show(name)} has an empty segment")


def _storable(value: Any, path: str) -> Any:
    """``value`` when BSON can hold it: integers within 64 bits, valid UTF-8 text and
    names, no Python sets, at any depth; else ``InvalidFilterError``."""
    if isinstance(value, str):
        _check_text(value, path, "the text")
    elif isinstance(value, int) and not isinstance(value, bool):
        if not _MIN_INT64 <= value <= _MAX_INT64:
            raise InvalidFilterError(
                path, f"{_show(value)} is beyond the 64-bit integers MongoDB stores"
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            here = _join(path, key)
            _check_name(key, here)
            _storable(item, here)
    elif isinstance(value, _SEQUENCES):
        for index, item in enumerate(value):
            _storable(item, _join(path, index))
    elif isinstance(value, (set, frozenset)):
        raise InvalidFilterError(
            path, f"a set cannot be sent to MongoDB, use a list: {_show(value)}"
        )
    return value


# --- values -------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _adapter_for(info: TypeInfo) -> TypeAdapter[Any] | None:
    """A type-only validator for a value of ``info`` (None: the value is kept as given)."""
    annotation = _annotation_of(info)
    return None if annotation is Any else TypeAdapter(annotation)


def _annotation_of(info: TypeInfo) -> Any:
    if info.kind == "scalar" and info.literals:
        return Literal.__getitem__(info.literals)
    if info.kind == "scalar" and info.python is not None:
        return bson_annotation(info.python)
    if info.kind == "model" and info.model is not None:
        return info.model
    if info.kind == "list" and info.item is not None:
        return list[_annotation_of(info.item)]  # type: ignore[misc]
    if info.kind == "dict" and info.item is not None:
        return dict[str, _annotation_of(info.item)]  # type: ignore[misc]
    return Any


def _type_name(info: TypeInfo) -> str:
    if info.kind == "scalar":
        if info.literals:
            return "one of " + ", ".join(repr(v) for v in info.literals)
        return info.python.__name__ if info.python is not None else "a value"
    if info.kind == "model" and info.model is not None:
        return info.model.__name__
    if info.kind == "list":
        return f"list of {_type_name(info.item)}" if info.item is not None else "list"
    if info.kind == "dict":
        return "object"
    if info.kind == "union":
        return " | ".join(_type_name(option) for option in info.options)
    return "any value"


def _object_id(value: Any) -> ObjectId:
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str) and ObjectId.is_valid(value):
        return ObjectId(value)
    raise ValueError("expected an ObjectId or a 24-character hex string")


@dataclass(frozen=True, slots=True)
class _Coercer:
    """Validates a filter value for one type and encodes it to BSON (``encode`` is the
    codec's converter of that type, None when BSON keeps the value)."""

    info: TypeInfo
    validate: Callable[[Any], Any] | None
    encode: Callable[[Any], Any] | None

    def __call__(self, value: Any, path: str, label: str) -> Any:
        if self.validate is not None:
            try:
                value = self.validate(value)
            except PydanticValidationError as error:
                reason = error.errors()[0]["msg"] if error.errors() else str(error)
                raise InvalidFilterError(
                    path,
                    f"{label}: {_show(value)} is not a valid {_type_name(self.info)} ({reason})",
                ) from None
            except ValueError as error:
                raise InvalidFilterError(
                    path, f"{label}: {_show(value)} is not a valid id ({error})"
                ) from None
        if self.encode is None or value is None:
            return value
        try:
            return self.encode(value)
        except (ArithmeticError, ValueError) as error:  # Decimal128 refuses 35+ digits
            raise InvalidFilterError(
                path, f"{label}: {_show(value)} cannot be stored in MongoDB ({error!r})"
            ) from None


def _coercer(info: TypeInfo) -> _Coercer:
    adapter = _adapter_for(info)
    validate = adapter.validate_python if adapter is not None else None
    return _Coercer(info, validate, encoder_for(info))


def _property_coercer(prop: PropertyMeta) -> _Coercer:
    if prop.is_id and prop.generated and prop.type.python is str:
        # A generated id typed str is the hex text of the ObjectId stored in _id.
        return _Coercer(prop.type, _object_id, None)
    annotation = prop.rewritten.annotation
    if annotation is None:
        return _coercer(prop.type)
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    return _Coercer(prop.type, adapter.validate_python, encoder_for(prop.type))


@dataclass(frozen=True, slots=True)
class _Target:
    """A property path resolved once for filters: field path, type, coercers."""

    field: str
    type: TypeInfo
    label: str
    hidden: bool
    whole: _Coercer
    element: _Coercer | None  # one item of a list-typed target
    item_meta: ModelMeta | None  # the model of the target's documents ($elemMatch)

    def coerce(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        if self.element is not None and not isinstance(value, (*_SEQUENCES, set, frozenset)):
            # MongoDB compares a scalar with each element of an array.
            return self.element(value, path, self.label)
        return self.whole(value, path, self.label)

    def item_target(self) -> _Target:
        item = self.type.item if self.type.kind == "list" and self.type.item else self.type
        element = self.element or self.whole
        return _Target(self.field, item, self.label, self.hidden, element, None, None)

    @property
    def holds_documents(self) -> bool:
        info = self.type.item if self.type.kind == "list" and self.type.item else self.type
        return info.kind in ("model", "dict", "any", "union")


def _make_target(meta: ModelMeta, path: str) -> _Target | None:
    first, dot, rest = path.partition(".")
    if first == "id" and meta.id is not None and "id" not in meta.properties:
        path = meta.id.name + dot + rest
    info = meta.resolve_path(path)
    if info is None:
        return None
    label = f"{meta.name}.{path}"
    whole = _property_coercer(info.property) if info.property is not None else _coercer(info.type)
    element = None
    item_meta = None
    if info.type.kind == "list" and info.type.item is not None:
        element = _coercer(info.type.item)
        if info.type.item.kind == "model" and info.type.item.model is not None:
            item_meta = meta_of(info.type.item.model)
    elif info.type.kind == "model" and info.type.model is not None:
        item_meta = meta_of(info.type.model)
    hidden = any(part.hidden for part in info.chain)
    return _Target(info.field_path, info.type, label, hidden, whole, element, item_meta)


def _target(meta: ModelMeta, path: str) -> _Target | None:
    cache: dict[str, _Target] = meta.plans.targets
    found = cache.get(path)
    if found is None:
        found = _make_target(meta, path)
        if found is not None and len(cache) < _TARGET_CACHE_SIZE:
            cache[path] = found
    return found


def _passthrough_target(meta: ModelMeta, path: str) -> _Target:
    anything = TypeInfo("any", True)
    return _Target(path, anything, f"{meta.name}.{path}", False, _coercer(anything), None, None)


# --- patterns -----------------------------------------------------------------------


@lru_cache(maxsize=1024)
def like_to_regex(pattern: str) -> str:
    r"""The anchored regular expression of an SQL ``like`` pattern.

    ``%`` is any run of characters, ``_`` one character, a backslash makes the next
    character literal; everything else is literal (regex metacharacters escaped).

    >>> like_to_regex("J_e 100\\%.%")
    '^J.e\\ 100%\\..*$'
    """
    parts = ["^"]
    for match in _LIKE_TOKEN.finditer(pattern):
        escaped, any_run, one, lone_backslash, text = match.groups()
        if escaped is not None:
            parts.append(re.escape(escaped))
        elif any_run is not None:
            parts.append(".*")
        elif one is not None:
            parts.append(".")
        elif lone_backslash is not None:
            parts.append(r"\\")
        else:
            parts.append(re.escape(text))
    parts.append("$")
    return "".join(parts)


def _like(op: Operator, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, str):
        raise InvalidFilterError(path, f"a like pattern must be a string, not {_show(value)}")
    _check_text(value, path, "the like pattern")
    flags = "is" if op.ignore_case else "s"
    regex = like_to_regex(value)
    if op.negate:
        return {"$not": {"$regex": f"(?{flags}){regex}"}}
    return {"$regex": regex, "$options": flags}


def _regexp(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, re.Pattern):
        if not isinstance(value.pattern, str):
            raise InvalidFilterError(path, "a regexp must be a text pattern, not bytes")
        pattern = value.pattern
        flags = "".join(name for name, flag in _REGEX_FLAGS.items() if value.flags & flag)
        other = value.flags & ~(re.UNICODE | re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE)
        if other:
            raise InvalidFilterError(
                path, f"regexp flags other than IGNORECASE, MULTILINE, DOTALL, VERBOSE: {other!r}"
            )
    elif isinstance(value, str):
        literal = _REGEX_LITERAL.fullmatch(value) if value.startswith("/") else None
        if literal is None:
            pattern, flags = value, ""
        else:
            pattern, given = literal.groups()
            unknown = set(given) - set(_REGEX_FLAGS) - {"g"}
            if unknown:
                raise InvalidFilterError(
                    path,
                    f"unknown regexp flag(s) {''.join(sorted(unknown))!r} in {_show(value)}; "
                    "allowed: i, m, s, x",
                )
            flags = "".join(name for name in _REGEX_FLAGS if name in given)
    else:
        raise InvalidFilterError(
            path, f"a regexp must be a string or a compiled pattern, not {_show(value)}"
        )
    _check_text(pattern, path, "the regexp")
    return {"$regex": pattern, "$options": flags} if flags else {"$regex": pattern}


# --- where --------------------------------------------------------------------------


class _Translator:
    """One where translation: the model, the options, the root strict mode."""

    __slots__ = ("allow", "meta", "passthrough", "prohibit_hidden")

    def __init__(self, meta: ModelMeta, *, allow: bool, prohibit_hidden: bool) -> None:
        self.meta = meta
        self.allow = allow
        self.prohibit_hidden = prohibit_hidden
        self.passthrough = meta.strict is False

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
                if segment.startswith("$"):
                    self.refuse_dollar(segment, path)
        found = _target(meta, key)
        if found is None:
            if not self.passthrough:
                raise InvalidFilterError(
                    path,
                    f"{meta.name} has no property {key!r} (strict mode {self.meta.strict!r}); "
                    f"known: {', '.join(n for n, p in meta.properties.items() if not p.hidden)}",
                )
            found = _passthrough_target(meta, key)
        if found.hidden and self.prohibit_hidden:
            raise InvalidFilterError(path, _hidden_reason(found.label))
        return found

    def condition(self, target: _Target, value: Any, path: str) -> list[Any]:
        """The MongoDB conditions on one field (several when operators collide)."""
        if isinstance(value, re.Pattern):
            return [_regexp(value, path)]
        if isinstance(value, Mapping):
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
        if self.prohibit_hidden and target.item_meta is not None:
            self.refuse_hidden_document(target, target.item_meta, value, path)
        return _storable(target.coerce(value, path), path)

    def refuse_hidden_document(
        self, target: _Target, item_meta: ModelMeta, value: Any, path: str
    ) -> None:
        """A whole embedded document compares every property, hidden ones included (the
        default of one not given): an oracle of hidden values, refused when prohibited."""
        items = value if isinstance(value, _SEQUENCES) else [value]
        if not any(isinstance(item, (Mapping, BaseModel)) for item in items):
            return
        hidden = _hidden_within(item_meta)
        if hidden is not None:
            raise InvalidFilterError(
                path,
                f"{target.label}: comparing whole documents compares {hidden}, "
                "which is hidden, and this repository was made with "
                "prohibit_hidden_in_query=True; compare its other properties one by one",
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
            return _like(op, argument, path)
        if mode == "regexp":
            return _regexp(argument, path)
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
) -> dict[str, Any]:
    """The MongoDB query of a LoopBack where clause, AND-ed with the scope's where.

    >>> translate_where(Customer.odm_meta(), {"age": {"gte": "18"}, "id": "65a1...e2"})
    {'age': {'$gte': 18}, '_id': ObjectId('65a1...e2')}

    Raises ``InvalidFilterError`` for what odm refuses (see the module docstring).
    """
    call: dict[str, Any] = {}
    if where is not None:
        translator = _Translator(
            meta, allow=allow_extended_operators, prohibit_hidden=prohibit_hidden
        )
        call = translator.clause(meta, where, "where")
    if not scope_where:
        return call
    scoped = _Translator(meta, allow=True, prohibit_hidden=False)
    return _and(scoped.clause(meta, scope_where, "scope.where"), call)


# --- order, fields, limit, skip -------------------------------------------------------


def _field_of(meta: ModelMeta, name: str, path: str) -> tuple[str, bool]:
    """The field path of a property path in order/fields, and whether it is hidden."""
    if any(segment.startswith("$") for segment in name.split(".")):
        raise InvalidFilterError(path, f"{name!r}: names starting with '$' are not properties")
    _check_path(name, path)
    found = _target(meta, name)
    if found is not None:
        return found.field, found.hidden
    if meta.strict is False:
        return name, False
    raise InvalidFilterError(
        path, f"{meta.name} has no property {name!r}; known: {', '.join(meta.properties)}"
    )


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
            raise InvalidFilterError(here, _hidden_reason(f"{meta.name}.{name}"))
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


def _count(value: Any, path: str, minimum: int) -> int | None:
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    if number is None or not minimum <= number <= _MAX_INT64:
        name = path.rpartition(".")[2]
        raise InvalidFilterError(
            path, f"{name} must be an integer >= {minimum}, not {_show(value)}"
        )
    return number


def _normalize(filter: Mapping[str, Any] | None, path: str) -> dict[str, Any]:
    """A filter's parts checked and made canonical: where, fields, order, limit and skip
    (ints), each present only when given (not None)."""
    if filter is None:
        return {}
    if not isinstance(filter, Mapping):
        raise InvalidFilterError(path, f"a filter must be an object, not {_show(filter)}")
    unknown = [key for key in filter if key not in FILTER_KEYS]
    if unknown:
        raise InvalidFilterError(
            _join(path, unknown[0]),
            f"unknown filter key {unknown[0]!r}; allowed: {', '.join(sorted(FILTER_KEYS))}",
        )
    if filter.get("include") is not None:
        raise InvalidFilterError(_join(path, "include"), "relations are not supported")
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
    limit = _count(filter.get("limit"), _join(path, "limit"), 1)
    if limit is not None:
        out["limit"] = limit
    skip = _count(filter.get("skip"), _join(path, "skip"), 0)
    offset = _count(filter.get("offset"), _join(path, "offset"), 0)
    if skip is not None and offset is not None and skip != offset:
        raise InvalidFilterError(
            _join(path, "offset"), "skip and offset are synonyms; give one of them"
        )
    if skip is not None or offset is not None:
        out["skip"] = skip if skip is not None else offset
    return out


def _merge(base: dict[str, Any], call: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The default-scope rules on normalized filters, and the keys taken from the call."""
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
    merged, _ = _merge(_normalize(scope, "scope"), _normalize(filter, ""))
    return merged


def translate_filter(
    meta: ModelMeta,
    filter: Mapping[str, Any] | None,
    *,
    scope: Mapping[str, Any] | None = None,
    allow_extended_operators: bool = False,
    prohibit_hidden: bool = False,
) -> Query:
    """Translate a LoopBack filter (under an optional default scope) to a :class:`Query`.

    >>> q = translate_filter(Customer.odm_meta(), {"where": {"name": {"like": "Jo%"}},
    ...                      "order": "created DESC", "limit": "10"})
    >>> q.where, q.sort, q.limit
    ({'name': {'$regex': '^Jo.*$', '$options': 's'}}, [('createdAt', -1)], 10)

    The scope's where is trusted configuration: it may use ``$`` operators and hidden
    properties whatever ``allow_extended_operators`` and ``prohibit_hidden`` say.
    """
    base = _normalize(scope, "scope")
    call = _normalize(filter, "")
    where = translate_where(
        meta,
        call.get("where"),
        scope_where=base.get("where"),
        allow_extended_operators=allow_extended_operators,
        prohibit_hidden=prohibit_hidden,
    )
    merged, from_call = _merge(base, call)
    order_path = "order" if "order" in from_call else "scope.order"
    fields_path = "fields" if "fields" in from_call else "scope.fields"
    return Query(
        where=where,
        projection=_projection(meta, merged.get("fields"), fields_path),
        sort=_sort(meta, merged.get("order"), order_path, prohibit_hidden and "order" in from_call),
        skip=merged.get("skip", 0),
        limit=merged.get("limit"),
    )


# --- scope defaults -------------------------------------------------------------------


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
