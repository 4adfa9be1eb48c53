"""The FastAPI example on every backend: the router's LoopBack REST shape, tenancy through
the repository dependency, hashed passwords and the audit hooks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bson import ObjectId

from examples.fastapi_service.app import create_app

PASSWORD = "s3cret-pass"


async def _nothing_hidden(response: httpx.Response) -> None:
    body = await response.aread()
    assert PASSWORD.encode() not in body and b"scrypt" not in body, body
    assert b"password_hash" not in body, body


@pytest.fixture
async def client(odm_db: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(odm_db)
    # ASGITransport sends no lifespan events: run the app's lifespan (index migration) here
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"x-tenant": "acme"},
            event_hooks={"response": [_nothing_hidden]},
        ) as client,
    ):
        yield client


def ada(**extra: Any) -> dict[str, Any]:
    return {"email": "ada@example.com", "name": "Ada Lovelace", "password": PASSWORD, **extra}


async def create(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = await client.post("/customers", json=body, headers=headers)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def error_of(response: httpx.Response, status_code: int, code: str) -> dict[str, Any]:
    assert response.status_code == status_code, response.text
    error: dict[str, Any] = response.json()["error"]
    assert (error["statusCode"], error["code"]) == (status_code, code)
    return error


async def test_post_returns_the_customer_without_its_password(
    client: httpx.AsyncClient, odm_db: Any
) -> None:
    created = await create(client, ada(address={"street": "s", "city": "London", "zip_code": "1"}))
    assert ObjectId.is_valid(created["id"])
    assert (created["email"], created["tenant"]) == ("ada@example.com", "acme")
    assert created["address"]["zip_code"] == "1"
    # stored all the same, as a hash, under the database's field names
    stored = await odm_db["customers"].find_one({"_id": ObjectId(created["id"])})
    assert stored["password_hash"].startswith("scrypt$")
    assert PASSWORD not in stored["password_hash"]
    assert stored["address"]["zip"] == "1" and "createdAt" in stored


async def test_passwords_are_hashed_on_every_write_and_never_sent_back(
    client: httpx.AsyncClient, odm_db: Any
) -> None:
    created = await create(client, ada())
    url = f"/customers/{created['id']}"
    first = (await odm_db["customers"].find_one({"_id": ObjectId(created["id"])}))["password_hash"]
    assert (await client.patch(url, json={"password": "another-pass"})).status_code == 204
    second = (await odm_db["customers"].find_one({"_id": ObjectId(created["id"])}))["password_hash"]
    assert second.startswith("scrypt$") and second != first
    # a replace without a password keeps the stored hash (a client cannot send it back)
    assert (
        await client.put(url, json={"email": "a@example.org", "name": "Ada"})
    ).status_code == 204
    stored = await odm_db["customers"].find_one({"_id": ObjectId(created["id"])})
    assert stored["password_hash"] == second
    short = error_of(await client.patch(url, json={"password": "short"}), 422, "VALIDATION_FAILED")
    assert short["details"][0]["path"] == "password"
    hash_sent = await client.patch(url, json={"password_hash": "scrypt$forged"})
    error_of(hash_sent, 422, "VALIDATION_FAILED")
    one = await client.get(url)
    projected = await client.get(url, params={"filter": json.dumps({"fields": ["email"]})})
    assert set(projected.json()) == {"id", "email"}
    assert "password_hash" not in one.json()
    error_of(
        await client.get("/customers", params={"filter": '{"where": {"password_hash": "x"}}'}),
        400,
        "INVALID_FILTER",
    )


async def test_a_tenant_sees_and_writes_only_its_own_customers(
    client: httpx.AsyncClient, odm_db: Any
) -> None:
    mine = await create(client, ada())
    theirs = await create(client, ada(email="grace@example.com"), **{"x-tenant": "globex"})
    assert theirs["tenant"] == "globex"
    listed = await client.get("/customers")
    assert [c["id"] for c in listed.json()] == [mine["id"]]
    assert (await client.get("/customers/count")).json() == {"count": 1}
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "Stolen"} if method == "PATCH" else None
        response = await client.request(method, f"/customers/{theirs['id']}", json=body)
        error_of(response, 404, "ENTITY_NOT_FOUND")
    moved = await client.patch(f"/customers/{mine['id']}", json={"tenant": "globex"})
    error_of(moved, 422, "VALIDATION_FAILED")
    everyone = await client.patch("/customers", json={"tags": ["seen"]})
    assert everyone.json() == {"count": 1}
    stored = await odm_db["customers"].find_one({"_id": ObjectId(theirs["id"])})
    assert (stored["name"], stored["tags"], stored["tenant"]) == ("Ada Lovelace", [], "globex")
    missing = error_of(
        await client.get("/customers", headers={"x-tenant": ""}), 422, "VALIDATION_FAILED"
    )
    assert missing["details"][0]["path"] == "header.x-tenant"


async def test_every_write_is_audited_in_the_tenants_name(
    client: httpx.AsyncClient, odm_db: Any
) -> None:
    created = await create(client, ada())
    await client.patch(f"/customers/{created['id']}", json={"tags": ["x"]})
    await client.patch(
        "/customers", params={"where": '{"name": "Ada Lovelace"}'}, json={"tags": []}
    )
    await client.delete(f"/customers/{created['id']}")
    await client.get("/customers")  # reads are not audited
    entries = await odm_db["audit"].find({}, {"_id": 0, "at": 0}).to_list(None)
    assert [(e["operation"], e["tenant"], e["customer_id"]) for e in entries] == [
        ("create", "acme", created["id"]),
        ("update_by_id", "acme", created["id"]),
        ("update_all", "acme", None),
        ("delete_by_id", "acme", created["id"]),
    ]
    assert "Ada Lovelace" in entries[2]["where"]
    refused = await client.post("/customers", json={"name": "A"})
    assert refused.status_code == 422 and await odm_db["audit"].count_documents({}) == 4


def test_the_openapi_document_names_loopbacks_components_without_the_hash() -> None:
    app = create_app()  # no database needed: the lifespan would open it, and never runs here
    document = app.openapi()
    schemas = document["components"]["schemas"]
    assert {"Customer", "NewCustomer", "CustomerPartial", "CustomerWithRelations"} <= set(schemas)
    assert "email" in schemas["Customer"]["properties"]
    assert "password_hash" not in json.dumps(document)
    assert "/customers/{id}/orders" in document["paths"]


async def test_find_with_a_filter_count_and_orders_of_a_customer(client: httpx.AsyncClient) -> None:
    for n, city in enumerate(["London", "Paris", "London"]):
        await create(
            client,
            {
                "email": f"c{n}@example.com",
                "name": f"Customer {n}",
                "address": {"street": "s", "city": city, "zip_code": "z"},
            },
        )
    loopback_filter = {"where": {"address.city": "London"}, "order": "name DESC", "limit": 5}
    response = await client.get("/customers", params={"filter": json.dumps(loopback_filter)})
    assert [c["name"] for c in response.json()] == ["Customer 2", "Customer 0"]
    brackets = await client.get("/customers/count?where[name][like]=Customer%25")
    assert brackets.json() == {"count": 3}
    first = response.json()[1]
    order = await client.post(f"/customers/{first['id']}/orders", json={"total": 9.5})
    assert order.status_code == 200 and order.json()["customer_id"] == first["id"]
    included = await client.get(f"/customers/{first['id']}?filter[include][0]=orders")
    assert [o["total"] for o in included.json()["orders"]] == [9.5]


async def test_patch_put_and_delete_by_id(client: httpx.AsyncClient) -> None:
    created = await create(client, ada(tags=["math"]))
    url = f"/customers/{created['id']}"
    patched = await client.patch(url, json={"tags": ["math", "engines"]})
    assert patched.status_code == 204 and patched.content == b""
    after_patch = (await client.get(url)).json()
    assert after_patch["tags"] == ["math", "engines"]
    assert after_patch["name"] == "Ada Lovelace" and after_patch["created"] == created["created"]
    replaced = await client.put(url, json={"email": "ada@example.org", "name": "Augusta Ada"})
    assert replaced.status_code == 204
    after_put = (await client.get(url)).json()
    assert (after_put["email"], after_put["tags"], after_put["tenant"]) == (
        "ada@example.org",
        [],  # a replace re-applies the defaults of what it leaves out
        "acme",  # and the tenant's scope
    )
    assert (await client.delete(url)).status_code == 204
    error_of(await client.get(url), 404, "ENTITY_NOT_FOUND")


async def test_invalid_data_forced_ids_and_duplicates(client: httpx.AsyncClient) -> None:
    forced = error_of(
        await client.post("/customers", json=ada(id=str(ObjectId()))), 422, "VALIDATION_FAILED"
    )
    assert {"path": "id", "code": "absence"}.items() <= forced["details"][0].items()
    invalid = await client.post(
        "/customers", json={"email": "not-an-email", "name": "A", "nickname": "x"}
    )
    problems = {
        (d["path"], d["code"]) for d in error_of(invalid, 422, "VALIDATION_FAILED")["details"]
    }
    assert problems == {
        ("email", "format"),
        ("name", "minLength"),
        ("nickname", "unknown-property"),
    }
    await create(client, ada())
    error_of(await client.post("/customers", json=ada(name="Ada Again")), 409, "DUPLICATE_KEY")
    error_of(await client.get("/customers?filter={nope"), 400, "INVALID_FILTER")
    assert (await client.get("/customers/count")).json() == {"count": 1}


async def test_the_docs_page_is_served_offline(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text
