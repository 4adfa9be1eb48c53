"""Property-based tests of the filter translator with hostile input.

Every generated filter either translates to a query or raises ``InvalidFilterError``;
nothing else is ever raised. What reaches the driver never holds ``$where``,
``$function``, ``$accumulator`` (nor ``mapReduce``), never an operator odm does not list
unless the repository allows extended operators, never a hidden property when they are
prohibited, and is always a document BSON can encode.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import bson
import pytest
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odm.errors import InvalidFilterError
from odm.filters import FORBIDDEN_OPERATORS, Query, like_to_regex, translate_filter, translate_where
from odm.metadata import ModelMeta

from .models import FilteredItem, Item, LooseItem, ScopedItem
from .strategies import (
    hostile_filters,
    hostile_wheres,
    like_patterns,
    typed_filters,
    typed_wheres,
    values,
)
from .tally import count

SECTION = "filter translator (hypothesis)"
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

#: The ``$`` operators odm itself writes into a query translated from LoopBack operators.
EMITTED_OPERATORS = frozenset(
    {
        "$and",
        "$or",
        "$nor",
        "$eq",
        "$ne",
        "$gt",
        "$gte",
        "$lt",
        "$lte",
        "$in",
        "$nin",
        "$regex",
        "$options",
        "$not",
        "$exists",
        "$elemMatch",
    }
)
#: The field paths of Item's hidden properties (``secret``, ``place.code``, ``places.code``).
HIDDEN_FIELDS = frozenset(["secret", "place.code", "places.code"])
#: What the drivers are configured with (odm.drivers.CLIENT_DEFAULTS): UUIDs encode.
BSON_OPTIONS: CodecOptions[Any] = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)

METAS: dict[str, ModelMeta] = {
    "strict": Item.odm_meta(),
    "loose": LooseItem.odm_meta(),
    "filter": FilteredItem.odm_meta(),
    "scoped": ScopedItem.odm_meta(),
}


def keys_in(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every mapping key at any depth of ``value`` (lists included), with its path."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, key
            yield from keys_in(item, here)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from keys_in(item, f"{path}.{index}")


def field_paths(where: Any) -> Iterator[str]:
    """The field paths a translated where constrains (keys that are not operators)."""
    if isinstance(where, Mapping):
        for key, item in where.items():
            if isinstance(key, str) and key.startswith("$"):
                if key in ("$and", "$or", "$nor") and isinstance(item, list):
                    for clause in item:
                        yield from field_paths(clause)
                continue
            yield str(key)


def check_query(query: Query, *, extended: bool, prohibit_hidden: bool, strict: bool) -> None:
    """The invariants of anything the translator lets through to the driver."""
    parts = {"where": query.where, "sort": query.sort or [], "projection": query.projection}
    bson.encode(parts, codec_options=BSON_OPTIONS)  # raises if the driver could not send it
    for path, key in keys_in(query.where, "where"):
        assert isinstance(key, str), path
        assert key not in FORBIDDEN_OPERATORS, path
        assert "\x00" not in key, path
        if key.startswith("$") and not extended:
            assert key in EMITTED_OPERATORS, path
        if not key.startswith("$"):
            assert not any(s.startswith("$") for s in key.split(".")), path
    if prohibit_hidden and strict:
        assert HIDDEN_FIELDS.isdisjoint(field_paths(query.where)), query.where
        assert HIDDEN_FIELDS.isdisjoint(field for field, _ in query.sort or []), query.sort
    if query.sort is not None:
        assert all(direction in (1, -1) for _, direction in query.sort)
        assert len({field for field, _ in query.sort}) == len(query.sort)
    if query.projection is not None:
        assert len(set(query.projection.values())) == 1
    assert query.limit is None or 1 <= query.limit <= 2**63 - 1
    assert 0 <= query.skip <= 2**63 - 1


def translate(
    meta: ModelMeta, filter: Any, *, extended: bool, prohibit_hidden: bool
) -> Query | None:
    """The translated query, or None when odm refused the filter (InvalidFilterError)."""
    try:
        query = translate_filter(
            meta,
            filter,
            scope=meta.settings.scope,
            allow_extended_operators=extended,
            prohibit_hidden=prohibit_hidden,
        )
    except InvalidFilterError as error:
        assert isinstance(error.path, str) and error.reason
        count(SECTION, "refused (InvalidFilterError)")
        return None
    count(SECTION, "translated")
    check_query(
        query, extended=extended, prohibit_hidden=prohibit_hidden, strict=meta.strict is not False
    )
    return query


@settings(FUZZ, max_examples=400)
@given(
    filter=hostile_filters,
    model=st.sampled_from(sorted(METAS)),
    extended=st.booleans(),
    prohibit_hidden=st.booleans(),
)
def test_hostile_filters_translate_or_raise_invalid_filter_error(
    filter: Any, model: str, extended: bool, prohibit_hidden: bool
) -> None:
    count(SECTION, "examples")
    translate(METAS[model], filter, extended=extended, prohibit_hidden=prohibit_hidden)


@settings(FUZZ, max_examples=500)
@given(where=hostile_wheres, extended=st.booleans(), prohibit_hidden=st.booleans())
def test_hostile_where_clauses_translate_or_raise_invalid_filter_error(
    where: Any, extended: bool, prohibit_hidden: bool
) -> None:
    count(SECTION, "examples")
    translate(METAS["strict"], {"where": where}, extended=extended, prohibit_hidden=prohibit_hidden)


@settings(FUZZ, max_examples=500)
@given(filter=typed_filters, prohibit_hidden=st.booleans())
def test_well_formed_filters_translate_to_safe_queries(
    filter: dict[str, Any], prohibit_hidden: bool
) -> None:
    count(SECTION, "examples")
    translate(METAS["strict"], filter, extended=False, prohibit_hidden=prohibit_hidden)


# --- forbidden and `$` keys planted at any depth ------------------------------------------


@st.composite
def planted(draw: st.DrawFn, key: st.SearchStrategy[str]) -> tuple[Any, str]:
    """A well-formed where with ``{key: value}`` planted in one of its mappings (any depth),
    or a hostile value planted as a property's value or operator argument."""
    where = draw(typed_wheres)
    bad = draw(key)
    payload = {bad: draw(st.one_of(st.text(max_size=8), values))}
    mappings = [m for _, m in _mappings(where)]
    target = draw(st.sampled_from(mappings))
    slot = draw(st.integers(0, 2))
    if slot == 0 or not target:
        target.update(payload)
    else:
        name = draw(st.sampled_from(sorted(target)))
        current = target[name]
        if name in _PATTERN_OPERATORS:
            target.update(payload)  # their argument is a pattern or a flag, never a value
        elif isinstance(current, dict) and slot == 1:
            current.update(payload)
        elif isinstance(current, list) and name in ("and", "or", "nor", "inq", "nin"):
            current.append(payload)
        else:
            target[name] = {"eq": payload} if slot == 1 else payload
    return where, bad


_PATTERN_OPERATORS = frozenset(["like", "nlike", "ilike", "nilike", "regexp", "exists", "between"])


def _mappings(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _mappings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _mappings(item, f"{path}.{index}")


@settings(FUZZ, max_examples=300)
@given(case=planted(st.sampled_from(sorted(FORBIDDEN_OPERATORS))), extended=st.booleans())
def test_server_side_javascript_is_refused_at_any_depth(
    case: tuple[Any, str], extended: bool
) -> None:
    where, key = case
    count(SECTION, "examples")
    for model in ("strict", "loose"):
        with pytest.raises(InvalidFilterError) as caught:
            translate_filter(METAS[model], {"where": where}, allow_extended_operators=extended)
        assert f"{key} is never allowed" in caught.value.reason
        count(SECTION, "refused (InvalidFilterError)")


@settings(FUZZ, max_examples=300)
@given(
    case=planted(
        st.one_of(
            st.sampled_from(["$expr", "$ne", "$gt", "$regex", "$jsonSchema", "$text", "$"]),
            st.text(min_size=1, max_size=6).map(lambda s: "$" + s),
        )
    )
)
def test_dollar_keys_are_refused_at_any_depth_without_extended_operators(
    case: tuple[Any, str],
) -> None:
    where, _ = case
    count(SECTION, "examples")
    for model in ("strict", "loose", "filter"):
        with pytest.raises(InvalidFilterError):
            translate_filter(METAS[model], {"where": where})
        count(SECTION, "refused (InvalidFilterError)")


@settings(FUZZ, max_examples=200)
@given(
    where=typed_wheres,
    hidden=st.sampled_from(["secret", "place.code", "places.code"]),
    condition=st.one_of(st.text(max_size=4), st.fixed_dictionaries({"like": like_patterns})),
    depth=st.integers(0, 2),
)
def test_hidden_properties_are_refused_anywhere_when_prohibited(
    where: dict[str, Any], hidden: str, condition: Any, depth: int
) -> None:
    count(SECTION, "examples")
    clause: dict[str, Any] = {hidden: condition}
    for _ in range(depth):
        clause = {"or": [clause, where]}
    planted_where = {"and": [where, clause]}
    with pytest.raises(InvalidFilterError) as caught:
        translate_where(Item.odm_meta(), planted_where, prohibit_hidden=True)
    assert "hidden" in caught.value.reason
    count(SECTION, "refused (InvalidFilterError)")
    with pytest.raises(InvalidFilterError):
        translate_filter(Item.odm_meta(), {"order": f"{hidden} DESC"}, prohibit_hidden=True)
    translated = translate_where(Item.odm_meta(), planted_where)  # allowed by default
    assert translated


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed filter with one value (or operator argument) replaced by a hostile
    one: huge integers, NaN, lone surrogates, NUL bytes, nested objects with odd keys."""
    filter = draw(typed_filters.filter(lambda f: "where" in f))
    mappings = [m for _, m in _mappings(filter["where"]) if m]
    target = draw(st.sampled_from(mappings))
    name = draw(st.sampled_from(sorted(target)))
    if isinstance(target[name], dict) and target[name] and draw(st.booleans()):
        target = target[name]
        name = draw(st.sampled_from(sorted(target)))
    target[name] = draw(st.one_of(values, st.lists(values, max_size=3)))
    return filter


@settings(FUZZ, max_examples=400)
@given(filter=mutated(), model=st.sampled_from(sorted(METAS)), extended=st.booleans())
def test_well_formed_filters_with_one_hostile_value_translate_or_raise(
    filter: dict[str, Any], model: str, extended: bool
) -> None:
    count(SECTION, "examples")
    translate(METAS[model], filter, extended=extended, prohibit_hidden=False)


# --- like patterns: SQL semantics, whatever the metacharacters ---------------------------

_LIKE_TEXT = "aAbBéÉzZ😀%_\\.*+?()[]{}|^$ \n"


def like_reference(pattern: str, value: str, *, ignore_case: bool) -> bool:
    """SQL LIKE on ``value``: ``%`` any run, ``_`` one character, ``\\`` escapes the next
    character (a final lone ``\\`` is literal); a value with one trailing newline matches
    as if it had none (documented: the ``$`` of PCRE)."""
    tokens: list[str | None] = []  # None: %, "" : _, else a literal character
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            tokens.append(pattern[index + 1])
            index += 2
            continue
        tokens.append(None if char == "%" else "" if char == "_" else char)
        index += 1

    def same(a: str, b: str) -> bool:
        return a == b or (ignore_case and a.lower() == b.lower())

    def match(text: str) -> bool:
        # reachable[j]: the tokens seen so far can match text[:j]
        reachable = [True] + [False] * len(text)
        for token in tokens:
            step = [False] * (len(text) + 1)
            for j in range(len(text) + 1):
                if token is None:
                    step[j] = reachable[j] or (j > 0 and step[j - 1])
                elif j > 0 and reachable[j - 1]:
                    step[j] = token == "" or same(token, text[j - 1])
            reachable = step
        return reachable[len(text)]

    return match(value) or (value.endswith("\n") and match(value[:-1]))


@settings(FUZZ, max_examples=400)
@given(
    pattern=st.text(alphabet=_LIKE_TEXT, max_size=8),
    value=st.text(alphabet=_LIKE_TEXT, max_size=8),
    ignore_case=st.booleans(),
    negate=st.booleans(),
)
def test_like_patterns_match_as_sql_like_whatever_the_metacharacters(
    pattern: str, value: str, ignore_case: bool, negate: bool
) -> None:
    count(SECTION, "examples")
    operator = ("n" if negate else "") + ("i" if ignore_case else "") + "like"
    where = translate_where(Item.odm_meta(), {"name": {operator: pattern}})
    condition = where["name"]
    if negate:
        regex = condition["$not"]["$regex"]
        matched = re.search(regex, value) is None  # flags are inline: (?s) or (?is)
    else:
        flags = re.DOTALL | (re.IGNORECASE if "i" in condition.get("$options", "") else 0)
        matched = re.search(condition["$regex"], value, flags) is not None
    expected = like_reference(pattern, value, ignore_case=ignore_case)
    assert matched == (not expected if negate else expected), (pattern, value, condition)
    assert like_to_regex(pattern).startswith("^") and like_to_regex(pattern).endswith("$")
