"""Models of the hardening tests: every kind of property a filter or a payload can reach."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from bson import ObjectId

from odm import Entity, Model, model, prop


@model()
class Place(Model):
    city: str
    zip_code: str = prop(default="", field_name="zip")
    code: str | None = prop(default=None, hidden=True)


@model(collection="h_items", hidden_properties=["secret"])
class Item(Entity):
    """Strict, a hidden property, every type the translator coerces to."""

    name: str = prop(default="", json_schema={"maxLength": 40})
    n: int = 0
    score: float | None = None
    flag: bool = False
    when: datetime | None = None
    kind: Literal["a", "b"] = "a"
    price: Decimal | None = None
    ref: ObjectId | None = None
    uid: uuid.UUID | None = None
    tags: list[str] = prop(default_factory=list)
    place: Place | None = None
    places: list[Place] = prop(default_factory=list)
    extra: dict[str, Any] = prop(default_factory=dict)
    anything: Any = None
    secret: str | None = None


@model(collection="h_loose", strict=False)
class LooseItem(Entity):
    """Unknown properties pass through filters and are stored."""

    name: str = ""
    n: int = 0


@model(collection="h_filtered", strict="filter")
class FilteredItem(Entity):
    name: str = ""


@model(collection="h_scoped", scope={"where": {"tenant": "t1"}})
class ScopedItem(Entity):
    tenant: str = "t1"
    name: str = ""


@model(collection="h_keyed", force_id=False)
class KeyedItem(Entity):
    """A caller-supplied id is accepted (force_id=False)."""

    name: str = ""


@model()
class Spot(Model):
    city: str = ""
    zip_code: str = prop(default="", field_name="zip")


@model(collection="h_diff", hidden_properties=["secret"])
class Row(Entity):
    """The differential tests' entity; ``key`` identifies a row on every backend."""

    key: int
    name: str = ""
    n: int = 0
    score: float | None = None
    flag: bool = False
    tags: list[str] = prop(default_factory=list)
    spot: Spot | None = None
    secret: str | None = None


@model(collection="h_counters")
class Meter(Entity):
    name: str
    n: int = 0


@model(collection="h_jobs")
class Job(Entity):
    name: str
    status: str = "queued"
    worker: str | None = None
    attempts: int = 0


@model(collection="h_accounts")
class Account(Entity):
    email: str = prop(unique=True)
    name: str = ""


@model(collection="h_blobs")
class Blob(Entity):
    """Large documents: a create_all of ~50 of them is split into two insert commands."""

    seq: int
    blob: str = ""
