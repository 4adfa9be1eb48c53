from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from odm import Repository

from .app import APP, SECRET, Customer, set_database


async def _no_secret(response: httpx.Response) -> None:
    body = await response.aread()
    assert SECRET.encode() not in body, f"hidden value in {response.request.url}: {body!r}"
    assert b'"password"' not in body or response.status_code >= 400, body


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
