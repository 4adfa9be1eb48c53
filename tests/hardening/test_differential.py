"""Differential tests: generated sequences of repository operations run on the mock
(mongomock-motor), on the embedded server (pymongo and motor) and on an in-Python
reference of the filter semantics (``reference.py``); every result and the stored state
after every write must agree.

The deliberate exceptions are listed in ``MOCK_LIMITS``: each names the construct, the
backend and the limit that explains it; results that differ only there are counted and
reported, never silently accepted.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from odm import EntityNotFoundError, InvalidFilterError, Repository, ValidationError
from odm.embedded import EmbeddedServer
from odm.testing import backend_database

from . import reference
from .models import Row
from .tally import count, note

SECTION = "differential (mock, pymongo, motor vs reference)"
# Shrinking replays programs on three databases for minutes; a failure names its step
# (backend, step, got, want) and hypothesis prints the whole program.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]

# --- what is generated ------------------------------------------------------------------

_NAME_ALPHABET = "aAbéÉ%_\\.$\n"
_TAGS = ["a", "b", "A", "é", "%"]
_CITIES = ["Paris", "paris", "Lyon", "Ly_n", "", "Zürich"]

# small pools, so that generated filters select rows: case, accents, LIKE wildcards and
# regex metacharacters as data, a trailing newline
_NAMES = ["", "a", "A", "ab", "Ab", "aB", "é", "É", "éa", "a%", "a_b", "a.b", "a\\b", "a\n"]
_name_pool = st.sampled_from(_NAMES)
names = st.one_of(_name_pool, _name_pool, _name_pool, st.text(alphabet=_NAME_ALPHABET, max_size=3))
numbers = st.integers(-3, 3)
scores = st.one_of(st.none(), st.sampled_from([-1.5, 0.0, 0.5, 2.0, 3.25]))
tags = st.lists(st.sampled_from(_TAGS), max_size=3)
spots = st.one_of(
    st.none(),
    st.fixed_dictionaries({"city": st.sampled_from(_CITIES)}, optional={"zip_code": names}),
)
_ROW_VALUES = {
    "name": names,
    "n": numbers,
    "score": scores,
    "flag": st.booleans(),
    "tags": tags,
    "spot": spots,
    "secret": st.one_of(st.none(), names),
}
row_data = st.fixed_dictionaries({}, optional=_ROW_VALUES)

_SPOTS = [
    None,
    {"city": "Paris"},
    {"city": "paris", "zip_code": "a_b"},
    {"city": "Ly_n"},
    {"city": ""},
]
_TAG_LISTS = [[], ["a"], ["A", "b"], ["é", "%"], ["b", "a", "a"]]
#: Rows stored before the generated ones, so that every filter meets every kind of value:
#: each name of the pool, nulls, an unset (missing) score, a null embedded document.
BASE_ROWS: list[tuple[dict[str, Any], bool]] = [
    (
        {
            "name": name,
            "n": index % 7 - 3,
            "score": [None, -1.5, 0.0, 0.5, 2.0, 3.25][index % 6],
            "flag": index % 2 == 0,
            "tags": _TAG_LISTS[index % 5],
            "spot": _SPOTS[index % 5],
            "secret": [None, "a", "A%"][index % 3],
        },
        index % 4 == 3,  # stored with score unset
    )
    for index, name in enumerate(_NAMES)
]
update_data = st.fixed_dictionaries({}, optional=_ROW_VALUES).filter(bool)

_PATTERNS = ["a", "A", "a%", "%A", "%", "_", "__", "é", "É%", "a\\%", "a_b", "a.b", "%\\_%", "%b"]
_pattern_pool = st.sampled_from(_PATTERNS)
like_patterns = st.one_of(
    _pattern_pool, _pattern_pool, _pattern_pool, st.text(alphabet="aAéÉ%_\\.", max_size=4)
)
_REGEXPS = ["^a", "a$", "/^A/i", "é", "[ab]", "^$", "/B/i", "\\.", "/^p/i"]

_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "name": names,
    "n": numbers,
    "score": scores,
    "flag": st.booleans(),
    "tags": st.sampled_from(_TAGS),
    "spot.city": st.one_of(st.none(), st.sampled_from(_CITIES)),
    "secret": st.one_of(st.none(), names),
    "key": st.integers(0, 12),
}
_ORDERED = ["name", "n", "score", "tags", "spot.city", "secret", "key"]
_TEXT = ["name", "tags", "spot.city", "secret"]


@st.composite
def condition(draw: st.DrawFn, path: str) -> Any:
    value = _SCALARS[path]
    choices = ["eq", "implicit", "neq", "inq", "nin", "exists"]
    if path in _ORDERED:
        choices += ["gt", "gte", "lt", "lte", "between"]
    if path in _TEXT:
        choices += ["like", "nlike", "ilike", "nilike", "regexp"]
    if path == "tags":
        choices += ["whole"]
    if path in _TEXT and draw(st.booleans()):
        choices = ["like", "nlike", "ilike", "nilike", "regexp"]  # the patterns, more often
    operator = draw(st.sampled_from(choices))
    if operator == "implicit":
        return draw(value)
    if operator == "whole":
        return draw(tags)
    if operator in ("inq", "nin"):
        return {operator: draw(st.lists(value, max_size=3))}
    if operator == "between":
        return {"between": [draw(value), draw(value)]}
    if operator in ("like", "nlike", "ilike", "nilike"):
        return {operator: draw(like_patterns)}
    if operator == "regexp":
        return {"regexp": draw(st.sampled_from(_REGEXPS))}
    if operator == "exists":
        return {"exists": draw(st.booleans())}
    return {operator: draw(value)}


def _clause() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(sorted(_SCALARS)).flatmap(
        lambda path: condition(path).map(lambda c: {path: c})
    )


wheres = st.recursive(
    _clause(),
    lambda inner: st.one_of(
        st.builds(
            lambda word, items: {word: items},
            st.sampled_from(["and", "or", "nor"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.builds(lambda a, b: {**b, **a}, inner, inner),
    ),
    max_leaves=5,
)
maybe_wheres = st.one_of(st.none(), wheres)

_SORTABLE = ["name", "n", "score", "flag", "secret", "spot.city"]


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any]:
    filter: dict[str, Any] = {}
    where = draw(maybe_wheres)
    if where is not None:
        filter["where"] = where
    if draw(st.booleans()):
        items = draw(st.lists(st.sampled_from(_SORTABLE), max_size=2, unique=True))
        directions = [draw(st.sampled_from(["ASC", "DESC"])) for _ in items]
        # a unique last key: a total order, so limit and skip pick the same rows everywhere
        filter["order"] = [f"{p} {d}" for p, d in zip(items, directions, strict=True)]
        filter["order"].append(f"key {draw(st.sampled_from(['ASC', 'DESC']))}")
        if draw(st.booleans()):
            filter["limit"] = draw(st.integers(1, 4))
        if draw(st.booleans()):
            filter["skip"] = draw(st.integers(0, 3))
    if draw(st.integers(0, 3)) == 0:
        chosen = draw(st.lists(st.sampled_from(sorted(_ROW_VALUES)), min_size=1, max_size=3))
        filter["fields"] = sorted({*chosen, "key"})
    return filter


_extended = st.one_of(
    st.fixed_dictionaries({"$inc": st.fixed_dictionaries({"n": st.integers(-2, 2)})}),
    st.fixed_dictionaries({"$push": st.fixed_dictionaries({"tags": st.sampled_from(_TAGS)})}),
    st.fixed_dictionaries({"$pull": st.fixed_dictionaries({"tags": st.sampled_from(_TAGS)})}),
    st.fixed_dictionaries(
        {
            "$pull": st.fixed_dictionaries(
                {
                    "tags": st.fixed_dictionaries(
                        {"inq": st.lists(st.sampled_from(_TAGS), max_size=2)}
                    )
                }
            )
        }
    ),
    st.fixed_dictionaries({"$addToSet": st.fixed_dictionaries({"tags": st.sampled_from(_TAGS)})}),
    st.fixed_dictionaries({"$unset": st.fixed_dictionaries({"score": st.just("")})}),
    st.fixed_dictionaries({"$max": st.fixed_dictionaries({"n": st.integers(-3, 3)})}),
)

_reads = st.one_of(
    st.tuples(st.just("find"), filters()),
    st.tuples(st.just("find_one"), filters()),
    st.tuples(st.just("count"), maybe_wheres),
)
steps = st.one_of(
    _reads,
    _reads,
    st.tuples(st.just("create"), row_data),
    st.tuples(st.just("create_all"), st.lists(row_data, max_size=4)),
    st.tuples(st.just("update_all"), update_data, maybe_wheres),
    st.tuples(st.just("extended_update_all"), _extended, maybe_wheres),
    st.tuples(st.just("update_by_id"), st.integers(0, 12), update_data),
    st.tuples(st.just("delete_all"), wheres),
    st.tuples(st.just("delete_by_id"), st.integers(0, 12)),
    st.tuples(
        st.just("find_one_and_update"),
        maybe_wheres,
        update_data,
        st.sampled_from(["n DESC, key ASC", "key DESC", "name ASC, key ASC"]),
        st.booleans(),
    ),
)
# every program starts by storing a few rows, so that its filters have something to select
programs = st.builds(
    lambda seed, rest: [("create_all", seed), *rest],
    st.lists(row_data, min_size=3, max_size=8),
    st.lists(steps, min_size=4, max_size=16),
)

# --- the reference ------------------------------------------------------------------------

_DEFAULTS = {
    "name": "",
    "n": 0,
    "score": None,
    "flag": False,
    "tags": [],
    "spot": None,
    "secret": None,
}


def _row_of(data: Mapping[str, Any]) -> dict[str, Any]:
    row = {**_DEFAULTS, **data}
    if isinstance(row["spot"], Mapping):
        row["spot"] = {"zip_code": "", **row["spot"]}
    row["tags"] = list(row["tags"])
    return row


@dataclass
class Reference:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def matching(self, where: Any) -> list[dict[str, Any]]:
        return [row for row in self.rows if reference.matches(row, where)]

    def update(self, row: dict[str, Any], data: Mapping[str, Any]) -> None:
        for name, value in data.items():
            if name == "$inc":
                for path, step in value.items():
                    row[path] = row.get(path, 0) + step
            elif name == "$max":
                for path, bound in value.items():
                    row[path] = max(row.get(path, bound), bound)
            elif name == "$push":
                for path, item in value.items():
                    row[path] = [*row.get(path, []), item]
            elif name == "$addToSet":
                for path, item in value.items():
                    if item not in row.get(path, []):
                        row[path] = [*row.get(path, []), item]
            elif name == "$pull":
                for path, what in value.items():
                    gone = what.get("inq", []) if isinstance(what, Mapping) else [what]
                    row[path] = [item for item in row.get(path, []) if item not in gone]
            elif name == "$unset":
                for path in value:
                    row.pop(path, None)
            else:
                row[name] = _row_of({name: value})[name]

    def find(self, filter: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = self.matching(filter.get("where"))
        order = filter.get("order")
        if order:
            items = [(item.split()[0], -1 if item.split()[1] == "DESC" else 1) for item in order]
            rows = reference.order(rows, items)
        else:
            rows = sorted(rows, key=lambda row: row["key"])
        skip = filter.get("skip", 0)
        rows = rows[skip:]
        if "limit" in filter:
            rows = rows[: filter["limit"]]
        return rows


def _loaded(row: Mapping[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
    """A reference row as the backends' entities show it (a missing field: its default)."""
    shown = {**_DEFAULTS, **row}
    if fields is not None:
        shown = {name: shown[name] for name in fields}
    return shown


def _entity(entity: Row, fields: list[str] | None = None) -> dict[str, Any]:
    data = entity.to_dict(include_hidden=True)
    data.pop("id", None)
    if data.get("spot") is not None:
        data["spot"] = dict(data["spot"])
    if fields is not None:
        data = {name: data[name] for name in fields}
    return data


# --- the deliberate exceptions -----------------------------------------------------------


#: [(what, predicate on a step's where clause, the backend limit that explains it)]
#: (none today: the mock adapter widens null tests and negations through a null parent and
#: reads ``$gte``/``$lte`` null as null tests, so the mock agrees on every generated step)
MOCK_LIMITS: list[tuple[str, Callable[[Any], bool], str]] = []


def _wheres_of(step: tuple[Any, ...]) -> list[Any]:
    kind = step[0]
    if kind in ("update_all", "extended_update_all"):
        return [step[2]]
    if kind in ("delete_all", "count"):
        return [step[1]]
    if kind in ("find", "find_one"):
        return [step[1].get("where")]
    if kind == "find_one_and_update":
        return [step[1]]
    return []


def mock_limit(step: tuple[Any, ...]) -> str | None:
    """The reason the mock may differ on this step, or None."""
    for what, applies, reason in MOCK_LIMITS:
        if any(applies(where) for where in _wheres_of(step)):
            return f"{what}: {reason}"
    return None


# --- running a program ---------------------------------------------------------------------


@dataclass
class Backend:
    label: str
    rows: Repository[Row]
    extended: Repository[Row]
    ids: dict[int, str] = field(default_factory=dict)

    async def reset(self) -> None:
        await self.rows.collection.delete_many({})
        self.ids.clear()


@pytest_asyncio.fixture
async def backends(odm_embedded_server: EmbeddedServer) -> AsyncIterator[list[Backend]]:
    async with (
        backend_database("mock") as mock_db,
        backend_database("embedded", odm_embedded_server) as pymongo_db,
        backend_database("motor", odm_embedded_server) as motor_db,
    ):
        yield [
            Backend(label, Repository(Row, db), Repository(Row, db, allow_extended_operators=True))
            for label, db in (("mock", mock_db), ("pymongo", pymongo_db), ("motor", motor_db))
        ]


async def apply(backend: Backend, step: tuple[Any, ...], keys: list[int]) -> Any:
    """Run one step on one backend; the outcome in a comparable form."""
    kind = step[0]
    repo = backend.rows
    try:
        if kind == "create":
            created = await repo.create({**step[1], "key": keys[0]})
            backend.ids[keys[0]] = created.id
            return _entity(created)
        if kind == "create_all":
            items = [{**data, "key": key} for data, key in zip(step[1], keys, strict=False)]
            created_all = await repo.create_all(items)
            backend.ids.update((entity.key, entity.id) for entity in created_all)
            return [_entity(entity) for entity in created_all]
        if kind == "update_all":
            return await repo.update_all(step[1], step[2])
        if kind == "extended_update_all":
            return await backend.extended.update_all(step[1], step[2])
        if kind == "update_by_id":
            await repo.update_by_id(backend.ids.get(step[1], "0" * 24), step[2])
            return None
        if kind == "delete_all":
            return await repo.delete_all(step[1])
        if kind == "delete_by_id":
            await repo.delete_by_id(backend.ids.get(step[1], "0" * 24))
            return None
        if kind == "find":
            fields = step[1].get("fields")
            found = [_entity(entity, fields) for entity in await repo.find(step[1])]
            if "order" not in step[1]:  # the natural order is the database's own
                found.sort(key=lambda data: data["key"])
            return found
        if kind == "find_one":
            fields = step[1].get("fields")
            one = await repo.find_one(step[1])
            return None if one is None else _entity(one, fields)
        if kind == "count":
            return await repo.count(step[1])
        if kind == "find_one_and_update":
            _, where, data, order, return_new = step
            found = await repo.find_one_and_update(where, data, order=order, return_new=return_new)
            return None if found is None else _entity(found)
    except (EntityNotFoundError, ValidationError, InvalidFilterError) as error:
        return ("error", type(error).__name__)
    raise AssertionError(f"unknown step {kind}")


@dataclass(frozen=True)
class AnyOf:
    """An outcome any of ``options`` is: ``find_one`` with no order returns the first
    matching entity in the database's natural order, which the SPEC leaves open."""

    options: list[Any]

    def __eq__(self, other: object) -> bool:
        return other in self.options

    __hash__ = None  # type: ignore[assignment]


def expected(model: Reference, step: tuple[Any, ...], keys: list[int]) -> Any:
    """The reference outcome of one step (and its effect on the reference rows)."""
    kind = step[0]
    if kind == "create":
        model.rows.append(_row_of({**step[1], "key": keys[0]}))
        return _loaded(model.rows[-1])
    if kind == "create_all":
        rows = [_row_of({**data, "key": key}) for data, key in zip(step[1], keys, strict=False)]
        model.rows.extend(rows)
        return [_loaded(row) for row in rows]
    if kind in ("update_all", "extended_update_all"):
        matched = model.matching(step[2])
        for row in matched:
            model.update(row, step[1])
        return len(matched)
    if kind in ("update_by_id", "delete_by_id"):
        found = [row for row in model.rows if row["key"] == step[1]]
        if not found:
            return ("error", "EntityNotFoundError")
        if kind == "update_by_id":
            model.update(found[0], step[2])
        else:
            model.rows.remove(found[0])
        return None
    if kind == "delete_all":
        gone = model.matching(step[1])
        model.rows = [row for row in model.rows if row not in gone]
        return len(gone)
    if kind in ("find", "find_one"):
        fields = step[1].get("fields")
        found_rows = model.find(step[1])
        if kind == "find_one" and "order" not in step[1]:
            return AnyOf([_loaded(row, fields) for row in found_rows] or [None])
        if kind == "find_one":
            return _loaded(found_rows[0], fields) if found_rows else None
        return [_loaded(row, fields) for row in found_rows]
    if kind == "count":
        return len(model.matching(step[1]))
    if kind == "find_one_and_update":
        _, where, data, order, return_new = step
        items = [(i.split()[0], -1 if i.split()[1] == "DESC" else 1) for i in order.split(", ")]
        candidates = reference.order(model.matching(where), items)
        if not candidates:
            return None
        before = _loaded(candidates[0])
        model.update(candidates[0], data)
        return _loaded(candidates[0]) if return_new else before
    raise AssertionError(f"unknown step {kind}")


async def state(backend: Backend) -> list[dict[str, Any]]:
    return [_entity(e) for e in await backend.rows.find({"order": "key ASC"})]


def reference_state(model: Reference) -> list[dict[str, Any]]:
    return [_loaded(row) for row in sorted(model.rows, key=lambda row: row["key"])]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    phases=NO_SHRINK,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
@given(program=programs)
async def test_mock_and_server_agree_with_the_reference(
    backends: list[Backend], program: list[tuple[Any, ...]]
) -> None:
    count(SECTION, "programs (examples)")
    for backend in backends:
        await backend.reset()
    model = Reference()
    next_key = itertools.count()
    for step in program:
        size = len(step[1]) if step[0] == "create_all" else 1
        keys = [next(next_key) for _ in range(size)]
        want = expected(model, step, keys)
        limit = mock_limit(step)
        for backend in backends:
            got = await apply(backend, step, keys)
            count(SECTION, f"operations on {backend.label}")
            if got != want and backend.label == "mock" and limit is not None:
                count(SECTION, "mock results left uncompared (documented limit)")
                note(SECTION, f"mock limit met: {limit}")
                await _resync(backend, model)
                continue
            assert got == want, (backend.label, step, got, want)
        if step[0] in ("find", "count", "update_all", "delete_all") and want:
            count(SECTION, "reads and writes that selected rows")
        count(SECTION, "steps compared")
        if step[0] not in ("find", "find_one", "count"):
            want_state = reference_state(model)
            for backend in backends:
                assert await state(backend) == want_state, (backend.label, step)


async def _resync(backend: Backend, model: Reference) -> None:
    """Make the mock's rows the reference's again after a documented difference in a write."""
    await backend.reset()
    for row in sorted(model.rows, key=lambda row: row["key"]):
        created = await backend.rows.create(row)
        backend.ids[row["key"]] = created.id
        if "score" not in row:
            await backend.extended.update_by_id(created.id, {"$unset": {"score": ""}})


# --- many filters over one generated data set ------------------------------------------------

_stored_rows = st.lists(
    st.tuples(
        st.fixed_dictionaries(
            {"name": names, "tags": tags},
            optional={k: v for k, v in _ROW_VALUES.items() if k not in ("name", "tags")},
        ),
        st.booleans(),
    ),  # the flag: store the row with score unset (missing)
    min_size=4,
    max_size=12,
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    phases=NO_SHRINK,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(generated=_stored_rows, queries=st.lists(filters(), min_size=10, max_size=25))
async def test_filters_select_the_same_rows_on_every_backend_as_the_reference(
    backends: list[Backend], generated: list[tuple[dict[str, Any], bool]], queries: list[Any]
) -> None:
    count(SECTION, "data sets (examples)")
    rows = BASE_ROWS + generated
    model = Reference(rows=[_row_of({**data, "key": key}) for key, (data, _) in enumerate(rows)])
    unset = [key for key, (_, missing) in enumerate(rows) if missing]
    for row in model.rows:
        if row["key"] in unset:
            del row["score"]
    for backend in backends:
        await backend.reset()
        await backend.rows.create_all([{**data, "key": key} for key, (data, _) in enumerate(rows)])
        if unset:
            await backend.extended.update_all({"$unset": {"score": ""}}, {"key": {"inq": unset}})
    for filter in queries:
        step = ("find", filter)
        want = expected(model, step, [])
        limit = mock_limit(step)
        for backend in backends:
            got = await apply(backend, step, [])
            count(SECTION, f"operations on {backend.label}")
            if got != want and backend.label == "mock" and limit is not None:
                count(SECTION, "mock results left uncompared (documented limit)")
                note(SECTION, f"mock limit met: {limit}")
                continue
            assert got == want, (backend.label, filter, got, want)
        count(SECTION, "steps compared")
        if want:
            count(SECTION, "reads and writes that selected rows")
