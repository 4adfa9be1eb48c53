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
    assert {"Customer", "NewCustomer", "CustomerPartial", "CustomerWithRelations"} <= set(schemas)
    assert set(schemas["Customer"]["properties"]) == {"id", "email", "name", "age", "address"}
    related = schemas["CustomerWithRelations"]["properties"]
    assert related["orders"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/OrderWithRelations"},
    }
    assert related["profile"] == {"$ref": "#/components/schemas/ProfileWithRelations"}
    for name in ("Customer", "NewCustomer", "CustomerPartial"):
        assert "orders" not in schemas[name]["properties"]  # navigational: only WithRelations
    # what odm maintains is no client's to send; a PATCH may carry the version it read
    assert set(schemas["NewOrder"]["properties"]) == {"total", "customer_id"}
    assert set(schemas["OrderPartial"]["properties"]) == {"total", "customer_id", "version"}
    assert schemas["Order"]["properties"]["version"]["readOnly"] is True
    assert "id" not in schemas["NewCustomer"]["properties"]
    assert schemas["NewCustomer"]["required"] == ["email", "name"]
    assert "required" not in schemas["CustomerPartial"]
    assert schemas["Customer"]["properties"]["address"] == {"$ref": "#/components/schemas/Address"}
    assert "password" not in json.dumps(document) and "cost_price" not in json.dumps(document)


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
    assert "include" not in schema["properties"]["where"].get("properties", {})
    include = schema["properties"]["include"]
    assert include["title"] == "Customer.IncludeFilter"
    assert include["items"]["anyOf"][0] == {"type": "string", "enum": ["orders", "profile"]}

    def response_ref(operation: dict[str, Any]) -> str:
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        ref: str = schema.get("items", schema)["$ref"]
        return ref.rsplit("/", 1)[1]

    assert response_ref(listed) == response_ref(paths["/customers/{id}"]["get"])
    assert response_ref(listed) == "CustomerWithRelations"
    assert response_ref(paths["/customers"]["post"]) == "Customer"
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


def test_an_unexpected_odm_error_is_a_500_that_says_nothing() -> None:
    meta = Customer.odm_meta()
    unexpected = error_response(odm.ODMError("secret internals"), meta)
    body = json.loads(unexpected.body)
    assert unexpected.status_code == 500 and "secret" not in unexpected.body.decode()
    assert body["error"] == {
        "statusCode": 500,
        "name": "InternalServerError",
        "message": "Internal Server Error",
        "code": "INTERNAL_ERROR",
    }


def test_relation_routes_are_loopbacks_relation_controllers(document: dict[str, Any]) -> None:
    paths = document["paths"]
    ids = {
        path: {method: op["operationId"] for method, op in operations.items()}
        for path, operations in paths.items()
        if path.count("/") == 3
    }
    assert ids == {
        "/customers/{id}/orders": {
            "get": "CustomerOrderController.find",
            "post": "CustomerOrderController.create",
            "patch": "CustomerOrderController.patch",
            "delete": "CustomerOrderController.delete",
        },
        "/customers/{id}/profile": {
            "get": "CustomerProfileController.get",
            "post": "CustomerProfileController.create",
            "patch": "CustomerProfileController.patch",
            "delete": "CustomerProfileController.delete",
        },
        "/orders/{id}/customer": {"get": "OrderCustomerController.getCustomer"},
        "/readonly/{id}/orders": {"get": "ReadOnlyOrderController.find"},
    }
    created = paths["/customers/{id}/orders"]["post"]
    body = created["requestBody"]["content"]["application/json"]["schema"]
    assert body["title"] == "NewOrderInCustomer" and body["required"] == ["total"]


def test_a_second_router_of_one_model_gets_its_own_operation_ids() -> None:
    app = FastAPI()
    app.include_router(crud_router(Customer, repository=customers))  # at the root
    app.include_router(crud_router(Customer, repository=customers, prefix="/a", controller="A"))
    app.include_router(crud_router(Customer, repository=customers, prefix="/b", controller="B"))
    ids = [op["operationId"] for path in app.openapi()["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)) == 3 * (8 + 4 + 4)  # CRUD, orders, profile
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
