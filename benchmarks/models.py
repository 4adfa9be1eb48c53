"""One realistic model, declared once for each contender.

An order: eleven properties plus the id, one of them renamed (``created_at`` is stored
as ``createdAt``), a datetime, a UUID, an embedded model and a list of five embedded
models. Every declaration stores the same document shape, so one seeded collection can
be read by every contender.

Beanie and ODMantic are optional (the ``bench`` extra); :func:`beanie_models` and
:func:`odmantic_models` return None when the package is missing.
"""

# No ``from __future__ import annotations``: the peer classes are declared inside
# functions, where string annotations could not be resolved later.
import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pydantic import BaseModel, ConfigDict, Field

from odm import Entity, Model, model, prop

__all__ = [
    "COLLECTION",
    "Address",
    "LineItem",
    "Order",
    "PeerModels",
    "PlainAddress",
    "PlainLineItem",
    "PlainOrder",
    "beanie_models",
    "odmantic_models",
]

#: Every contender stores orders in this collection (of its own database).
COLLECTION = "orders"

# --- odm ------------------------------------------------------------------------------


class Address(Model):
    street: str
    city: str
    postal_code: str
    country: str


class LineItem(Model):
    sku: str
    quantity: int
    unit_price: float


@model(collection=COLLECTION)
class Order(Entity):
    customer_name: str
    customer_email: str
    status: str
    total: float
    paid: bool
    created_at: datetime = prop(field_name="createdAt")
    reference: uuid.UUID
    shipping: Address
    items: list[LineItem]
    tags: list[str]
    note: str | None = None


# --- pydantic, the baseline of the codec tasks ------------------------------------------


class PlainAddress(BaseModel):
    street: str
    city: str
    postal_code: str
    country: str


class PlainLineItem(BaseModel):
    sku: str
    quantity: int
    unit_price: float


class PlainOrder(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    id: ObjectId | None = Field(default=None, alias="_id")
    customer_name: str
    customer_email: str
    status: str
    total: float
    paid: bool
    created_at: datetime = Field(alias="createdAt")
    reference: uuid.UUID
    shipping: PlainAddress
    items: list[PlainLineItem]
    tags: list[str]
    note: str | None = None


# --- peers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerModels:
    """A peer's order class, or the reason it cannot run."""

    order: Any = None
    missing: str | None = None


@functools.cache
def beanie_models() -> PeerModels:
    """The Beanie ``Document`` of an order (None with a reason when Beanie is missing)."""
    try:
        from beanie import Document
    except ImportError as exc:
        return PeerModels(
            missing=f"beanie is not installed ({exc.name}): pip install -e '.[bench]'"
        )

    class BeanieAddress(BaseModel):
        street: str
        city: str
        postal_code: str
        country: str

    class BeanieLineItem(BaseModel):
        sku: str
        quantity: int
        unit_price: float

    class BeanieOrder(Document):
        customer_name: str
        customer_email: str
        status: str
        total: float
        paid: bool
        created_at: datetime = Field(alias="createdAt")
        reference: uuid.UUID
        shipping: BeanieAddress
        items: list[BeanieLineItem]
        tags: list[str]
        note: str | None = None

        class Settings:
            name = COLLECTION

    return PeerModels(order=BeanieOrder)


@functools.cache
def odmantic_models() -> PeerModels:
    """The ODMantic ``Model`` of an order (None with a reason when ODMantic is missing)."""
    try:
        from odmantic import EmbeddedModel
        from odmantic import Field as OdmanticField
        from odmantic import Model as OdmanticModel
    except ImportError as exc:
        return PeerModels(
            missing=f"odmantic is not installed ({exc.name}): pip install -e '.[bench]'"
        )

    class OdmanticAddress(EmbeddedModel):
        street: str
        city: str
        postal_code: str
        country: str

    class OdmanticLineItem(EmbeddedModel):
        sku: str
        quantity: int
        unit_price: float

    class OdmanticOrder(OdmanticModel):
        model_config = {"collection": COLLECTION}

        customer_name: str
        customer_email: str
        status: str
        total: float
        paid: bool
        created_at: datetime = OdmanticField(key_name="createdAt")
        reference: uuid.UUID
        shipping: OdmanticAddress
        items: list[OdmanticLineItem]
        tags: list[str]
        note: str | None = None

    return PeerModels(order=OdmanticOrder)
