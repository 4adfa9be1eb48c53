"""Hypothesis strategies for hostile input: filters as a REST query string or a JSON body
could carry them, and write payloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bson import ObjectId
from hypothesis import strategies as st

from odm.filters import FILTER_KEYS, FORBIDDEN_OPERATORS, OPERATORS
from odm.updates import UPDATE_OPERATORS

#: Property paths of ``models.Item``, as a client would name them.
ITEM_PATHS = [
    "id",
    "name",
    "n",
    "score",
    "flag",
    "when",
    "kind",
    "price",
    "ref",
    "uid",
    "tags",
    "place",
    "place.city",
    "place.zip_code",
    "place.code",
    "places",
    "places.city",
    "places.zip_code",
    "extra",
    "extra.color",
    "anything",
    "anything.deep",
    "secret",
]

#: Names an attacker tries: server-side JavaScript, operators, dotted and `$` paths at
#: several depths, NUL bytes, lone surrogates (JSON's "\ud800"), prototype names.
HOSTILE_NAMES = [
    *sorted(FORBIDDEN_OPERATORS),
    "$expr",
    "$jsonSchema",
    "$text",
    "$comment",
    "$regex",
    "$options",
    "$ne",
    "$gt",
    "$in",
    "$elemMatch",
    "$not",
    "$set",
    "$unset",
    "$rename",
    "$natural",
    "$",
    "$$ROOT",
    "a.$where",
    "name.$ne",
    "place.$function",
    "places.$.city",
    "places.0.city",
    "tags.0",
    "_id",
    "",
    ".",
    "..",
    "name.",
    ".name",
    "a..b",
    "nam\x00e",
    "\x00",
    "\ud800",
    "na\udfffme",
    "ñame",
    "名前",
    "__proto__",
    "constructor",
    " name",
    "NAME",
    "where",
    "filter",
]

#: Strings that mean something to some layer: JavaScript, regexes, LIKE wildcards, JSON.
HOSTILE_STRINGS = [
    "",
    "%",
    "_",
    "\\",
    "%%",
    "\\%",
    "a\\",
    "$where",
    "$function",
    "this.a == 1",
    "'; return true; var x='",
    "function() { sleep(1000); return true; }",
    "/.*/",
    "/(a+)+$/",
    "/x/gimsx",
    "/x/q",
    "/unclosed",
    "(",
    "[",
    "(?i)",
    "^$|.*",
    "a\x00b",
    "\ud800",
    "x\udc00y",
    "\n",
    "é%É",
    "😀_",
    "{$ne: null}",
    '{"$gt": ""}',
    "1e400",
    "99999999999999999999",
    "-0",
    "0x10",
    "true",
    "null",
    "NaN",
    "65a1b2c3d4e5f6a7b8c9d0e1",
    "2024-01-01T00:00:00Z",
    "2024-13-45",
    "ASC",
    "name DESC",
    "name SIDEWAYS",
]

_LIKE_ALPHABET = "aAbBzé É😀%_\\.*+?()[]{}|^$#-\n\t/\x00"

keys = st.one_of(
    st.sampled_from(ITEM_PATHS),
    st.sampled_from(HOSTILE_NAMES),
    st.sampled_from(sorted(OPERATORS)),
    st.text(max_size=6),
)

_hostile_text = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=12),
    st.text(st.characters(codec="utf-8", categories=None), max_size=6),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
)

like_patterns = st.text(alphabet=_LIKE_ALPHABET, max_size=12)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -(10**30)]),
    st.floats(),
    _hostile_text,
    st.binary(max_size=4),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.decimals(),
    st.uuids(),
    st.builds(ObjectId),
    st.sampled_from([re.compile("^a"), re.compile("(?i)x"), re.compile(b"bytes")]),
)


def json_like(leaves: st.SearchStrategy[Any] = scalars) -> st.SearchStrategy[Any]:
    """Nested lists, tuples, sets and objects whose keys may be hostile."""
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.frozensets(st.integers(-3, 3), max_size=3),
            st.dictionaries(keys, inner, max_size=4),
        ),
        max_leaves=10,
    )


values = json_like()

_operator_names = st.one_of(
    st.sampled_from(sorted(OPERATORS)),
    st.sampled_from(sorted(FORBIDDEN_OPERATORS)),
    st.sampled_from(["$expr", "$type", "$size", "$mod", "$text", "$regex", "$options"]),
    st.sampled_from(HOSTILE_NAMES),
    st.text(max_size=5),
)

_operator_arguments = st.one_of(
    values,
    like_patterns,
    st.lists(scalars, max_size=4),
    st.lists(scalars, min_size=2, max_size=2),
)

operator_objects = st.dictionaries(_operator_names, _operator_arguments, min_size=1, max_size=3)

conditions = st.one_of(values, operator_objects)


def _logical(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    word = st.sampled_from(["and", "or", "nor", "$and", "$or", "$nor", "$not", "$elemMatch"])
    argument = st.one_of(st.lists(inner, max_size=3), inner, values)
    mixed = st.dictionaries(st.one_of(word, keys), st.one_of(argument, conditions), max_size=3)
    return st.one_of(st.dictionaries(word, argument, min_size=1, max_size=2), mixed)


#: Where clauses, mostly malformed: every operator, wrong types, `$` keys at any depth.
hostile_wheres = st.recursive(st.dictionaries(keys, conditions, max_size=4), _logical, max_leaves=8)

_counts = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.integers(),
    st.sampled_from([2**63 - 1, 2**63, 10**30]),
    st.floats(),
    st.booleans(),
    st.text(alphabet="0123456789-+. ", max_size=22),
    _hostile_text,
    st.lists(st.integers(), max_size=2),
)

_names = st.one_of(st.sampled_from(ITEM_PATHS), st.sampled_from(HOSTILE_NAMES), st.text(max_size=6))
_directions = st.sampled_from(["", " ASC", " DESC", " asc", " Desc", " SIDEWAYS", "  DESC  "])
_order_items = st.one_of(st.builds(lambda n, d: n + d, _names, _directions), _hostile_text)

orders = st.one_of(
    _order_items,
    st.lists(_order_items, max_size=4),
    st.builds(", ".join, st.lists(_order_items, max_size=4)),
    values,
)

fields_specs = st.one_of(
    st.lists(_names, max_size=4),
    st.dictionaries(_names, st.one_of(st.booleans(), scalars), max_size=4),
    st.builds(",".join, st.lists(_names, max_size=4)),
    values,
)

_filter_values = {
    "where": st.one_of(hostile_wheres, values),
    "fields": fields_specs,
    "order": orders,
    "limit": _counts,
    "skip": _counts,
    "offset": _counts,
    "include": st.one_of(st.none(), values),
}

hostile_filters = st.one_of(
    st.fixed_dictionaries({}, optional=_filter_values),
    st.dictionaries(
        st.one_of(st.sampled_from(sorted(FILTER_KEYS)), keys), st.one_of(values, hostile_wheres)
    ),
    values,
)

# --- well-formed filters (the translator's success path) --------------------------------

_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_typed_values: dict[str, st.SearchStrategy[Any]] = {
    "id": st.builds(lambda: str(ObjectId())),
    "name": st.text(max_size=8),
    "n": st.one_of(_int64, st.integers(-1000, 1000).map(str)),
    "score": st.one_of(st.none(), st.floats(allow_nan=False), st.integers(-5, 5)),
    "flag": st.one_of(st.booleans(), st.sampled_from(["true", "false", "1", "0"])),
    "when": st.one_of(
        st.datetimes(timezones=st.just(UTC)),
        st.datetimes().map(datetime.isoformat),
    ),
    "kind": st.sampled_from(["a", "b"]),
    "price": st.decimals(allow_nan=False, allow_infinity=False, places=2).map(
        lambda d: d if abs(d) < Decimal("1e30") else Decimal(0)
    ),
    "ref": st.one_of(st.builds(ObjectId), st.builds(lambda: str(ObjectId()))),
    "uid": st.one_of(st.uuids(), st.uuids().map(str)),
    "tags": st.one_of(st.text(max_size=5), st.lists(st.text(max_size=5), max_size=3)),
    "place.city": st.text(max_size=5),
    "place.zip_code": st.text(max_size=5),
    "places.city": st.text(max_size=5),
    "extra.color": st.one_of(st.text(max_size=5), st.integers(-5, 5), st.booleans()),
    "anything": st.one_of(st.text(max_size=5), st.integers(-5, 5), st.none()),
    "secret": st.one_of(st.none(), st.text(max_size=5)),
}

_ONE = ["eq", "neq", "gt", "gte", "lt", "lte"]
_LIKE = ["like", "nlike", "ilike", "nilike"]


@st.composite
def _typed_condition(draw: st.DrawFn, path: str) -> Any:
    value = _typed_values[path]
    shape = draw(st.integers(0, 7))
    if shape == 0:
        return draw(value)
    if shape == 1:
        return {draw(st.sampled_from(_ONE)): draw(value)}
    if shape == 2:
        return {draw(st.sampled_from(["inq", "nin"])): draw(st.lists(value, max_size=3))}
    if shape == 3:
        return {"between": [draw(value), draw(value)]}
    if shape == 4:
        return {draw(st.sampled_from(_LIKE)): draw(like_patterns)}
    if shape == 5:
        return {"regexp": draw(st.sampled_from(["^a", "/^A/i", "b$", "/x/gm", "[ab]", "é"]))}
    if shape == 6:
        return {"exists": draw(st.sampled_from([True, False, "true", 0]))}
    return {draw(st.sampled_from(_ONE)): draw(value), "neq": draw(value)}


def _typed_clause() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(sorted(_typed_values)).flatmap(
        lambda path: _typed_condition(path).map(lambda c: {path: c})
    )


typed_wheres = st.recursive(
    _typed_clause(),
    lambda inner: st.one_of(
        st.builds(
            lambda word, items: {word: items},
            st.sampled_from(["and", "or", "nor"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.builds(lambda a, b: {**a, **b}, inner, inner),
    ),
    max_leaves=6,
)

typed_filters = st.fixed_dictionaries(
    {},
    optional={
        "where": typed_wheres,
        "fields": st.lists(st.sampled_from(ITEM_PATHS), max_size=3, unique=True),
        "order": st.lists(
            st.builds(
                lambda n, d: n + d,
                st.sampled_from(["name", "n", "when", "score"]),
                st.sampled_from(["", " ASC", " DESC"]),
            ),
            max_size=2,
        ),
        "limit": st.one_of(st.integers(1, 1000), st.integers(1, 9).map(str)),
        "skip": st.integers(0, 1000),
    },
)

# --- write payloads -------------------------------------------------------------------

_write_names = st.one_of(
    st.sampled_from([p for p in ITEM_PATHS if "." not in p]),
    st.sampled_from(HOSTILE_NAMES),
    st.text(max_size=5),
)

_place_like = st.one_of(
    st.fixed_dictionaries(
        {"city": _hostile_text},
        optional={"zip_code": _hostile_text, "code": _hostile_text, "$where": values},
    ),
    st.dictionaries(keys, values, max_size=3),
)

_typed_payload_values: dict[str, st.SearchStrategy[Any]] = {
    **{k: v for k, v in _typed_values.items() if "." not in k},
    "n": st.one_of(_int64, st.integers(), st.floats(), _counts),
    "place": st.one_of(st.none(), _place_like),
    "places": st.lists(_place_like, max_size=2),
    "extra": st.dictionaries(keys, values, max_size=3),
    "anything": values,
}

payloads = st.one_of(
    st.dictionaries(_write_names, values, max_size=5),
    st.fixed_dictionaries(
        {}, optional={name: st.one_of(v, values) for name, v in _typed_payload_values.items()}
    ),
    values,
)

#: Update data with the extended operators (valid and not) next to plain properties.
update_payloads = st.one_of(
    payloads,
    st.dictionaries(
        st.one_of(
            st.sampled_from(sorted(UPDATE_OPERATORS)),
            st.sampled_from(["$rename", "$setOnInsert", "$bit", "$where", "$function", "$"]),
            _write_names,
        ),
        st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from(ITEM_PATHS), keys),
                st.one_of(
                    values,
                    st.fixed_dictionaries({"$each": st.lists(values, max_size=3)}),
                    st.dictionaries(_operator_names, _operator_arguments, max_size=2),
                ),
                max_size=3,
            ),
            values,
        ),
        max_size=4,
    ),
)

# --- well-formed payloads (the write checks' success path) -------------------------------

_text = st.text(max_size=8)
_clean_place = st.fixed_dictionaries({"city": _text}, optional={"zip_code": _text, "code": _text})
_json_leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), _text)
_clean_values: dict[str, st.SearchStrategy[Any]] = {
    "name": st.text(max_size=40),
    "n": st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-99, 99).map(str)),
    "score": st.one_of(st.none(), st.floats()),
    "flag": st.booleans(),
    "when": st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    "kind": st.sampled_from(["a", "b"]),
    "price": st.one_of(st.none(), st.decimals(places=2, min_value=-(10**9), max_value=10**9)),
    "ref": st.one_of(st.none(), st.builds(ObjectId)),
    "uid": st.one_of(st.none(), st.uuids()),
    "tags": st.lists(_text, max_size=3),
    "place": st.one_of(st.none(), _clean_place),
    "places": st.lists(_clean_place, max_size=2),
    "extra": st.dictionaries(
        _text.filter(lambda k: k and "." not in k and "$" not in k[:1] and "\x00" not in k),
        json_like(_json_leaves),
        max_size=3,
    ),
    "anything": json_like(_json_leaves),
    "secret": st.one_of(st.none(), _text),
}
clean_payloads = st.fixed_dictionaries({}, optional=_clean_values)


@st.composite
def _one_hostile(draw: st.DrawFn) -> dict[str, Any]:
    payload = draw(clean_payloads.filter(bool))
    name = draw(st.sampled_from(sorted(payload)))
    inner = payload[name]
    if isinstance(inner, dict) and inner and draw(st.booleans()):
        inner[draw(st.sampled_from(sorted(inner)))] = draw(values)
    elif isinstance(inner, list) and inner and draw(st.booleans()):
        inner[draw(st.integers(0, len(inner) - 1))] = draw(values)
    else:
        payload[name] = draw(values)
    return payload


payloads_one_hostile = _one_hostile()

clean_update_payloads = st.fixed_dictionaries(
    {},
    optional={
        "$inc": st.fixed_dictionaries(
            {"n": st.integers(-5, 5)}, optional={"score": st.floats(-1, 1)}
        ),
        "$set": st.dictionaries(
            st.sampled_from(["name", "place.city", "extra.color", "anything.deep"]),
            _text,
            min_size=1,
            max_size=2,
        ),
        "$push": st.one_of(
            st.fixed_dictionaries({"tags": _text}),
            st.fixed_dictionaries(
                {"tags": st.fixed_dictionaries({"$each": st.lists(_text, max_size=3)})}
            ),
            st.fixed_dictionaries({"places": _clean_place}),
        ),
        "$pull": st.one_of(
            st.fixed_dictionaries({"tags": _text}),
            st.fixed_dictionaries(
                {"tags": st.fixed_dictionaries({"inq": st.lists(_text, max_size=3)})}
            ),
            st.fixed_dictionaries(
                {"tags": st.fixed_dictionaries({"$in": st.lists(_text, max_size=3)})}
            ),
            st.fixed_dictionaries({"places": st.fixed_dictionaries({"zip_code": _text})}),
            st.fixed_dictionaries(
                {
                    "places": st.fixed_dictionaries(
                        {"city": st.fixed_dictionaries({"like": like_patterns})}
                    )
                }
            ),
        ),
        "$addToSet": st.fixed_dictionaries({"tags": _text}),
        "$unset": st.fixed_dictionaries({"score": st.just("")}),
        "$min": st.fixed_dictionaries({"n": st.integers(-5, 5)}),
        "$max": st.fixed_dictionaries({"when": st.datetimes(timezones=st.just(UTC))}),
        "$currentDate": st.fixed_dictionaries({"when": st.just(True)}),
        "name": _text,
        "tags": st.lists(_text, max_size=2),
    },
)


@st.composite
def _update_one_hostile(draw: st.DrawFn) -> dict[str, Any]:
    payload = draw(clean_update_payloads.filter(bool))
    name = draw(st.sampled_from(sorted(payload)))
    inner = payload[name]
    if isinstance(inner, dict) and inner and draw(st.booleans()):
        slot = draw(st.sampled_from(sorted(inner)))
        if isinstance(inner[slot], dict) and inner[slot] and draw(st.booleans()):
            inner[slot][draw(st.sampled_from(sorted(inner[slot])))] = draw(values)
        else:
            inner[slot] = draw(st.one_of(values, st.dictionaries(keys, values, max_size=2)))
    elif isinstance(inner, dict) and draw(st.booleans()):
        inner[draw(keys)] = draw(values)
    else:
        payload[name] = draw(values)
    return payload


update_payloads_one_hostile = _update_one_hostile()
