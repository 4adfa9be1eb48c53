"""The service's model: a customer, declared once for MongoDB, validation and JSON."""

from __future__ import annotations

from datetime import datetime

from odm import Entity, Model, model, prop


@model()
class Address(Model):
    street: str
    city: str
    zip_code: str = prop(field_name="zip")


@model(
    collection="customers",
    hidden_properties=["password_hash"],  # stored, usable in Python, never in a response
    description="A customer of the shop",
)
class Customer(Entity):
    id: str = prop(id=True, generated=True)  # force_id (the default): clients may not set it
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
