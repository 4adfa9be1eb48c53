"""Properties of the read side of the trust boundary, on the pure translator.

(d) Any JSON-shaped filter either translates or raises ``InvalidFilterError``, never
another exception (deep nesting included), and with ``prohibit_hidden`` a translated
one never tests a hidden field: no field path of the produced MongoDB query or sort is a
hidden field, through embedded models, unions, dicts and lists of models, stored field
names and whole-document comparisons. (c, filters) No error message names a hidden
property the filter did not name itself. Ids: any JSON value is coerced to the id's
type or reported not found, never read as a filter.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odm import Entity, Model, model, prop
from odm.errors import EntityNotFoundError, InvalidFilterError
from odm.filters import Query, translate_filter
from odm.ids import coerce_id

from .tally import count

SECTION = "trust boundary, reads (hypothesis)"
PROPERTIES = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@model()
class Vault(Model):
    city: str = ""
    code: str = prop(default="", hidden=True, field_name="cd")


@model()
class Plain(Model):
    label: str = ""
    n: int = 0


@model(strict=False)
class LooseVault(Model):
    city: str = ""
    pin: str = prop(default="", hidden=True, field_name="pn")


@model(collection="t_agents", strict=False)
class Agent(Entity):
    name: str = ""
    age: int = prop(default=0, field_name="ag")
    password: str = prop(default="", hidden=True, field_name="pw")
    vault: Vault | None = None
    either: Vault | Plain | None = None
    vaults: dict[str, Vault] = prop(default_factory=dict)
    spots: list[Vault] = prop(default_factory=list)
    loose: LooseVault | None = None
    extra: dict[str, Any] = prop(default_factory=dict)


@model(collection="t_strict_agents")
class StrictAgent(Entity):
    name: str = ""
    password: str = prop(default="", hidden=True)
    vault: Vault | None = None
    either: Vault | Plain | None = None
    vaults: dict[str, Vault] = prop(default_factory=dict)
    spots: list[Vault] = prop(default_factory=list)


@model(collection="t_uuid_agents")
class UuidAgent(Entity):
    id: uuid.UUID = prop(id=True, default_fn="uuidv4")


@model(collection="t_int_agents")
class IntAgent(Entity):
    id: int = prop(id=True)


#: Stored field paths that are hidden fields (or below one).
HIDDEN_FIELD = re.compile(
    r"^(pw|password|vault\.cd|either\.(cd|code)|vaults\.[^.]+\.cd|spots\.(\d+\.)?cd"
    r"|loose\.(pn|pin))(\.|$)"
)
#: Stored field paths whose whole value holds a hidden field.
HOLDER_FIELD = re.compile(r"^(vault|either|vaults|vaults\.[^.]+|spots|spots\.\d+|loose)$")
HIDDEN_NAMES = ("password", "pw", "code", "cd", "pin", "pn")
COMPARING = frozenset(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$all"])

PATHS = [
    "id",
    "_id",
    "name",
    "age",
    "ag",
    "password",
    "pw",
    "vault",
    "vault.city",
    "vault.code",
    "vault.cd",
    "either",
    "either.city",
    "either.code",
    "either.label",
    "vaults",
    "vaults.k",
    "vaults.k.code",
    "vaults.k.city",
    "spots",
    "spots.0",
    "spots.code",
    "spots.0.code",
    "spots.city",
    "loose",
    "loose.city",
    "loose.pin",
    "loose.pn",
    "extra",
    "extra.code",
    "undeclared",
    "$expr",
    "$jsonSchema",
    "$comment",
    "$text",
]
OPERATORS = [
    "eq",
    "neq",
    "gt",
    "lt",
    "inq",
    "nin",
    "between",
    "like",
    "nlike",
    "ilike",
    "regexp",
    "exists",
    "$eq",
    "$ne",
    "$in",
    "$all",
    "$not",
    "$elemMatch",
    "$size",
    "$type",
    "$regex",
    "$where",
    "bogus",
]

_text = st.text(alphabet="ab%_\\$.c", max_size=6)
_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False), _text
)
_keys = st.one_of(st.sampled_from(PATHS), st.sampled_from(OPERATORS), _text)
json_values = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=10,
)
_conditions = st.one_of(
    json_values, st.dictionaries(st.sampled_from(OPERATORS), json_values, min_size=1, max_size=2)
)
_clauses = st.dictionaries(st.sampled_from(PATHS), _conditions, min_size=1, max_size=3)
wheres = st.recursive(
    _clauses,
    lambda inner: st.dictionaries(
        st.sampled_from(["and", "or", "nor", "$and", "$or"]),
        st.lists(inner, min_size=1, max_size=3),
        min_size=1,
        max_size=2,
    ),
    max_leaves=8,
)
_simple_values = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["a", "b%", "x"]))
_simple_conditions = st.one_of(
    _simple_values,
    st.fixed_dictionaries({"city": _simple_values}, optional={"code": _simple_values}),
    st.dictionaries(
        st.sampled_from(["eq", "neq", "gt", "exists", "like", "$ne", "$elemMatch"]),
        _simple_values,
        min_size=1,
        max_size=1,
    ),
    st.dictionaries(
        st.sampled_from(["inq", "nin", "$in", "$all"]),
        st.lists(st.one_of(_simple_values, st.fixed_dictionaries({"city": _simple_values}))),
        min_size=1,
        max_size=1,
    ),
)
#: Mostly well-formed clauses, so that many translate (and their output is checked).
simple_wheres = st.dictionaries(st.sampled_from(PATHS), _simple_conditions, min_size=1, max_size=3)
_names = st.sampled_from([p for p in PATHS if not p.startswith("$")])
_orders = st.one_of(
    _names.map(lambda p: p + " DESC"), st.lists(_names, max_size=2), _names, json_values
)
filters = st.fixed_dictionaries(
    {},
    optional={
        "where": st.one_of(simple_wheres, simple_wheres, wheres, json_values),
        "order": _orders,
        "fields": st.one_of(st.lists(_names, max_size=2), json_values),
        "limit": st.one_of(st.integers(1, 5), json_values),
    },
)


def nest(where: Any, depth: int) -> Any:
    for _ in range(depth):
        where = {"and": [where]}
    return where


deep_filters = st.builds(
    lambda where, depth: {"where": nest(where, depth)}, wheres, st.integers(0, 60)
)


def conditions(where: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every (field path, condition) a translated where tests, ``$elemMatch`` included."""
    if not isinstance(where, Mapping):
        return
    for key, value in where.items():
        if key in ("$and", "$or", "$nor"):
            for clause in value:
                yield from conditions(clause, prefix)
        elif key.startswith("$"):
            yield prefix + key, value
        else:
            path = prefix + key
            yield path, value
            if isinstance(value, Mapping):
                for op, argument in value.items():
                    if op == "$elemMatch" and isinstance(argument, Mapping):
                        yield from conditions(argument, path + ".")
                    if op == "$not" and isinstance(argument, Mapping):
                        yield path, argument


def holds_document(value: Any) -> bool:
    return isinstance(value, Mapping) or (
        isinstance(value, list) and any(isinstance(item, Mapping) for item in value)
    )


def compares_document(condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return isinstance(condition, list) and holds_document(condition)
    if not any(str(key).startswith("$") for key in condition):
        return True  # an embedded document, compared whole
    return any(op in COMPARING and holds_document(arg) for op, arg in condition.items())


def check_no_hidden(query: Query) -> None:
    for path, condition in conditions(query.where):
        last = path.rpartition(".")[2]
        assert last not in ("$expr", "$jsonSchema", "$text", "$where"), query.where
        assert not HIDDEN_FIELD.match(path), (path, query.where)
        if HOLDER_FIELD.match(path):
            assert not compares_document(condition), (path, condition)
    for field, _ in query.sort or []:
        assert not HIDDEN_FIELD.match(field) and not HOLDER_FIELD.match(field), query.sort


def check_message(error: InvalidFilterError, given: Any) -> None:
    asked = repr(given)
    for name in HIDDEN_NAMES:
        if not re.search(rf"\b{name}\b", asked):
            assert not re.search(rf"\b{name}\b", str(error)), (name, str(error))


@pytest.mark.parametrize("entity", [Agent, StrictAgent], ids=["loose", "strict"])
@pytest.mark.parametrize("extended", [False, True], ids=["plain", "extended"])
@PROPERTIES
@given(filter=st.one_of(filters, deep_filters))
def test_a_filter_translates_or_is_refused_and_never_tests_a_hidden_field(
    entity: Any, extended: bool, filter: dict[str, Any]
) -> None:
    meta = entity.odm_meta()
    try:
        query = translate_filter(
            meta, filter, allow_extended_operators=extended, prohibit_hidden=True
        )
    except InvalidFilterError as error:
        count(SECTION, "refused (InvalidFilterError)")
        check_message(error, filter)
        return
    count(SECTION, "translated under prohibit_hidden")
    check_no_hidden(query)


@PROPERTIES
@given(filter=st.one_of(filters, deep_filters))
def test_without_prohibit_hidden_only_invalid_filter_errors(filter: dict[str, Any]) -> None:
    try:
        translate_filter(Agent.odm_meta(), filter, allow_extended_operators=True)
    except InvalidFilterError as error:
        check_message(error, filter)
        count(SECTION, "refused, hidden allowed")


@pytest.mark.parametrize("entity", [Agent, UuidAgent, IntAgent], ids=["oid", "uuid", "int"])
@settings(PROPERTIES, max_examples=60)
@given(value=st.one_of(json_values, st.uuids(), st.uuids().map(str), st.integers()))
def test_an_id_is_coerced_to_the_id_type_or_not_found(entity: Any, value: Any) -> None:
    meta = entity.odm_meta()
    try:
        coerced = coerce_id(meta, value)
    except EntityNotFoundError:
        count(SECTION, "ids not found")
        return
    count(SECTION, "ids coerced")
    assert not isinstance(value, (dict, list, bool)) and value is not None
    assert meta.id is not None
    python = meta.id.type.python
    expected = python if not (meta.id.generated and python is str) else object
    assert isinstance(coerced, expected)  # type: ignore[arg-type]
