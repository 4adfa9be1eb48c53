"""A user's test suite: each test gets a fresh mocked Mongo through ``odm_db`` (here via
the ``shop`` fixture of conftest.py). Run it with ``pytest examples/testing_with_mock``;
``ODM_TEST_BACKEND=embedded`` runs the same tests on a real server."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from shop import OutOfStock, Product, Shop

import odm


def test_a_product_is_validated_without_any_database() -> None:
    with pytest.raises(odm.ValidationError) as caught:
        Product.validate_input({"sku": "bad", "name": "", "price": "-1"})
    assert set(caught.value.codes) == {"pattern", "minLength", "minimum"}


async def test_add_a_product_and_find_it(shop: Shop) -> None:
    added = await shop.add_product("TEA-001", "Green tea", "4.50", stock=10, cost="1.20")
    found = await shop.products.find_by_id(added.id)
    assert found.price == Decimal("4.50") and found.stock == 10
    assert found.cost == Decimal("1.20")  # readable in Python...
    assert "cost" not in found.to_json()  # ...never in JSON output


async def test_a_second_product_with_the_same_sku_is_refused(shop: Shop) -> None:
    await shop.add_product("TEA-001", "Green tea", "4.50")
    with pytest.raises(odm.DuplicateKeyError) as caught:
        await shop.add_product("TEA-001", "Black tea", "3.90")
    assert caught.value.properties == ["sku"]
    assert await shop.products.count() == 1


async def test_sell_takes_from_stock_and_records_the_order(shop: Shop) -> None:
    await shop.add_product("TEA-001", "Green tea", "4.50", stock=10)
    order = await shop.sell("TEA-001", 3)
    assert order.total == Decimal("13.50")
    product = await shop.products.find_one({"where": {"sku": "TEA-001"}})
    assert product is not None and product.stock == 7


async def test_selling_more_than_the_stock_changes_nothing(shop: Shop) -> None:
    await shop.add_product("TEA-001", "Green tea", "4.50", stock=2)
    with pytest.raises(OutOfStock):
        await shop.sell("TEA-001", 3)
    assert await shop.orders.count() == 0
    assert [p.stock for p in await shop.products.find()] == [2]


async def test_concurrent_sales_never_oversell(shop: Shop) -> None:
    await shop.add_product("TEA-001", "Green tea", "4.50", stock=5)
    outcomes = await asyncio.gather(
        *(shop.sell("TEA-001", 1) for _ in range(8)), return_exceptions=True
    )
    assert sum(isinstance(outcome, OutOfStock) for outcome in outcomes) == 3
    assert await shop.orders.count() == 5


async def test_low_stock_lists_the_products_to_reorder(shop: Shop) -> None:
    for n, stock in enumerate([0, 12, 3]):
        await shop.add_product(f"TEA-00{n}", f"Tea {n}", "1", stock=stock)
    assert [p.sku for p in await shop.low_stock(below=5)] == ["TEA-000", "TEA-002"]


# A test that needs what the mock lacks says so; it runs with ODM_TEST_BACKEND=embedded.
@pytest.mark.backend_limit(mock="mongomock-motor has no transactions")
async def test_an_aborted_transaction_leaves_no_order(shop: Shop) -> None:
    await shop.add_product("TEA-001", "Green tea", "4.50", stock=5)
    with pytest.raises(RuntimeError):
        async with shop.orders.transaction() as session:
            await shop.orders.create(
                {"sku": "TEA-001", "quantity": 1, "total": "4.50"}, session=session
            )
            raise RuntimeError("payment declined")
    assert await shop.orders.count() == 0
