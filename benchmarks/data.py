"""Deterministic order data: the same seed gives the same orders on every machine.

Two forms of one order:

* a *record*: the values by property name, without an id (what a caller hands to
  ``create_all`` or to a model's constructor);
* a *document*: the record as stored (field names, ``createdAt``, an ObjectId ``_id``),
  what every contender's collection holds and what the codec tasks decode.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

__all__ = ["make_documents", "make_records", "object_id", "to_document"]

SEED = 20240601
_START = datetime(2024, 1, 1, tzinfo=UTC)
_STATUSES = ("new", "paid", "packed", "shipped", "delivered", "cancelled")
_CITIES = ("Lyon", "Porto", "Leeds", "Graz", "Ghent", "Turku", "Bergen", "Cork")
_COUNTRIES = ("FR", "PT", "GB", "AT", "BE", "FI", "NO", "IE")
_TAGS = ("gift", "express", "fragile", "b2b", "promo", "repeat", "bulk")
_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")
ITEMS_PER_ORDER = 5


def _record(rng: random.Random, number: int) -> dict[str, Any]:
    name = rng.choice(_NAMES)
    place = rng.randrange(len(_CITIES))
    items = [
        {
            "sku": f"SKU-{rng.randrange(100_000):05d}",
            "quantity": rng.randrange(1, 10),
            "unit_price": round(rng.uniform(1, 500), 2),
        }
        for _ in range(ITEMS_PER_ORDER)
    ]
    milliseconds = rng.randrange(365 * 24 * 3600 * 1000)
    return {
        "customer_name": f"{name} {number}",
        "customer_email": f"{name.lower()}.{number}@example.com",
        "status": rng.choice(_STATUSES),
        "total": round(sum(i["quantity"] * i["unit_price"] for i in items), 2),
        "paid": rng.random() < 0.7,
        # BSON keeps milliseconds, so the stored value reads back equal
        "created_at": _START + timedelta(milliseconds=milliseconds),
        "reference": uuid.UUID(int=rng.getrandbits(128), version=4),
        "shipping": {
            "street": f"{rng.randrange(1, 300)} Harbour Road",
            "city": _CITIES[place],
            "postal_code": f"{rng.randrange(10_000, 99_999)}",
            "country": _COUNTRIES[place],
        },
        "items": items,
        "tags": rng.sample(_TAGS, rng.randrange(0, 4)),
        "note": None if rng.random() < 0.5 else "leave at the door",
    }


def make_records(count: int, *, seed: int = SEED) -> list[dict[str, Any]]:
    """``count`` orders by property name, without ids; the same for the same seed."""
    rng = random.Random(seed)
    return [_record(rng, number) for number in range(count)]


def object_id(number: int) -> ObjectId:
    """A deterministic ObjectId (increasing with ``number``)."""
    return ObjectId(b"\x65\x00\x00\x00" + number.to_bytes(8, "big"))


def to_document(record: dict[str, Any], id: ObjectId | None = None) -> dict[str, Any]:
    """A record as stored: ``created_at`` as ``createdAt`` and, when given, ``_id`` first."""
    doc: dict[str, Any] = {} if id is None else {"_id": id}
    for name, value in record.items():
        if name == "shipping":
            value = dict(value)
        elif name == "items":
            value = [dict(item) for item in value]
        elif name == "tags":
            value = list(value)
        doc["createdAt" if name == "created_at" else name] = value
    return doc


def make_documents(count: int, *, seed: int = SEED) -> list[dict[str, Any]]:
    """``count`` stored orders with deterministic ids ``object_id(0..count-1)``."""
    return [
        to_document(record, object_id(n)) for n, record in enumerate(make_records(count, seed=seed))
    ]
