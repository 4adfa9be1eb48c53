"""Related repositories on every backend: the relation as a scope (create sets the key,
reads, counts, updates and deletes see only related documents, no write moves a
document out), ``get()`` for to-one relations, ``link``/``unlink`` for through
relations; navigational data refused on every write with nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from odm import EntityNotFoundError, ODMError, ValidationError

from .relation_models import Customer, Order, Product
from .relation_support import Shop


async def _two_customers(db: Any) -> tuple[Shop, Customer, Customer]:
    shop = Shop(db)
    al, bo = await shop.customers.create_all([{"name": "Al"}, {"name": "Bo"}])
    return shop, al, bo


async def test_has_many_related_repository_is_the_relation_as_a_scope(odm_db: Any) -> None:
    shop, al, bo = await _two_customers(odm_db)
    mine = shop.customers.related(al, "orders")
    created = await mine.create({"total": 10.0})
    assert isinstance(created, Order) and created.customer_id == al.id
    await mine.create_all([{"total": 20.0}, {"total": 30.0}])
    theirs = shop.customers.related(bo.id, "orders")  # by id
    await theirs.create({"total": 5.0})
    stored = await shop.orders.collection.find(
        {}, {"_id": 0, "total": 1, "customer_id": 1}
    ).to_list(None)
    assert sorted((d["customer_id"], d["total"]) for d in stored) == sorted(
        [(al.id, 10.0), (al.id, 20.0), (al.id, 30.0), (bo.id, 5.0)]
    )
    assert await mine.count() == 3 and await theirs.count() == 1
    assert sorted(o.total for o in await mine.find()) == [10.0, 20.0, 30.0]
    assert await mine.find_one({"where": {"total": 5.0}}) is None
    assert await mine.update_all({"total": 1.0}, {"total": {"gte": 20}}) == 2
    assert await theirs.update_all({"total": 2.0}) == 1
    with pytest.raises(EntityNotFoundError):
        await theirs.find_by_id(created.id)
    with pytest.raises(ValidationError) as caught:  # a write cannot move an order away
        await mine.update_by_id(created.id, {"customer_id": bo.id})
    assert caught.value.details[0]["code"] == "scope-conflict"
    with pytest.raises(ValidationError):
        await mine.create({"total": 1.0, "customer_id": bo.id})
    # the target's own default scope applies too (deleted orders are not seen)
    await shop.orders.unscoped().update_by_id(created.id, {"deleted": True})
    assert await mine.count() == 2
    assert await mine.delete_all() == 2
    assert await theirs.count() == 1
    assert await shop.orders.unscoped().count() == 2  # bo's order and the deleted one


async def test_to_one_related_repositories_get(odm_db: Any) -> None:
    shop, al, bo = await _two_customers(odm_db)
    profile = shop.customers.related(al, "profile")
    with pytest.raises(EntityNotFoundError):
        await profile.get()
    made = await profile.create({"bio": "hi"})
    assert made.customer_id == al.id and (await profile.get()).bio == "hi"
    order = await shop.customers.related(bo, "orders").create({"total": 1.0})
    owner = shop.orders.related(order, "customer")
    assert (await owner.get()).name == "Bo"
    with pytest.raises(ODMError, match="to-one"):
        await shop.customers.related(al, "orders").get()
    with pytest.raises(TypeError, match="give the Order entity"):
        shop.orders.related(order.id, "customer")
    with pytest.raises(ODMError, match="no relation 'invoices'"):
        shop.customers.related(al, "invoices")
    with pytest.raises(EntityNotFoundError):
        shop.customers.related({"$ne": None}, "orders")  # an id argument is an id


async def test_has_many_through_link_unlink_create(odm_db: Any) -> None:
    shop, al, _ = await _two_customers(odm_db)
    order = await shop.customers.related(al, "orders").create({"total": 1.0})
    other = await shop.customers.related(al, "orders").create({"total": 2.0})
    products = shop.orders.related(order, "products")
    pen = await products.create({"name": "pen"})  # the product and its link
    ink, cap = await shop.products.create_all([{"name": "ink"}, {"name": "cap"}])
    line = await products.link(ink, {"quantity": 3})
    assert (line.order_id, line.product_id, line.quantity) == (order.id, ink.id, 3)
    await shop.orders.related(other, "products").link(cap.id)
    lines = await shop.lines.collection.find({}, {"_id": 0}).to_list(None)
    assert sorted((d["order_id"], d["product_id"]) for d in lines) == sorted(
        [(order.id, pen.id), (order.id, ink.id), (other.id, cap.id)]
    )
    assert sorted(p.name for p in await products.find()) == ["ink", "pen"]
    assert await products.count() == 2 and await products.exists(pen.id)
    assert not await products.exists(cap.id)
    assert await products.update_all({"price": 9.0}) == 2
    assert (await shop.products.find_by_id(cap.id)).price == 0.0
    assert await products.unlink(pen) == 1
    assert [p.name for p in await products.find()] == ["ink"]
    assert await shop.products.count() == 3  # unlink keeps the product
    assert [p.name async for p in products.iterate()] == ["ink"]
    with pytest.raises(ODMError, match="has_many_through"):
        await shop.customers.related(al, "orders").link(pen)


async def test_references_many_related_repository(odm_db: Any) -> None:
    shop = Shop(odm_db)
    red, blue, _ = await shop.tags.create_all([{"label": "red"}, {"label": "blue"}, {"label": "x"}])
    order = await shop.orders.create({"total": 1.0, "tag_ids": [red.id, blue.id]})
    tags = shop.orders.related(order, "tags")
    assert sorted(t.label for t in await tags.find()) == ["blue", "red"]
    assert await tags.count() == 2


async def test_navigational_data_is_refused_on_every_write(odm_db: Any) -> None:
    shop, al, _ = await _two_customers(odm_db)
    order = await shop.orders.create({"total": 1.0, "customer_id": al.id})
    before = await shop.orders.collection.find({}).to_list(None)
    data = {"total": 2.0, "customer": {"name": "Eve"}, "products": [{"name": "pen"}]}
    calls = {
        "create": lambda: shop.orders.create(data),
        "create_all": lambda: shop.orders.create_all([data]),
        "replace_by_id": lambda: shop.orders.replace_by_id(order.id, data),
        "update_by_id": lambda: shop.orders.update_by_id(order.id, data),
        "update_all": lambda: shop.orders.update_all(data),
        "upsert": lambda: shop.orders.upsert({**data, "id": order.id}),
        "fou": lambda: shop.orders.find_one_and_update({}, data, upsert=True),
    }
    for write, call in calls.items():
        with pytest.raises(ValidationError) as caught:
            await call()
        assert {d["code"] for d in caught.value.details} == {"navigational-property"}, write
        assert await shop.orders.collection.find({}).to_list(None) == before, write
    assert await shop.customers.count() == 2 and await shop.products.count() == 0


async def test_an_included_entity_saved_back_is_refused_update_is_not(odm_db: Any) -> None:
    shop, al, _ = await _two_customers(odm_db)
    await shop.customers.related(al, "orders").create({"total": 1.0})
    loaded = await shop.orders.find_one({"include": "customer"})
    assert loaded is not None and loaded.customer is not None
    with pytest.raises(ValidationError):
        await shop.orders.save(loaded)
    loaded.total = 7.0
    await shop.orders.update(loaded)  # writes only the stored properties
    raw = await shop.orders.collection.find_one({})
    assert raw["total"] == 7.0 and "customer" not in raw
    assert isinstance(await shop.products.create({"name": "p"}), Product)


async def test_operators_on_a_navigational_property_are_refused(odm_db: Any) -> None:
    shop = Shop(odm_db, allow_extended_operators=True)
    order = await shop.orders.create({"total": 1.0})
    before = await shop.orders.collection.find({}).to_list(None)
    writes = [
        {"$set": {"customer": {"name": "Eve"}}},
        {"$inc": {"products.0.price": 1}},
        {"$push": {"tags": {"label": "x"}}},
        {"$unset": {"customer": ""}},
    ]
    for data in writes:
        for call in (
            lambda d: shop.orders.update_by_id(order.id, d),
            lambda d: shop.orders.update_all(d),
            lambda d: shop.orders.find_one_and_update({}, d),
        ):
            with pytest.raises(ValidationError) as caught:
                await call(data)
            assert [d["code"] for d in caught.value.details] == ["navigational-property"], data
            assert "navigational property" in caught.value.details[0]["message"]
    assert await shop.orders.collection.find({}).to_list(None) == before


async def test_creating_through_a_key_on_the_source_relation_is_refused(odm_db: Any) -> None:
    shop, al, _ = await _two_customers(odm_db)
    order = await shop.customers.related(al, "orders").create({"total": 1.0, "tag_ids": []})
    owner, tags = shop.orders.related(order, "customer"), shop.orders.related(order, "tags")
    calls = {
        "create": lambda repo: repo.create({"name": "Eve", "label": "x"}),
        "create_all": lambda repo: repo.create_all([{"name": "Eve", "label": "x"}]),
        "find_or_create": lambda repo: repo.find_or_create({"name": "Eve"}, {"label": "x"}),
        "upsert": lambda repo: repo.upsert({"name": "Eve", "label": "x"}),
        "upsert_with_where": lambda repo: repo.upsert_with_where({"name": "E"}, {"label": "x"}),
        "find_one_and_update": lambda repo: repo.find_one_and_update(
            {}, {"name": "E"}, upsert=True
        ),
    }
    for repo, kind in ((owner, "belongs_to"), (tags, "references_many")):
        for method, call in calls.items():
            with pytest.raises(ODMError, match=rf"{method}.*\({kind}\).*own repository"):
                await call(repo)
    with pytest.raises(ODMError, match=r"create\(\) through Order\.customer \(belongs_to\)"):
        await owner.save(Customer(name="Eve"))  # save without an id is a create
    assert await shop.customers.count() == 2 and await shop.tags.count() == 0
    assert (await shop.orders.collection.find_one({}))["tag_ids"] == []


async def test_deleting_through_has_many_through_removes_the_links(odm_db: Any) -> None:
    shop, al, _ = await _two_customers(odm_db)
    order, other = await shop.customers.related(al, "orders").create_all(
        [{"total": 1.0}, {"total": 2.0}]
    )
    products = shop.orders.related(order, "products")
    pen, ink, cap = await products.create_all([{"name": "pen"}, {"name": "ink"}, {"name": "cap"}])
    await shop.orders.related(other, "products").link(pen)  # pen is linked to both orders
    free = await shop.products.create({"name": "free"})
    assert await products.delete_all({"name": {"inq": ["pen", "free"]}}) == 1
    await products.delete_by_id(ink.id)
    with pytest.raises(EntityNotFoundError):
        await products.delete_by_id(free.id)  # not related: neither deleted nor unlinked
    names = sorted(d["name"] for d in await shop.products.collection.find({}).to_list(None))
    assert names == ["cap", "free"]
    lines = await shop.lines.collection.find({}, {"_id": 0}).to_list(None)
    assert [(d["order_id"], d["product_id"]) for d in lines] == [(order.id, cap.id)]
    assert await products.delete_all({"name": "none"}) == 0
    await products.delete(cap)
    assert await shop.lines.count() == 0 and await shop.products.count() == 1
    for method, call in {
        "upsert": lambda: products.upsert({"name": "x"}),
        "find_or_create": lambda: products.find_or_create({"name": "x"}),
        "replace_or_create": lambda: products.replace_or_create({"name": "x"}),
        "upsert_with_where": lambda: products.upsert_with_where({"name": "x"}, {"name": "x"}),
        r"find_one_and_update\(upsert=True\)": lambda: products.find_one_and_update(
            {"name": "x"}, {"name": "x"}, upsert=True
        ),
    }.items():
        with pytest.raises(ODMError, match=rf"{method}.*has_many_through.*link"):
            await call()
    assert await shop.products.count() == 1
