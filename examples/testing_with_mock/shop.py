"""A small app module, the kind a user's test suite imports: products and orders.

The service functions take a database handle, so tests hand them ``odm_db`` (a fresh
mocked database per test) and production code hands them ``odm.connect()``'s.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import odm
from odm import Entity, Repository, model, prop


@model(collection="products", hidden_properties=["cost"])
class Product(Entity):
    sku: str = prop(unique=True, json_schema={"pattern": "^[A-Z]{3}-[0-9]{3}$"})
    name: str = prop(json_schema={"minLength": 1})
    price: Decimal = prop(json_schema={"minimum": 0})
    cost: Decimal | None = None  # what we paid: never shown to customers
    stock: int = prop(0, json_schema={"minimum": 0})


@model(collection="orders")
class Order(Entity):
    sku: str
    quantity: int = prop(json_schema={"minimum": 1})
    total: Decimal
    created: datetime = prop(default_fn="now")


class OutOfStock(Exception):
    def __init__(self, sku: str, quantity: int) -> None:
        super().__init__(f"cannot sell {quantity} of {sku}: not enough in stock")
        self.sku = sku
        self.quantity = quantity


class Shop:
    """The service: every method is a few odm calls."""

    def __init__(self, db: Any) -> None:
        # extended operators for the $inc in sell(); no filter here comes from a client
        self.products = Repository(Product, db, allow_extended_operators=True)
        self.orders = Repository(Order, db)

    async def setup(self) -> None:
        """Create the declared indexes (the unique sku)."""
        await odm.migrate([self.products, self.orders])

    async def add_product(
        self, sku: str, name: str, price: Decimal | str, *, stock: int = 0, cost: Any = None
    ) -> Product:
        return await self.products.create(
            {"sku": sku, "name": name, "price": price, "stock": stock, "cost": cost}
        )

    async def sell(self, sku: str, quantity: int) -> Order:
        """Take ``quantity`` out of stock and record the order; ``OutOfStock`` when there
        are not enough. The check and the decrement are one atomic update, so two
        concurrent sales can never oversell."""
        product = await self.products.find_one_and_update(
            {"sku": sku, "stock": {"gte": quantity}}, {"$inc": {"stock": -quantity}}
        )
        if product is None:
            raise OutOfStock(sku, quantity)
        return await self.orders.create(
            {"sku": sku, "quantity": quantity, "total": product.price * quantity}
        )

    async def low_stock(self, below: int = 5) -> list[Product]:
        return await self.products.find({"where": {"stock": {"lt": below}}, "order": "stock ASC"})
