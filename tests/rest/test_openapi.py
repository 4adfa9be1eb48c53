"""The OpenAPI document and the offline docs page (no database)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import odm
from odm.rest import crud_router, serve_docs
from odm.rest.errors import error_response

from .app import APP, Customer, customers


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return APP.openapi()


def test_components_are_loopbacks_and_hold_no_hidden_property(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert sorted(schemas) == ["Address", "Customer", "CustomerPartial", "NewCustomer"]
    assert set(schemas["Customer"]["properties"]) == {"id", "email", "name", "age", "address"}
    assert "id" not in schemas["NewCustomer"]["properties"]
    assert schemas["NewCustomer"]["required"] == ["email", "name"]
    assert "required" not in schemas["CustomerPartial"]
    assert schemas["Customer"]["properties"]["address"] == {"$ref": "#/components/schemas/Address"}
    assert "password" not in json.dumps(document)


def test_routes_name_the_components_and_the_filter_schema(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert set(paths["/customers"]) == {"post", "get", "patch"}
    assert set(paths["/customers/{id}"]) == {"get", "patch", "put", "delete"}
    assert set(paths["/readonly/{id}"]) == {"get"}

    def body_ref(operation: dict[str, Any]) -> str:
        ref: str = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[1]

    assert body_ref(paths["/customers"]["post"]) == "NewCustomer"
    assert body_ref(paths["/customers"]["patch"]) == "CustomerPartial"
    assert body_ref(paths["/customers/{id}"]["put"]) == "Customer"
    listed = paths["/customers"]["get"]
    assert listed["operationId"] == "CustomerController.find"
    [parameter] = listed["parameters"]
    schema = parameter["content"]["application/json"]["schema"]
    assert schema["title"] == "Customer.Filter" and "where" in schema["properties"]
    counted = paths["/customers/count"]["get"]["parameters"][0]["content"]["application/json"]
    assert counted["schema"]["title"] == "Customer.WhereFilter"
    assert "204" in paths["/customers/{id}"]["delete"]["responses"]
    assert "HTTPValidationError" not in json.dumps(document)  # errors have LoopBack's shape


async def test_the_docs_page_and_every_asset_it_references_are_served() -> None:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        page = await client.get("/docs")
        assert page.status_code == 200 and "swagger" in page.text.lower()
        urls = re.findall(r"""(?:href|src)=["']([^"']+)["']|url: *["']([^"']+)["']""", page.text)
        assets = [a or b for a, b in urls]
        assert len(assets) >= 4, assets
        for url in assets:
            assert url.startswith("/"), f"{url} is not served by the app"
            response = await client.get(url)
            assert response.status_code == 200 and response.content, url
        assert (await client.get("/docs/oauth2-redirect")).status_code == 200


def test_serve_docs_refuses_an_app_with_fastapis_cdn_page() -> None:
    with pytest.raises(ValueError, match="docs_url=None"):
        serve_docs(FastAPI())


def test_error_bodies_for_conflicts_and_unexpected_odm_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meta = Customer.odm_meta()

    class ConflictError(odm.ODMError):
        pass

    monkeypatch.setattr(odm.errors, "ConflictError", ConflictError, raising=False)
    conflict = error_response(ConflictError("Customer x: version 2 expected, 3 stored"), meta)
    assert conflict.status_code == 409
    assert json.loads(conflict.body)["error"]["code"] == "VERSION_CONFLICT"
    unexpected = error_response(odm.ODMError("secret internals"), meta)
    body = json.loads(unexpected.body)
    assert unexpected.status_code == 500 and "secret" not in unexpected.body.decode()
    assert body["error"] == {
        "statusCode": 500,
        "name": "InternalServerError",
        "message": "Internal Server Error",
        "code": "INTERNAL_ERROR",
    }


def test_a_second_router_of_one_model_gets_its_own_operation_ids() -> None:
    app = FastAPI()
    app.include_router(crud_router(Customer, repository=customers))  # at the root
    app.include_router(crud_router(Customer, repository=customers, prefix="/a", controller="A"))
    app.include_router(crud_router(Customer, repository=customers, prefix="/b", controller="B"))
    ids = [op["operationId"] for path in app.openapi()["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)) == 24
    assert {"/", "/count", "/{id}", "/a", "/b/{id}"} <= set(app.openapi()["paths"])


def test_the_public_names_of_odm_rest() -> None:
    import odm.rest

    assert sorted(odm.rest.__all__) == [
        "OPERATIONS",
        "READ_OPERATIONS",
        "crud_router",
        "rest_repository",
        "serve_docs",
    ]
    assert "rest" not in odm.__all__  # a subpackage, imported explicitly (needs the extra)
