"""Invariants of every write, as hypothesis properties, on every backend.

Programs of writes (create, create_all, replace_by_id, update_by_id, update_all with plain
data and with extended operators, find_one_and_update with and without upsert), with
hostile payloads, run against one of several model shapes (hidden, renamed, scoped at the
top and on a dotted path, nested, ``strict`` True / "filter" / False). After every step:

(a) every stored document loads through ``find()``;
(b) every document that was in the default scope still is;
(c) no output (``to_json``, ``model_dump``, ``model_dump_json``, ``repr``, ``str``, a
    ``ValidationError``'s message and detail values) holds a hidden value.

A write may be refused by odm (``ValidationError``, ``EntityNotFoundError``,
``InvalidFilterError``) or by the server (a driver error, e.g. ``$mul`` of text in an
``Any`` property); nothing else is raised.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pymongo.errors
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from odm import (
    Entity,
    EntityNotFoundError,
    InvalidFilterError,
    Model,
    Repository,
    ValidationError,
    model,
    prop,
)
from odm.updates import UPDATE_OPERATORS

from .tally import count

SECTION = "write invariants (hypothesis, every backend)"
HIDDEN = "HIDDEN-"


@model()
class Inner(Model):
    label: str = ""
    tenant: str = "a"
    pin: str | None = prop(default=None, hidden=True)


@model(collection="wp_hidden", hidden_properties=["secret"], scope={"where": {"tenant": "a"}})
class HiddenRow(Entity):
    """Strict; a hidden property and a hidden one inside an embedded model; renamed
    fields; a top-level scope on a renamed field."""

    name: str = prop(default="", json_schema={"maxLength": 8})
    n: int = prop(default=0, field_name="num")
    tenant: str = prop(default="a", field_name="t")
    tags: list[str] = prop(default_factory=list)
    inner: Inner | None = None
    secret: str | None = None


@model(collection="wp_nested", strict=False, scope={"where": {"owner.tenant": "a"}})
class NestedRow(Entity):
    """strict=False with a renamed field; the scope on a dotted path."""

    name: str = ""
    n: int = prop(default=0, field_name="num")
    owner: Inner | None = None
    extra: dict[str, Any] = prop(default_factory=dict)


@model(collection="wp_plain", strict="filter")
class PlainRow(Entity):
    """strict="filter"; a required property; no scope."""

    name: str
    when: datetime | None = None
    ratio: float = 0.0
    tags: list[str] = prop(default_factory=list)
    inner: Inner | None = None
    secret: str | None = prop(default=None, hidden=True)


MODELS = [HiddenRow, NestedRow, PlainRow]
KEYS = ["name", "n", "num", "t", "tenant", "tags", "inner", "owner", "extra", "when", "ratio",
        "_id", "id", "x", "owner.tenant", "$where", "inner.pin"]  # fmt: skip
PATHS = ["name", "n", "num", "t", "tenant", "tags", "tags.0", "inner", "inner.tenant",
         "inner.label", "owner", "owner.tenant", "extra", "extra.k", "when", "ratio", "id",
         "x"]  # fmt: skip
OPERATORS = [*sorted(UPDATE_OPERATORS), "$rename", "$setOnInsert", "$bit"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, -1.5, 2**63, 1e300]),
    st.sampled_from(["", "a", "b", "x" * 9, "2024-01-02T03:04:05Z", "\ud800"]),
    st.just(datetime(2024, 1, 2, tzinfo=UTC)),
)
inner_docs = st.fixed_dictionaries(
    {},
    optional={
        "label": st.sampled_from(["", "l", 3]),
        "tenant": st.sampled_from(["a", "b", None]),
        "t": st.just("b"),
        "_id": st.just("x"),
    },
)
values = st.recursive(
    st.one_of(scalars, inner_docs),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["k", "tenant", "$x", "a.b"]), inner, max_size=2),
    ),
    max_leaves=6,
)
hidden_values = st.builds(lambda n: f"{HIDDEN}{n}", st.integers(0, 999))
hidden_entries = st.fixed_dictionaries(
    {},
    optional={
        "secret": st.one_of(hidden_values, hidden_values.map(lambda v: [v])),
        "inner": st.builds(lambda v: {"pin": v}, st.one_of(hidden_values, st.just([HIDDEN]))),
    },
)
clean = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["a", "bb", "upserted"]),
        "n": st.integers(-2, 2),
        "tags": st.lists(st.sampled_from(["a", "b"]), max_size=2),
        "inner": st.builds(lambda label: {"label": label}, st.sampled_from(["", "z"])),
    },
)
plain = st.builds(
    lambda data, hidden: {**data, **hidden},
    st.one_of(clean, st.dictionaries(st.sampled_from(KEYS), values, max_size=3)),
    hidden_entries,
)
operator_data = st.dictionaries(
    st.sampled_from(OPERATORS),
    st.dictionaries(
        st.sampled_from(PATHS),
        st.one_of(values, st.sampled_from([1, -1, True, {"$each": ["a", "b"]}])),
        min_size=1,
        max_size=2,
    ),
    min_size=1,
    max_size=2,
)
clean_operators = st.sampled_from(
    [
        {"$inc": {"n": 2}},
        {"$mul": {"n": -1}},
        {"$push": {"tags": "a"}},
        {"$addToSet": {"tags": {"$each": ["a", "b"]}}},
        {"$pop": {"tags": -1}},
        {"$pull": {"tags": {"inq": ["a"]}}},
        {"$set": {"inner.label": "z"}, "$currentDate": {"when": True}},
        {"$unset": {"inner": ""}, "$max": {"ratio": 2.5}},
    ]
)
with_operators = st.builds(
    lambda ops, data: {**ops, **data}, st.one_of(clean_operators, operator_data), plain
)
steps = st.one_of(
    st.tuples(st.just("create"), plain),
    st.tuples(st.just("create_all"), st.lists(plain, min_size=1, max_size=3)),
    st.tuples(st.just("replace_by_id"), plain),
    st.tuples(st.just("update_by_id"), st.one_of(plain, with_operators)),
    st.tuples(st.just("update_all"), st.one_of(plain, with_operators)),
    st.tuples(
        st.sampled_from(["find_one_and_update", "upsert"]),
        st.one_of(plain, with_operators),
    ),
)
programs = st.tuples(st.sampled_from(MODELS), st.lists(steps, min_size=2, max_size=6))

#: What a refused write may raise: odm's errors, or the server's for an operator it
#: cannot apply to what is stored (mongomock's errors derive from pymongo's).
REFUSALS = (ValidationError, EntityNotFoundError, InvalidFilterError, pymongo.errors.PyMongoError)


def assert_nothing_hidden(outputs: list[str]) -> None:
    for text in outputs:
        assert HIDDEN not in text, text


def shown(entity: Entity) -> list[str]:
    return [
        repr(entity),
        str(entity),
        str(entity.to_json()),
        str(entity.model_dump()),
        entity.model_dump_json(),
    ]


def for_model(cls: type[Entity], data: Any) -> Any:
    """The hidden entries of a payload where ``cls`` hides them: NestedRow (strict=False)
    has no ``secret`` or ``inner`` (they would be plain extras); its owner's pin is hidden."""
    if cls is not NestedRow:
        return data
    if isinstance(data, list):
        return [for_model(cls, item) for item in data]
    data = {key: value for key, value in data.items() if key != "secret"}
    if "inner" in data:
        data["owner"] = data.pop("inner")
    return data


async def run(repo: Repository[Any], step: tuple[Any, Any], ids: list[Any]) -> list[Any]:
    kind, data = step[0], for_model(repo.entity_class, step[1])
    target = ids[-1] if ids else "65a1b2c3d4e5f6a7b8c9d0e1"
    if kind == "create":
        return [await repo.create(data)]
    if kind == "create_all":
        return list(await repo.create_all(data))
    if kind == "replace_by_id":
        await repo.replace_by_id(target, data)
    elif kind == "update_by_id":
        await repo.update_by_id(target, data)
    elif kind == "update_all":
        await repo.update_all(data)
    else:
        where = {"name": "upserted"} if kind == "upsert" else {}
        found = await repo.find_one_and_update(where, data, upsert=kind == "upsert")
        return [found] if found is not None else []
    return []


#: Write programs run against a real database per example: few, reproducible, unshrunk.
PROGRAMS_ON_A_DATABASE = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@settings(PROGRAMS_ON_A_DATABASE)
@given(program=programs)
async def test_every_accepted_write_keeps_the_invariants(
    odm_db: Any, program: tuple[type[Entity], list[tuple[Any, Any]]]
) -> None:
    cls, writes = program
    repo = Repository(cls, odm_db, allow_extended_operators=True)
    await repo.collection.delete_many({})
    count(SECTION, "programs")
    ids: list[Any] = []
    for step in writes:
        in_scope = {entity.id for entity in await repo.find()}
        try:
            returned = await run(repo, step, ids)
        except REFUSALS as error:
            count(SECTION, f"refused ({type(error).__name__})")
            outputs = [str(error)]
            if isinstance(error, ValidationError):
                outputs += [repr(detail["value"]) for detail in error.details]
            assert_nothing_hidden(outputs)
            continue
        count(SECTION, f"accepted {step[0]}")
        ids.extend(entity.id for entity in returned)
        stored = [doc async for doc in repo.collection.find({})]
        loaded = await repo.unscoped().find()  # (a) every stored document loads
        assert len(loaded) == len(stored)
        assert in_scope <= {entity.id for entity in await repo.find()}  # (b)
        assert_nothing_hidden([text for entity in [*loaded, *returned] for text in shown(entity)])
