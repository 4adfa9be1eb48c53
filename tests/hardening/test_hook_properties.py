"""A hook cannot store what a caller could not: a ``before save`` hook that rewrites the
instance or the data with hypothesis payloads (the ones of ``test_write_properties``) on
every write path and backend. After each step: refused, and nothing was written; or
accepted, and (a) every stored document loads, (b) what was in the default scope still
is, (c) no output or error holds a hidden value."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from odm import HookContext, ODMError, Repository

from .tally import count
from .test_write_properties import (
    MODELS,
    PROGRAMS_ON_A_DATABASE,
    REFUSALS,
    assert_nothing_hidden,
    clean,
    for_model,
    plain,
    run,
    shown,
)

SECTION = "hook invariants (hypothesis, every backend)"
KINDS = ["create", "replace_by_id", "update_by_id", "update_all", "upsert"]
steps = st.tuples(
    st.sampled_from(KINDS), clean.map(lambda d: {"name": "bb", **d}), st.one_of(clean, plain)
)
programs = st.tuples(st.sampled_from(MODELS), st.lists(steps, min_size=2, max_size=4))


def rewriting(payload: dict[str, Any]) -> Any:
    """A ``before save`` hook putting ``payload`` over what the caller gave."""

    def rewrite(ctx: HookContext) -> None:
        if ctx.instance is not None:
            given = {k: v for k, v in vars(ctx.instance).items() if k != "id"}
            ctx.instance = {**given, **payload}
        else:
            ctx.data = {**(ctx.data or {}), **payload}

    return rewrite


@settings(PROGRAMS_ON_A_DATABASE, max_examples=12)
@given(program=programs)
async def test_what_a_before_save_hook_writes_keeps_the_invariants(
    odm_db: Any, program: tuple[type[Any], list[tuple[str, Any, Any]]]
) -> None:
    cls, writes = program
    stored_ids: list[Any] = []
    for kind, data, payload in writes:
        repo = Repository(cls, odm_db)  # a fresh registry: this step's hook only
        repo.observe("before save", rewriting(for_model(cls, payload)))
        in_scope = {entity.id for entity in await repo.find()}
        before = [doc async for doc in repo.collection.find({})]
        try:
            returned = await run(repo, (kind, data), stored_ids)
        except (*REFUSALS, ODMError) as error:
            count(SECTION, f"refused ({type(error).__name__})")
            assert_nothing_hidden([str(error)])
            assert [doc async for doc in repo.collection.find({})] == before  # nothing written
            continue
        count(SECTION, f"accepted {kind}")
        stored_ids.extend(entity.id for entity in returned)
        stored = [doc async for doc in repo.collection.find({})]
        loaded = await repo.unscoped().find()  # (a)
        assert len(loaded) == len(stored)
        assert in_scope <= {entity.id for entity in await repo.find()}  # (b)
        assert_nothing_hidden([text for entity in [*loaded, *returned] for text in shown(entity)])
    await Repository(cls, odm_db).collection.delete_many({})
