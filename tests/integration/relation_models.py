"""The shop models of the relation tests: Customer, Order, Product, OrderLine, Tag,
Profile (declared before the classes they name: forward references)."""

from __future__ import annotations

from odm import (
    Entity,
    belongs_to,
    has_many,
    has_many_through,
    has_one,
    model,
    prop,
    references_many,
)


@model(collection="rel_customers", hidden_properties=["secret"])
class Customer(Entity):
    name: str
    secret: str = "s"
    orders: list[Order] | None = has_many()
    profile: Profile | None = has_one()


@model(collection="rel_profiles")
class Profile(Entity):
    bio: str
    customer_id: str


@model(collection="rel_orders", scope={"where": {"deleted": False}, "limit": 60})
class Order(Entity):
    total: float
    customer_id: str | None = prop(default=None, index=True)
    deleted: bool = False
    customer: Customer | None = belongs_to()
    products: list[Product] | None = has_many_through(through="OrderLine")
    tag_ids: list[str] = prop(default_factory=list)
    tags: list[Tag] | None = references_many(key_from="tag_ids")


@model(collection="rel_products")
class Product(Entity):
    name: str
    price: float = 0.0


@model(collection="rel_order_lines")
class OrderLine(Entity):
    order_id: str
    product_id: str
    quantity: int = 1


@model(collection="rel_tags")
class Tag(Entity):
    label: str
