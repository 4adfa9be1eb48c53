"""Every CRUD route end to end, on every backend: statuses, bodies, stored documents,
and (through the client's response hook) no hidden value in any body."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from bson import ObjectId

import odm
from odm import Repository

from .app import SECRET, Customer


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["statusCode"] == status and error["code"] == code, error
    assert set(error) <= {"statusCode", "name", "message", "code", "details"}
    for detail in error.get("details", ()):
        assert set(detail) == {"path", "code", "message"}  # never the refused value
    return error


async def test_post_creates_and_returns_the_entity(
    client: httpx.AsyncClient, repo: Repository[Customer]
) -> None:
    body = {
        "email": "new@example.com",
        "name": "Newt",
        "address": {"city": "Rome", "zip_code": "9"},
    }
    response = await client.post("/customers", json=body)
    assert response.status_code == 200
    created = response.json()
    assert created == {**body, "id": created["id"], "age": 0}
    stored = await repo.collection.find_one({"_id": ObjectId(created["id"])})
    assert stored["address"] == {"city": "Rome", "zip": "9"} and stored["password"] is None


async def test_post_refuses_an_id_a_hidden_property_and_invalid_data(
    client: httpx.AsyncClient, repo: Repository[Customer]
) -> None:
    forced = await client.post(
        "/customers", json={"id": str(ObjectId()), "email": "a@b.c", "name": "Al"}
    )
    assert error_of(forced, 422, "VALIDATION_FAILED")["details"][0]["code"] == "absence"
    hidden = await client.post(
        "/customers", json={"email": "a@b.c", "name": "Al", "password": SECRET}
    )
    unknown = await client.post("/customers", json={"email": "a@b.c", "name": "Al", "nope": 1})
    for response in (hidden, unknown):
        assert (
            error_of(response, 422, "VALIDATION_FAILED")["details"][0]["code"] == "unknown-property"
        )
    invalid = await client.post("/customers", json={"email": "a@b.c", "name": "A", "age": "x"})
    codes = {d["path"]: d["code"] for d in error_of(invalid, 422, "VALIDATION_FAILED")["details"]}
    assert codes == {"name": "minLength", "age": "type"}
    not_json = await client.post(
        "/customers", content=b"{nope", headers={"content-type": "application/json"}
    )
    error_of(not_json, 400, "INVALID_REQUEST_BODY")
    error_of(await client.post("/customers"), 400, "INVALID_REQUEST_BODY")
    error_of(await client.post("/customers", json=[1]), 422, "VALIDATION_FAILED")
    assert await repo.count() == 0


async def test_post_answers_409_for_a_duplicate_key(
    client: httpx.AsyncClient, repo: Repository[Customer], seeded: list[Customer]
) -> None:
    await repo.migrate()
    response = await client.post("/customers", json={"email": "ada@example.com", "name": "Ada"})
    error = error_of(response, 409, "DUPLICATE_KEY")
    assert error["details"][0]["path"] == "email"


async def test_find_reads_json_and_bracket_filters_alike(
    client: httpx.AsyncClient, seeded: list[Customer]
) -> None:
    as_json = {
        "where": {"name": {"like": "Jo%"}, "age": {"gte": "26"}},
        "order": ["name ASC"],
        "limit": 10,
    }
    brackets = (
        "filter[where][name][like]=Jo%25&filter[where][age][gte]=26"
        "&filter[order][0]=name%20ASC&filter[limit]=10"
    )
    one = await client.get("/customers", params={"filter": json.dumps(as_json)})
    two = await client.get(f"/customers?{brackets}")
    assert one.status_code == two.status_code == 200
    assert [c["name"] for c in one.json()] == [c["name"] for c in two.json()] == ["Joan"]
    either = (
        "filter[where][or][0][age]=25&filter[where][or][1][name]=Grace&filter[order]=age%20DESC"
    )
    assert [c["name"] for c in (await client.get(f"/customers?{either}")).json()] == [
        "Grace",
        "John",
    ]
    fields = await client.get(
        "/customers?filter[fields][name]=true&filter[order]=name&filter[skip]=3"
    )
    assert fields.json() == [{"id": seeded[2].id, "name": "John"}]
    without_age = await client.get("/customers?filter[fields][age]=false&filter[limit]=1")
    assert set(without_age.json()[0]) == {"id", "email", "name", "address"}
    everyone = await client.get("/customers")
    assert sorted(c["name"] for c in everyone.json()) == ["Ada", "Grace", "Joan", "John"]


async def test_a_larger_or_missing_limit_is_clamped_to_max_limit(
    client: httpx.AsyncClient, seeded: list[Customer]
) -> None:
    assert len((await client.get("/capped")).json()) == 2
    assert len((await client.get("/capped?filter[limit]=50")).json()) == 2
    assert len((await client.get("/capped", params={"filter": '{"limit": 1}'})).json()) == 1


async def test_count_and_patch_by_where(
    client: httpx.AsyncClient, repo: Repository[Customer], seeded: list[Customer]
) -> None:
    assert (await client.get("/customers/count")).json() == {"count": 4}
    assert (await client.get("/customers/count?where[age][gte]=30")).json() == {"count": 3}
    counted = await client.get("/customers/count", params={"where": '{"age": {"lt": 30}}'})
    assert counted.json() == {"count": 1}
    patched = await client.patch("/customers?where[age][gte]=80", json={"name": "Old Grace"})
    assert patched.status_code == 200 and patched.json() == {"count": 1}
    stored = await repo.collection.find_one({"_id": ObjectId(seeded[3].id)})
    assert stored["name"] == "Old Grace" and stored["password"] == SECRET
    hidden = await client.patch("/customers", json={"password": "x"})
    error_of(hidden, 422, "VALIDATION_FAILED")
    assert (await repo.collection.find_one({"_id": ObjectId(seeded[0].id)}))["password"] == SECRET


async def test_find_by_id_with_fields_and_not_found(
    client: httpx.AsyncClient, seeded: list[Customer]
) -> None:
    ada = seeded[0]
    whole = await client.get(f"/customers/{ada.id}")
    assert whole.status_code == 200 and whole.json() == ada.to_json()
    projected = await client.get(f"/customers/{ada.id}?filter[fields][0]=email")
    assert projected.json() == {"id": ada.id, "email": "ada@example.com"}
    for missing in (str(ObjectId()), "not-an-id", '{"$ne":1}', "%7B%22neq%22%3A1%7D"):
        error_of(await client.get(f"/customers/{missing}"), 404, "ENTITY_NOT_FOUND")
    error_of(await client.get(f"/customers/{ada.id}?filter=nope"), 400, "INVALID_FILTER")


async def test_patch_put_and_delete_by_id_answer_204(
    client: httpx.AsyncClient, repo: Repository[Customer], seeded: list[Customer]
) -> None:
    url = f"/customers/{seeded[1].id}"
    patched = await client.patch(url, json={"age": 31})
    assert patched.status_code == 204 and patched.content == b""
    assert (await client.get(url)).json()["age"] == 31
    replaced = await client.put(url, json={"email": "joan@example.org", "name": "Joan A"})
    assert replaced.status_code == 204
    stored = await repo.collection.find_one({"_id": ObjectId(seeded[1].id)})
    # a replace re-applies defaults to what it leaves out, but keeps the hidden password
    assert (stored["name"], stored["age"], stored["password"]) == ("Joan A", 0, SECRET)
    error_of(
        await client.put(url, json={"email": "j@x.y", "name": "Jo", "password": "p"}),
        422,
        "VALIDATION_FAILED",
    )
    error_of(await client.patch(url, json={"id": str(ObjectId())}), 422, "VALIDATION_FAILED")
    deleted = await client.delete(url)
    assert deleted.status_code == 204 and await repo.count() == 3
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        body = None if method in ("GET", "DELETE") else {"email": "j@x.y", "name": "Jo"}
        response = await client.request(method, url, json=body)
        error_of(response, 404, "ENTITY_NOT_FOUND")


async def test_filters_refused_with_400_never_500(
    client: httpx.AsyncClient, seeded: list[Customer]
) -> None:
    refused = [
        "/customers?filter={not json",
        "/customers?filter[where][name]=a&filter[where][name][like]=b",
        "/customers?filter[where=1",
        '/customers?filter={"where":{"password":"x"}}',  # hidden, though the repository allows it
        "/customers?filter[order]=password%20DESC",
        '/customers?filter={"where":{"$where":"1"}}',
        '/customers?filter={"where":{"age":{"$gt":1}}}',  # extended operators are off
        "/customers?filter[limit]=-1",
        "/customers?filter[where][age]=old",
        "/customers?filter[unknown]=1",
        "/customers?filter=[1]",
        "/customers?filter=" + "[" * 5000,
        "/customers?filter" + "[a]" * 40 + "=1",
        "/customers/count?where=[1]",
        '/customers/count?where={"password":{"exists":true}}',
        "/customers/count?where=1&where[a]=2",
    ]
    for url in refused:
        error_of(await client.get(url), 400, "INVALID_FILTER")


async def test_a_read_only_router_has_only_the_read_routes(
    client: httpx.AsyncClient, seeded: list[Customer]
) -> None:
    assert len((await client.get("/readonly")).json()) == 4
    assert (await client.get("/readonly/count")).json() == {"count": 4}
    assert (await client.get(f"/readonly/{seeded[0].id}")).status_code == 200
    assert (
        await client.post("/readonly", json={"email": "x@y.z", "name": "Xy"})
    ).status_code == 405
    assert (await client.delete(f"/readonly/{seeded[0].id}")).status_code == 405


def test_a_router_needs_an_entity_and_known_operations() -> None:
    from odm.rest import crud_router

    from .app import Address, customers

    with pytest.raises(TypeError):
        crud_router(Address, repository=customers)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown operations"):
        crud_router(Customer, repository=customers, operations=["find", "destroy"])
    with pytest.raises(ValueError, match="max_limit"):
        crud_router(Customer, repository=customers, max_limit=0)
    assert odm.rest.OPERATIONS[0] == "create"


async def test_the_repository_dependency_chooses_per_request(
    client: httpx.AsyncClient, seeded: list[Customer]
) -> None:
    served = await client.get("/tenant/count", headers={"x-tenant": "acme"})
    assert served.status_code == 200 and served.json() == {"count": 4}
    error_of(
        await client.get("/tenant/count", headers={"x-tenant": "other"}), 404, "ENTITY_NOT_FOUND"
    )
    missing = error_of(await client.get("/tenant/count"), 422, "VALIDATION_FAILED")
    assert missing["details"] == [
        {"path": "header.x-tenant", "code": "missing", "message": "Field required"}
    ]
