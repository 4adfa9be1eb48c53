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

from odm import EntityNotFoundError, ODMError, Repository
from tests.integration.relation_models import Customer, Order, OrderLine, Product

from .tally import count
from .test_write_properties import PROGRAMS_ON_A_DATABASE, REFUSALS

SECTION = "relation scope invariants (hypothesis, every backend)"
THROUGH = "through links (hypothesis, every backend)"
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


through_steps = st.tuples(
    st.sampled_from(["create", "link", "unlink", "delete_by_id", "delete_all", "upsert"]),
    st.sampled_from(["pen", "ink", "cap"]),
    st.sampled_from(["mine", "theirs"]),
)


@settings(PROGRAMS_ON_A_DATABASE, max_examples=20)
@given(program=st.lists(through_steps, min_size=2, max_size=5))
async def test_through_writes_keep_links_to_existing_targets_only(
    odm_db: Any, program: list[tuple[str, str, str]]
) -> None:
    """After each write through ``orders.related(order, "products")`` or another order's,
    every through document names an existing product and both orders; a product deleted
    through one order loses its links to every order; a refused step wrote nothing."""
    orders = Repository(Order, odm_db)
    products, lines = Repository(Product, odm_db), Repository(OrderLine, odm_db)
    for repo in (orders, products, lines):
        await repo.collection.delete_many({})
    mine_order, their_order = await orders.create_all([{"total": 1.0}, {"total": 2.0}])
    related = {
        "mine": orders.related(mine_order, "products"),
        "theirs": orders.related(their_order, "products"),
    }
    count(THROUGH, "programs")
    for kind, name, whose in program:
        repo = related[whose]
        target = await products.find_one({"where": {"name": name}})
        before = (
            await products.collection.find({}).to_list(None),
            await lines.collection.find({}).to_list(None),
        )
        try:
            if kind == "create":
                await repo.create({"name": name})
            elif kind == "link" and target is not None:
                await repo.link(target)
            elif kind == "unlink" and target is not None:
                await repo.unlink(target)
            elif kind == "delete_by_id" and target is not None:
                await repo.delete_by_id(target.id)
            elif kind == "delete_all":
                await repo.delete_all({"name": name})
            elif kind == "upsert":
                await repo.upsert({"name": name})
        except (EntityNotFoundError, ODMError) as error:
            count(THROUGH, f"refused {kind} ({type(error).__name__})")
            after = (
                await products.collection.find({}).to_list(None),
                await lines.collection.find({}).to_list(None),
            )
            assert after == before
            continue
        count(THROUGH, f"accepted {kind}")
        stored = {str(d["_id"]) for d in await products.collection.find({}).to_list(None)}
        for line in await lines.collection.find({}).to_list(None):
            assert line["product_id"] in stored, (kind, name, whose)
            assert line["order_id"] in (mine_order.id, their_order.id)
        order_id = (mine_order if whose == "mine" else their_order).id
        linked = {d["product_id"] for d in before[1] if d["order_id"] == order_id}
        if kind == "delete_all":  # the linked products of that name went, the others stayed
            named = {str(d["_id"]) for d in before[0] if d["name"] == name}
            assert stored == {str(d["_id"]) for d in before[0]} - (named & linked)
        if kind == "unlink" and target is not None:
            assert await lines.count({"order_id": order_id, "product_id": target.id}) == 0
            assert target.id in stored
