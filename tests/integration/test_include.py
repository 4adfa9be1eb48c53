"""``include`` on every read and backend: typed related entities on the navigational
attributes, one query per relation per level whatever the number of parents, per-parent
limits, nested includes, the target's scope and hidden properties, refused includes."""

from __future__ import annotations

from typing import Any

import pytest

from odm import InvalidFilterError, Repository

from .relation_models import Customer, Order, Product, Tag
from .relation_support import Shop, counting_queries


async def _seed(db: Any, parents: int = 3, per_parent: int = 3) -> Shop:
    """``parents`` customers (c00...), each with ``per_parent`` orders of totals 1..n, a
    deleted order each (out of Order's default scope), a profile for the first, two
    products linked to each order, and tags referenced by the orders."""
    shop = Shop(db)
    customers = await shop.customers.create_all(
        [{"name": f"c{i:02}", "secret": f"secret{i}"} for i in range(parents)]
    )
    tags = await shop.tags.create_all([{"label": "red"}, {"label": "blue"}])
    products = await shop.products.create_all([{"name": "pen"}, {"name": "ink"}])
    orders = await shop.orders.create_all(
        [
            {
                "total": float(n),
                "customer_id": customer.id,
                "tag_ids": [tags[n % 2].id, tags[0].id] if n > 1 else [],
            }
            for customer in customers
            for n in range(1, per_parent + 1)
        ]
    )
    await shop.orders.unscoped().create_all(
        [{"total": 99.0, "customer_id": c.id, "deleted": True} for c in customers]
    )
    await shop.profiles.create({"bio": "first", "customer_id": customers[0].id})
    await shop.lines.create_all(
        [
            {"order_id": order.id, "product_id": product.id}
            for order in orders
            for product in products
        ]
    )
    return shop


async def test_has_many_include_sets_typed_lists_and_skips_the_scoped_out(odm_db: Any) -> None:
    shop = await _seed(odm_db)
    found = await shop.customers.find({"include": "orders", "order": "name"})
    assert [c.name for c in found] == ["c00", "c01", "c02"]
    for customer in found:
        assert customer.orders is not None
        assert all(isinstance(order, Order) for order in customer.orders)
        assert sorted(o.total for o in customer.orders) == [1.0, 2.0, 3.0]  # not 99 (deleted)
        assert {o.customer_id for o in customer.orders} == {customer.id}
    dumped = found[0].to_json()
    assert sorted(o["total"] for o in dumped["orders"]) == [1.0, 2.0, 3.0]
    assert "secret" not in dumped and "profile" not in dumped  # hidden; not included
    assert found[0].profile is None
    plain = await shop.customers.find({"order": "name"})
    assert "orders" not in plain[0].to_json() and "orders" not in plain[0].model_dump()


async def test_one_query_per_relation_for_fifty_parents(
    odm_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await _seed(odm_db, parents=50, per_parent=2)
    with counting_queries(monkeypatch) as counts:
        found = await shop.customers.find(
            {
                "include": [
                    "profile",
                    {
                        "relation": "orders",
                        "scope": {"limit": 1, "order": "total DESC", "include": ["products"]},
                    },
                ]
            }
        )
    assert len(found) == 50
    assert all([o.total for o in c.orders or []] == [2.0] for c in found)
    assert all(len(c.orders[0].products or []) == 2 for c in found if c.orders)
    assert found[0].profile is not None and found[0].profile.bio == "first"
    assert sum(c.profile is not None for c in found) == 1
    # customers, profiles, orders (one aggregation), then lines + products for the through
    assert dict(counts) == {
        "rel_customers": 1,
        "rel_profiles": 1,
        "rel_orders": 1,
        "rel_order_lines": 1,
        "rel_products": 1,
    }
    with counting_queries(monkeypatch) as counts:
        orders = await shop.orders.find({"include": ["customer", "tags"]})
    assert len(orders) == 60  # Order's default scope limits a find to 60
    assert dict(counts) == {"rel_orders": 1, "rel_customers": 1, "rel_tags": 1}
    # in an include, the target's scope limit applies per parent: 50 x 2 orders, not 60
    with counting_queries(monkeypatch) as counts:
        found = await shop.customers.find({"include": "orders"})
    assert sum(len(c.orders or []) for c in found) == 100
    assert all(len(c.orders or []) == 2 for c in found)
    assert dict(counts) == {"rel_customers": 1, "rel_orders": 1}


async def test_scope_limit_skip_order_apply_per_parent(odm_db: Any) -> None:
    shop = await _seed(odm_db, per_parent=4)
    scope = {"order": "total DESC", "skip": 1, "limit": 2, "fields": ["total"]}
    found = await shop.customers.find({"include": {"relation": "orders", "scope": scope}})
    for customer in found:
        assert [o.total for o in customer.orders or []] == [3.0, 2.0]
        # the key the join needs is read even though fields left it out
        assert {o.customer_id for o in customer.orders or []} == {customer.id}
    where = {"where": {"total": {"gte": 3}}, "order": "total ASC"}
    found = await shop.customers.find({"include": [{"relation": "orders", "scope": where}]})
    assert all([o.total for o in c.orders or []] == [3.0, 4.0] for c in found)
    # a scope's limit and skip are read as a filter's: digits are numbers, others refused
    text = {"order": "total DESC", "skip": "1", "limit": "2"}
    found = await shop.customers.find({"include": {"relation": "orders", "scope": text}})
    assert all([o.total for o in c.orders or []] == [3.0, 2.0] for c in found)
    for bad in ({"limit": "two"}, {"limit": 0}, {"skip": -1}, {"limit": True}):
        with pytest.raises(InvalidFilterError, match="must be an integer") as caught:
            await shop.customers.find({"include": {"relation": "orders", "scope": bad}})
        assert caught.value.path == f"include.scope.{next(iter(bad))}"


async def test_belongs_to_through_and_references_many(odm_db: Any) -> None:
    shop = await _seed(odm_db, parents=2, per_parent=3)
    orders = await shop.orders.find(
        {"include": ["customer", "products", "tags"], "order": "total ASC", "limit": 3}
    )
    customers = {c.id: c for c in await shop.customers.find()}
    tags = {t.label: t.id for t in await shop.tags.find()}
    for order in orders:
        assert isinstance(order.customer, Customer)
        assert order.customer.name == customers[order.customer_id].name
        assert sorted(p.name for p in order.products or []) == ["ink", "pen"]
        assert all(isinstance(p, Product) for p in order.products or [])
        assert [t.id for t in order.tags or []] == list(dict.fromkeys(order.tag_ids))
        assert all(isinstance(t, Tag) for t in order.tags or [])
    assert orders[0].tags == [] and orders[-1].tags is not None
    dumped = orders[0].to_json()
    assert "secret" not in dumped["customer"]  # a hidden property stays hidden when included
    assert set(dumped) >= {"customer", "products", "tags"}
    ordered = await shop.orders.find_one(
        {
            "where": {"total": 2.0},
            "include": {"relation": "tags", "scope": {"order": "label DESC", "limit": 1}},
        }
    )
    assert ordered is not None and [t.id for t in ordered.tags or []] == [tags["red"]]


async def test_every_read_includes(odm_db: Any) -> None:
    shop = await _seed(odm_db, parents=3, per_parent=2)
    first = await shop.customers.find_one({"where": {"name": "c00"}, "include": "orders"})
    assert first is not None and len(first.orders or []) == 2
    by_id = await shop.customers.find_by_id(first.id, {"include": ["profile"]})
    assert by_id.profile is not None and by_id.profile.customer_id == first.id
    by_ids = await shop.customers.find_by_ids([first.id], {"include": "orders"})
    assert len(by_ids[0].orders or []) == 2
    projected = await shop.orders.find(
        {"fields": ["total"], "include": "customer", "where": {"customer_id": first.id}}
    )
    assert all(o.customer is not None and o.customer.id == first.id for o in projected)
    streamed = [
        c
        async for c in shop.customers.iterate({"include": "orders", "order": "name"}, batch_size=2)
    ]
    assert [len(c.orders or []) for c in streamed] == [2, 2, 2]
    assert [c.name for c in streamed] == ["c00", "c01", "c02"]


async def test_nested_include_three_levels(odm_db: Any) -> None:
    shop = await _seed(odm_db, parents=2, per_parent=1)
    nested = {
        "relation": "orders",
        "scope": {"include": {"relation": "customer", "scope": {"include": "profile"}}},
    }
    found = await shop.customers.find({"include": nested, "order": "name"})
    order = (found[0].orders or [])[0]
    assert order.customer is not None and order.customer.name == "c00"
    assert order.customer.profile is not None and order.customer.profile.bio == "first"
    deeper = {
        "relation": "orders",
        "scope": {"include": {"relation": "customer", "scope": {"include": nested}}},
    }
    with pytest.raises(InvalidFilterError, match="at most 3 levels"):
        await shop.customers.find({"include": deeper})
    shallow = Repository(Customer, odm_db, max_include_depth=1)
    with pytest.raises(InvalidFilterError, match="at most 1 levels"):
        await shallow.find({"include": nested})


async def test_refused_includes(odm_db: Any) -> None:
    shop = await _seed(odm_db, parents=1, per_parent=1)
    with pytest.raises(InvalidFilterError, match="no relation 'invoices'") as caught:
        await shop.customers.find({"include": ["orders", "invoices"]})
    assert caught.value.path == "include.1"
    with pytest.raises(InvalidFilterError, match="scope"):
        await shop.customers.find({"include": {"relation": "orders", "scope": {"bogus": 1}}})
    with pytest.raises(InvalidFilterError):
        await shop.customers.find({"include": 5})
    with pytest.raises(InvalidFilterError):  # an unknown property inside the scope (strict)
        await shop.customers.find(
            {"include": {"relation": "orders", "scope": {"where": {"nope": 1}}}}
        )
    guarded = Repository(Order, odm_db, prohibit_hidden_in_query=True)
    with pytest.raises(InvalidFilterError):
        await guarded.find(
            {"include": {"relation": "customer", "scope": {"where": {"secret": "secret0"}}}}
        )
    with pytest.raises(InvalidFilterError):
        await guarded.find({"include": {"relation": "customer", "scope": {"order": "secret"}}})
    found = await shop.orders.find(
        {"include": {"relation": "customer", "scope": {"where": {"secret": "secret0"}}}}
    )
    assert found[0].customer is not None  # allowed without prohibit_hidden_in_query
