"""Models shared by the integration tests."""

from __future__ import annotations

import uuid
from datetime import datetime

from bson import ObjectId

from odm import Entity, Model, model, prop


@model()
class Address(Model):
    street: str
    city: str
    zip_code: str = prop(field_name="zip")


@model(
    collection="customers",
    strict="filter",
    hidden_properties=["password"],
    scope={"where": {"deleted": False}, "limit": 100},
    description="A shop customer",
)
class Customer(Entity):
    id: str = prop(id=True, generated=True)
    email: str = prop(unique=True, json_schema={"format": "email"})
    name: str = prop(
        json_schema={
            "minLength": 2,
            "maxLength": 40,
            "errorMessage": "name must be 2-40 characters",
        }
    )
    password: str | None = None
    token: str = prop(default_fn="uuidv4")
    created: datetime = prop(default_fn="now", field_name="createdAt")
    tags: list[str] = prop(default_factory=list)
    address: Address | None = None
    age: int | None = None
    deleted: bool = False


@model(collection="notes")
class Note(Entity):
    """Strict (the default), no scope."""

    title: str
    body: str = ""
    views: int = 0
    tags: list[str] = prop(default_factory=list)


@model(collection="loose", strict=False)
class Loose(Entity):
    title: str


@model(collection="filtered", strict="filter")
class Filtered(Entity):
    title: str


@model(collection="things")
class Thing(Entity):
    """A caller-supplied UUID id."""

    id: uuid.UUID = prop(id=True, default_fn="uuidv4")
    label: str = prop(field_name="lbl")


@model(collection="oid_things")
class OidThing(Entity):
    id: ObjectId = prop(id=True, generated=True)
    label: str


@model(collection="free_ids", force_id=False)
class FreeId(Entity):
    label: str


@model(collection="tenants", scope={"where": {"tenant": "a"}, "order": ["rank ASC"], "limit": 3})
class TenantRow(Entity):
    tenant: str = "a"
    rank: int = 0


@model(collection="jobs")
class Job(Entity):
    name: str
    status: str = "queued"
    worker: str | None = None
    priority: int = 0
