"""The service's models: customers of a tenant (and their orders), declared once for
MongoDB, validation, JSON and the REST API; an audit entry per write."""

from __future__ import annotations

from datetime import datetime

from odm import Entity, Model, has_many, model, prop


@model()
class Address(Model):
    street: str
    city: str
    zip_code: str = prop(field_name="zip")


@model(collection="tenants")
class Tenant(Entity):
    """A tenant's customers are ``tenants.related(name, "customers")``: a repository of
    Customer scoped to the tenant (reads see its customers only, creates set ``tenant``,
    no write moves a customer to another tenant). No tenant document is needed."""

    id: str = prop(id=True)
    customers: list[Customer] | None = has_many(key_to="tenant")


@model(
    collection="customers",
    hidden_properties=["password_hash"],  # stored, usable in Python, never in a response
    description="A customer of the shop",
)
class Customer(Entity):
    id: str = prop(id=True, generated=True)  # force_id (the default): clients may not set it
    tenant: str | None = prop(default=None, index=True)
    email: str = prop(unique=True, json_schema={"format": "email"})
    name: str = prop(
        json_schema={
            "minLength": 2,
            "maxLength": 40,
            "errorMessage": "name must be 2-40 characters",
        }
    )
    password_hash: str | None = None  # the app stores a hash of the client's "password"
    created: datetime = prop(default_fn="now", field_name="createdAt")
    tags: list[str] = prop(default_factory=list)
    address: Address | None = None
    orders: list[Order] | None = has_many()


@model(collection="orders")
class Order(Entity):
    id: str = prop(id=True, generated=True)
    total: float = prop(json_schema={"minimum": 0})
    customer_id: str | None = prop(default=None, index=True)


@model(collection="audit")
class AuditEntry(Entity):
    """One write to the customers, recorded by an ``after save`` / ``after delete`` hook."""

    id: str = prop(id=True, generated=True)
    tenant: str | None = None
    operation: str
    customer_id: str | None = None
    where: str | None = None  # a bulk write's where clause, as JSON
    at: datetime = prop(default_fn="now")
