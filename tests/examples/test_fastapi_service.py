"""The FastAPI example on every backend: LoopBack's REST shape and odm errors as HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bson import ObjectId

from examples.fastapi_service.app import create_app


@pytest.fixture
async def client(odm_db: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(odm_db)
    # ASGITransport sends no lifespan events: run the app's lifespan (index migration) here
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client


def ada(**extra: Any) -> dict[str, Any]:
    return {"email": "ada@example.com", "name": "Ada Lovelace", "password": "s3cret-pass", **extra}


async def create(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/customers", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def error_of(response: httpx.Response, status_code: int, name: str) -> dict[str, Any]:
    assert response.status_code == status_code, response.text
    error: dict[str, Any] = response.json()["error"]
    assert (error["statusCode"], error["name"]) == (status_code, name)
    return error


async def test_post_returns_the_customer_without_its_hidden_property(
    client: httpx.AsyncClient, odm_db: Any
) -> None:
    created = await create(client, ada(address={"street": "s", "city": "London", "zip_code": "1"}))
    assert ObjectId.is_valid(created["id"])
    assert created["email"] == "ada@example.com"
    assert created["address"]["zip_code"] == "1"
    assert "password" not in created and "password_hash" not in created
    # stored all the same, as a hash, under the database's field names
    stored = await odm_db["customers"].find_one({"_id": ObjectId(created["id"])})
    assert stored["password_hash"].startswith("scrypt$")
    assert "s3cret-pass" not in stored["password_hash"]
    assert stored["address"]["zip"] == "1" and "createdAt" in stored


async def test_hidden_property_is_absent_from_every_read(client: httpx.AsyncClient) -> None:
    created = await create(client, ada())
    one = await client.get(f"/customers/{created['id']}")
    many = await client.get("/customers")
    projected = await client.get(
        "/customers", params={"filter": json.dumps({"fields": ["email", "password_hash"]})}
    )
    for body in (one.json(), *many.json(), *projected.json()):
        assert "password_hash" not in body and "password" not in body
    assert one.json() == created


def test_the_openapi_schema_leaves_the_hidden_property_out() -> None:
    app = create_app()  # no database needed: the lifespan would open it, and never runs here
    schemas = app.openapi()["components"]["schemas"]
    assert "email" in schemas["Customer"]["properties"]
    assert "password_hash" not in schemas["Customer"]["properties"]


async def test_find_with_a_filter_and_count_with_a_where(client: httpx.AsyncClient) -> None:
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
    assert response.status_code == 200
    assert [c["name"] for c in response.json()] == ["Customer 2", "Customer 0"]
    counted = await client.get(
        "/customers/count", params={"where": json.dumps({"name": {"like": "Customer%"}})}
    )
    assert counted.status_code == 200 and counted.json() == {"count": 3}
    assert (await client.get("/customers/count")).json() == {"count": 3}


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
    assert (after_put["email"], after_put["name"], after_put["tags"]) == (
        "ada@example.org",
        "Augusta Ada",
        [],  # a replace re-applies the defaults of what it leaves out
    )

    matched = await client.patch(
        "/customers", params={"where": json.dumps({"name": "Augusta Ada"})}, json={"tags": ["x"]}
    )
    assert matched.status_code == 200 and matched.json() == {"count": 1}

    deleted = await client.delete(url)
    assert deleted.status_code == 204
    error_of(await client.get(url), 404, "EntityNotFoundError")


async def test_forced_id_rejects_a_client_id_with_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/customers", json=ada(id=str(ObjectId())))
    error = error_of(response, 422, "ValidationError")
    assert {"path": "id", "code": "absence"}.items() <= error["details"][0].items()
    assert (await client.get("/customers/count")).json() == {"count": 0}

    created = await create(client, ada())
    other_id = {"email": "a@example.com", "name": "Ada", "id": str(ObjectId())}
    put = await client.put(f"/customers/{created['id']}", json=other_id)
    assert "id" in [d["path"] for d in error_of(put, 422, "ValidationError")["details"]]
    patch = await client.patch(f"/customers/{created['id']}", json={"id": str(ObjectId())})
    assert error_of(patch, 422, "ValidationError")["details"][0]["code"] == "absence"


async def test_invalid_data_gives_422_with_every_detail(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/customers", json={"email": "not-an-email", "name": "A", "nickname": "x"}
    )
    error = error_of(response, 422, "ValidationError")
    assert error["code"] == "VALIDATION_FAILED"
    problems = {(d["path"], d["code"]) for d in error["details"]}
    assert problems == {
        ("email", "format"),
        ("name", "minLength"),
        ("nickname", "unknown-property"),
    }
    messages = {d["path"]: d["message"] for d in error["details"]}
    assert messages["email"] == "Customer.email: must be a valid email"
    assert messages["name"] == "name must be 2-40 characters"  # the model's errorMessage

    missing = error_of(await client.post("/customers", json={}), 422, "ValidationError")
    assert {(d["path"], d["code"]) for d in missing["details"]} == {
        ("email", "presence"),
        ("name", "presence"),
    }

    created = await create(client, ada())
    patch = await client.patch(f"/customers/{created['id']}", json={"tags": "not-a-list"})
    assert error_of(patch, 422, "ValidationError")["details"][0]["path"] == "tags"
    empty = await client.patch(f"/customers/{created['id']}", json={})
    assert error_of(empty, 422, "ValidationError")["details"][0]["code"] == "presence"


async def test_a_body_that_is_not_an_object_gives_422_in_the_same_shape(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/customers", json=["not", "an", "object"])
    error = error_of(response, 422, "ValidationError")
    assert error["details"] and error["details"][0]["path"] == ""


@pytest.mark.parametrize(
    ("parameter", "value", "path"),
    [
        ("filter", "{not json", "filter"),
        ("filter", json.dumps({"where": {"nope": 1}}), "where.nope"),
        ("filter", json.dumps({"where": {"name": {"$where": "1"}}}), "where.name.$where"),
        ("filter", json.dumps({"limit": -1}), "limit"),
        ("filter", json.dumps({"order": "name SIDEWAYS"}), "order"),
        ("filter", json.dumps(["a list"]), ""),
        ("filter", json.dumps({"where": {"password_hash": {"like": "scrypt%"}}}), "where"),
        ("filter", json.dumps({"order": "password_hash ASC"}), "order"),
    ],
    ids=[
        "not-json",
        "unknown",
        "operator",
        "limit",
        "order",
        "not-object",
        "hidden",
        "hidden-sort",
    ],
)
async def test_a_bad_filter_gives_400(
    client: httpx.AsyncClient, parameter: str, value: str, path: str
) -> None:
    await create(client, ada())
    response = await client.get("/customers", params={parameter: value})
    error = error_of(response, 400, "InvalidFilterError")
    assert error["path"].startswith(path) and error["reason"]


async def test_a_bad_where_on_count_gives_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/customers/count", params={"where": json.dumps({"age": 3})})
    assert error_of(response, 400, "InvalidFilterError")["path"] == "where.age"


async def test_a_duplicate_email_gives_409(client: httpx.AsyncClient) -> None:
    first = await create(client, ada())
    response = await client.post("/customers", json=ada(name="Ada Again"))
    error = error_of(response, 409, "DuplicateKeyError")
    assert error["properties"] == ["email"]
    assert error["value"] == {"email": "ada@example.com"}

    other = await create(client, {"email": "grace@example.com", "name": "Grace"})
    patch = await client.patch(f"/customers/{other['id']}", json={"email": "ada@example.com"})
    assert error_of(patch, 409, "DuplicateKeyError")["properties"] == ["email"]
    assert (await client.get(f"/customers/{first['id']}")).status_code == 200


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
@pytest.mark.parametrize("missing", [str(ObjectId()), "not-an-object-id"], ids=["absent", "bad"])
async def test_a_missing_id_gives_404(client: httpx.AsyncClient, method: str, missing: str) -> None:
    body = {"name": "Nobody", "email": "n@example.com"} if method in ("PATCH", "PUT") else None
    response = await client.request(method, f"/customers/{missing}", json=body)
    error = error_of(response, 404, "EntityNotFoundError")
    assert missing in error["message"] and error["code"] == "ENTITY_NOT_FOUND"
