"""The app every REST test talks to: built once, its database chosen per test.

``Customer`` has a hidden ``password`` and ``Order`` a hidden ``cost_price``; the tests
store ``SECRET`` in both with the repositories directly (a body cannot write them) and
scan every response body for the value and for the names. ``Customer`` has many
``orders`` and one ``profile``; an ``Order`` belongs to its ``customer`` and is stamped
and versioned.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Header, Request

import odm
from odm import Entity, Model, Repository, belongs_to, has_many, has_one, model, prop
from odm.rest import crud_router, serve_docs

SECRET = "hunter2-secret-value"
#: the hidden properties' names: no response body names them
HIDDEN_NAMES = ("password", "cost_price")


@model()
class Address(Model):
    city: str
    zip_code: str = prop(field_name="zip")


@model(collection="rest_customers", hidden_properties=["password"])
class Customer(Entity):
    id: str = prop(id=True, generated=True)
    email: str = prop(unique=True)
    name: str = prop(json_schema={"minLength": 2})
    age: int = 0
    password: str | None = None
    address: Address | None = None
    orders: list[Order] | None = has_many()
    profile: Profile | None = has_one()


@model(collection="rest_orders", hidden_properties=["cost_price"], timestamps=True, version=True)
class Order(Entity):
    id: str = prop(id=True, generated=True)
    total: float = prop(json_schema={"minimum": 0})
    customer_id: str | None = None
    cost_price: str | None = None
    customer: Customer | None = belongs_to()


@model(collection="rest_profiles")
class Profile(Entity):
    id: str = prop(id=True, generated=True)
    bio: str
    customer_id: str | None = None


def customers(request: Request) -> Repository[Customer]:
    # extended operators on and hidden queries allowed: the router must turn both off
    return Repository(
        Customer,
        request.app.state.db,
        allow_extended_operators=True,
        prohibit_hidden_in_query=False,
    )


async def tenant_customers(
    request: Request, x_tenant: Annotated[str, Header()]
) -> Repository[Customer]:
    # a tenant header chooses the repository; here every tenant but "acme" is refused
    if x_tenant != "acme":
        raise odm.EntityNotFoundError("Tenant", x_tenant)
    return Repository(Customer, request.app.state.db, prohibit_hidden_in_query=True)


def orders(request: Request) -> Repository[Order]:
    return Repository(Order, request.app.state.db)


def build_app() -> FastAPI:
    app = FastAPI(title="customers", docs_url=None, redoc_url=None)
    app.include_router(
        crud_router(Customer, repository=customers, prefix="/customers", max_include_depth=1)
    )
    app.include_router(crud_router(Order, repository=orders, prefix="/orders"))
    app.include_router(
        crud_router(
            Customer,
            repository=customers,
            prefix="/capped",
            max_limit=2,
            controller="Capped",
            relations=(),
        )
    )
    app.include_router(
        crud_router(
            Customer,
            repository=customers,
            prefix="/readonly",
            read_only=True,
            relations=["orders"],
            controller="ReadOnly",
        )
    )
    app.include_router(
        crud_router(
            Customer, repository=tenant_customers, prefix="/tenant", controller="T", relations=()
        )
    )
    serve_docs(app)
    return app


APP = build_app()


def set_database(db: Any) -> None:
    APP.state.db = db
