"""The invariants of every write, as hypothesis properties, for the upsert family
(``find_or_create``, ``upsert``, ``replace_or_create``, ``upsert_with_where``) on every
backend, with the payloads and model shapes of ``test_write_properties``. After each step:

(a) every stored document loads through ``find()``;
(b) every document that was in the default scope still is, and what the step returned is
    in scope;
(c) an id argument is an id: a dict or a list given as the id is ``EntityNotFoundError``
    and changes nothing;
(d) no output holds a hidden value.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from odm import EntityNotFoundError, ODMError, Repository

from .tally import count
from .test_write_properties import (
    MODELS,
    PROGRAMS_ON_A_DATABASE,
    REFUSALS,
    assert_nothing_hidden,
    clean,
    for_model,
    plain,
    shown,
    values,
)

SECTION = "upsert invariants (hypothesis, every backend)"
EXISTING = "existing"  # stands for the id of a stored document

wheres = st.one_of(
    st.sampled_from(
        [
            {"name": "upserted"},
            {"name": "a"},
            {"n": 1},
            {"tenant": "b"},
            {"tenant": "a", "name": "bb"},
            {"owner.tenant": "a"},
            {"name": {"like": "a%"}},
            {},
        ]
    ),
    st.dictionaries(st.sampled_from(["name", "n", "tenant", "id", "x"]), values, max_size=2),
)
ids = st.one_of(
    st.just(EXISTING),
    st.sampled_from(["65a1b2c3d4e5f6a7b8c9d0e1", "nope", 7, None]),
    st.sampled_from([{"$ne": None}, {"neq": None}, ["x"], [EXISTING]]),
)
data = st.one_of(clean.map(lambda d: {"name": "bb", **d}), plain)
steps = st.one_of(
    st.tuples(st.just("find_or_create"), wheres, data),
    st.tuples(st.sampled_from(["upsert", "replace_or_create"]), ids, data),
    st.tuples(st.just("upsert_with_where"), wheres, data),
)
programs = st.tuples(st.sampled_from(MODELS), st.lists(steps, min_size=2, max_size=5))


def resolved(value: Any, stored: list[Any]) -> Any:
    target = stored[-1] if stored else "65a1b2c3d4e5f6a7b8c9d0e1"
    if value == EXISTING:
        return target
    if value == [EXISTING]:
        return [target]
    return value


async def run(repo: Repository[Any], step: tuple[Any, Any, Any], stored: list[Any]) -> list[Any]:
    kind, argument, data = step[0], step[1], for_model(repo.entity_class, step[2])
    if kind == "find_or_create":
        entity, _ = await repo.find_or_create(argument, data)
        return [entity]
    if kind == "upsert_with_where":
        return [await repo.upsert_with_where(argument, data)]
    given_id = resolved(argument, stored)
    if given_id is not None:
        data = {**data, "id": given_id}
    method = repo.upsert if kind == "upsert" else repo.replace_or_create
    return [await method(data)]


@settings(PROGRAMS_ON_A_DATABASE)
@given(program=programs)
async def test_every_accepted_upsert_keeps_the_invariants(
    odm_db: Any, program: tuple[type[Any], list[tuple[Any, Any, Any]]]
) -> None:
    cls, writes = program
    repo = Repository(cls, odm_db)
    await repo.collection.delete_many({})
    count(SECTION, "programs")
    stored_ids: list[Any] = []
    for step in writes:
        in_scope = {entity.id for entity in await repo.find()}
        before = [doc async for doc in repo.collection.find({})]
        is_id_step = step[0] in ("upsert", "replace_or_create")
        try:
            returned = await run(repo, step, stored_ids)
        except (*REFUSALS, ODMError) as error:
            count(SECTION, f"refused ({type(error).__name__})")
            assert_nothing_hidden([str(error)])
            if is_id_step and isinstance(step[1], dict | list):  # (c)
                assert isinstance(error, EntityNotFoundError), error
            assert [doc async for doc in repo.collection.find({})] == before  # nothing written
            continue
        assert not (is_id_step and isinstance(step[1], dict | list)), "an id read as a filter"
        count(SECTION, f"accepted {step[0]}")
        stored_ids.extend(entity.id for entity in returned)
        stored = [doc async for doc in repo.collection.find({})]
        loaded = await repo.unscoped().find()  # (a)
        assert len(loaded) == len(stored)
        now_in_scope = {entity.id for entity in await repo.find()}
        assert in_scope <= now_in_scope  # (b)
        assert {entity.id for entity in returned} <= now_in_scope
        assert_nothing_hidden([text for entity in [*loaded, *returned] for text in shown(entity)])
