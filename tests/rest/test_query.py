"""The two encodings of filter and where decode to the same filter (no database)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odm import InvalidFilterError
from odm.rest.query import clamp_limit, decode_query


def params(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def brackets(value: Any, prefix: str) -> list[tuple[str, str]]:
    """LoopBack clients' ``qs.stringify`` (indices for lists)."""
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in brackets(item, f"{prefix}[{key}]")]
    if isinstance(value, list):
        return [pair for i, item in enumerate(value) for pair in brackets(item, f"{prefix}[{i}]")]
    return [(prefix, value)]


def test_the_bracket_form_of_loopback_docs() -> None:
    query = (
        "filter[where][name][like]=Jo%25&filter[limit]=10&filter[order][0]=name%20ASC"
        "&filter[where][or][0][a]=1&filter[where][or][1][b]=2&filter[fields][name]=true"
    )
    assert decode_query(params(query), "filter") == {
        "where": {"name": {"like": "Jo%"}, "or": [{"a": "1"}, {"b": "2"}]},
        "limit": "10",  # the translator reads digits as an int, and where values by type
        "order": ["name ASC"],
        "fields": {"name": "true"},
    }


def test_json_form_empty_and_absent() -> None:
    assert decode_query(params('filter={"limit":5}&x=1'), "filter") == {"limit": 5}
    assert decode_query(params("filter="), "filter") is None
    assert decode_query(params("where[a]=1"), "filter") is None
    assert decode_query(params("where[a]=1"), "where") == {"a": "1"}


def test_lists_appends_repeats_and_index_order() -> None:
    decoded = decode_query(params("f[a][]=x&f[a][]=y&f[b]=1&f[b]=2&f[c][1]=q&f[c][0]=p"), "f")
    assert decoded == {"a": ["x", "y"], "b": ["1", "2"], "c": ["p", "q"]}


@pytest.mark.parametrize(
    "query",
    [
        "filter={nope",
        'filter={"a":1}&filter[b]=2',
        "filter=1&filter=2",
        "filter[a]=1&filter[a][b]=2",
        "filter[a][b]=2&filter[a]=1",
        "filter[a",
        "filter[a]x=1",
        "filter" + "[a]" * 33 + "=1",
        "filter=" + "[" * 3000,
        "filter[a][101]=1",
        "&".join(f"filter[k{i}]=1" for i in range(1001)),
    ],
)
def test_malformed_queries_are_invalid_filters(query: str) -> None:
    with pytest.raises(InvalidFilterError) as caught:
        decode_query(params(query), "filter")
    assert caught.value.path.startswith("filter")


def test_clamp_limit() -> None:
    assert clamp_limit({}, 50) == {"limit": 50}
    assert clamp_limit({"limit": 80}, 50) == {"limit": 50}
    assert clamp_limit({"limit": 20, "skip": 3}, 50) == {"limit": 20, "skip": 3}


text = st.text(alphabet="abcXYZ09 %_-.$", min_size=1, max_size=6)
names = st.text(alphabet="abcdefgh_.", min_size=1, max_size=5).filter(lambda s: not s.isdigit())
filters = st.recursive(
    text,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.dictionaries(names, children, min_size=1, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(names, filters, min_size=1, max_size=4))
def test_both_encodings_decode_to_the_same_filter(value: dict[str, Any]) -> None:
    as_json = [("filter", json.dumps(value))]
    as_brackets = parse_qsl(urlencode(brackets(value, "filter"), quote_via=quote))
    assert decode_query(as_brackets, "filter") == decode_query(as_json, "filter") == value


segment = st.sampled_from(
    [
        "where",
        "or",
        "0",
        "1",
        "",
        "name",
        "age",
        "gt",
        "like",
        "inq",
        "fields",
        "order",
        "limit",
        "skip",
        "password",
        "$ne",
        "id",
        "include",
        "x]",
        "[",
    ]
)
value = st.sampled_from(
    [
        "1",
        "-1",
        "Jo%",
        "true",
        "null",
        "[",
        "{}",
        "name ASC",
        "age DESC",
        "",
        '{"a":1}',
        "99999999999999999999",
        "\ud800",
    ]
)
keys = st.lists(segment, min_size=0, max_size=6).map(
    lambda parts: "filter" + "".join(f"[{p}]" for p in parts)
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(keys, value), min_size=1, max_size=6))
def test_any_query_is_a_filter_or_an_invalid_filter_error(pairs: list[tuple[str, str]]) -> None:
    from odm.filters import translate_filter

    from .app import Customer

    try:
        decoded = decode_query(pairs, "filter")
        translate_filter(Customer.odm_meta(), decoded, prohibit_hidden=True)
    except InvalidFilterError:
        pass
