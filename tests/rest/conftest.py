from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from odm import Repository

from .app import APP, HIDDEN_NAMES, SECRET, Customer, Order, Profile, set_database


async def _no_secret(response: httpx.Response) -> None:
    """Every body, errors included: neither a hidden value nor a hidden name."""
    body = await response.aread()
    assert SECRET.encode() not in body, f"hidden value in {response.request.url}: {body!r}"
    for name in HIDDEN_NAMES:
        assert name.encode() not in body, f"hidden name in {response.request.url}: {body!r}"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", event_hooks={"response": [_no_secret]}
    ) as client:
        yield client


@pytest.fixture
def repo(odm_db: Any) -> Repository[Customer]:
    set_database(odm_db)
    return Repository(Customer, odm_db)


@pytest.fixture
async def seeded(repo: Repository[Customer]) -> list[Customer]:
    people = [
        {
            "email": "ada@example.com",
            "name": "Ada",
            "age": 36,
            "address": {"city": "London", "zip_code": "1"},
        },
        {"email": "joan@example.com", "name": "Joan", "age": 30},
        {"email": "john@example.com", "name": "John", "age": 25},
        {"email": "grace@example.com", "name": "Grace", "age": 85},
    ]
    return await repo.create_all([{**person, "password": SECRET} for person in people])


@pytest.fixture
def orders(odm_db: Any) -> Repository[Order]:
    return Repository(Order, odm_db)


@pytest.fixture
async def related(seeded: list[Customer], orders: Repository[Order], odm_db: Any) -> list[Order]:
    """Ada has three orders (totals 10, 20, 30) and a profile, Joan one order."""
    ada, joan = seeded[0], seeded[1]
    items = [{"total": total, "customer_id": ada.id} for total in (10.0, 20.0, 30.0)]
    items.append({"total": 5.0, "customer_id": joan.id})
    made = await orders.create_all([{**item, "cost_price": SECRET} for item in items])
    await Repository(Profile, odm_db).create({"bio": "engines", "customer_id": ada.id})
    return made
