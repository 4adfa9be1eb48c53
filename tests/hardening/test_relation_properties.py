"""No write through a related repository moves a document out of the relation, as a
hypothesis property on every backend: after each step of a program of writes through
``customers.related(alice, "orders")`` (creates, partial and bulk updates, replaces,
upserts, find_one_and_update, with keys of another customer, wrong types and
navigational data mixed in), every order that was Alice's still is, Bob's order is
untouched, what a step returned is Alice's, and a refused step wrote nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from odm import ODMError, Repository
from tests.integration.relation_models import Customer, Order

from .tally import count
from .test_write_properties import PROGRAMS_ON_A_DATABASE, REFUSALS

SECTION = "relation scope invariants (hypothesis, every backend)"
ALICE, BOB = "alice", "bob"

data = st.fixed_dictionaries(
    {},
    optional={
        "total": st.sampled_from([1.0, 2.5, "x", None]),
        "customer_id": st.sampled_from([ALICE, BOB, None, "elsewhere"]),
        "customer": st.sampled_from([None, {"name": "Eve"}]),
        "deleted": st.booleans(),
    },
)
steps = st.tuples(
    st.sampled_from(
        ["create", "update_all", "update_by_id", "replace_by_id", "upsert", "find_one_and_update"]
    ),
    data,
)


def _resolved(value: Any, ids: dict[str, str]) -> Any:
    return ids.get(value, value) if isinstance(value, str) else value


@settings(PROGRAMS_ON_A_DATABASE, max_examples=20)
@given(program=st.lists(steps, min_size=2, max_size=4))
async def test_no_related_write_leaves_the_relation(
    odm_db: Any, program: list[tuple[str, dict[str, Any]]]
) -> None:
    customers, orders = Repository(Customer, odm_db), Repository(Order, odm_db)
    await orders.collection.delete_many({})
    await customers.collection.delete_many({})
    alice, bob = await customers.create_all([{"name": "Alice"}, {"name": "Bob"}])
    ids = {ALICE: alice.id, BOB: bob.id}
    mine = customers.related(alice, "orders")
    first = await mine.create({"total": 1.0})
    bobs = await customers.related(bob, "orders").create({"total": 9.0})
    count(SECTION, "programs")
    for kind, raw in program:
        values = {key: _resolved(value, ids) for key, value in raw.items()}
        before = [doc async for doc in orders.collection.find({})]
        theirs_before = await orders.collection.find_one({"total": 9.0})
        try:
            if kind == "create":
                returned = [await mine.create({"total": 3.0, **values})]
            elif kind == "update_all":
                await mine.update_all(values)
                returned = []
            elif kind == "update_by_id":
                await mine.update_by_id(first.id, values)
                returned = []
            elif kind == "replace_by_id":
                await mine.replace_by_id(first.id, {"total": 4.0, **values})
                returned = []
            elif kind == "upsert":
                returned = [await mine.upsert({"total": 5.0, **values, "id": bobs.id})]
            else:
                found = await mine.find_one_and_update({}, values or {"total": 6.0}, upsert=True)
                returned = [found] if found is not None else []
        except (*REFUSALS, ODMError) as error:
            count(SECTION, f"refused ({type(error).__name__})")
            assert [doc async for doc in orders.collection.find({})] == before
            continue
        count(SECTION, f"accepted {kind}")
        assert all(entity.customer_id == alice.id for entity in returned)
        was_mine = {d["_id"] for d in before if d.get("customer_id") == alice.id}
        now = {d["_id"]: d async for d in orders.collection.find({})}
        assert all(now[key]["customer_id"] == alice.id for key in was_mine if key in now)
        assert await orders.collection.find_one({"total": 9.0}) == theirs_before
        assert all("customer" not in doc for doc in now.values())
