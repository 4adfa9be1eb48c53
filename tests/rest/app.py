"""The app every REST test talks to: built once, its database chosen per test.

``Customer`` has a hidden ``password``; the tests store one (``SECRET``) with the
repository directly (a body cannot write it) and scan every response body for it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Header, Request

import odm
from odm import Entity, Model, Repository, model, prop
from odm.rest import crud_router, serve_docs

SECRET = "hunter2-secret-value"


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


def build_app() -> FastAPI:
    app = FastAPI(title="customers", docs_url=None, redoc_url=None)
    app.include_router(crud_router(Customer, repository=customers, prefix="/customers"))
    app.include_router(
        crud_router(
            Customer, repository=customers, prefix="/capped", max_limit=2, controller="Capped"
        )
    )
    app.include_router(
        crud_router(
            Customer,
            repository=customers,
            prefix="/readonly",
            read_only=True,
            controller="ReadOnly",
        )
    )
    app.include_router(
        crud_router(Customer, repository=tenant_customers, prefix="/tenant", controller="T")
    )
    serve_docs(app)
    return app


APP = build_app()


def set_database(db: Any) -> None:
    APP.state.db = db
