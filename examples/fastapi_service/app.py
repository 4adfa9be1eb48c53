"""Customers of many tenants in LoopBack 4's REST shape: ``odm.rest.crud_router`` builds
the routes, the OpenAPI document and LoopBack's error bodies; this module adds what is
the service's own:

- **tenancy**: the ``X-Tenant`` header chooses the repository. ``tenants.related(name,
  "customers")`` is a Customer repository scoped to that tenant, made per request
  without any I/O: a tenant reads, counts, updates and deletes its own customers only,
  its creates get ``tenant`` set, and no write moves a customer to another tenant
  (``{"tenant": "other"}`` in a body is a 422);
- **passwords**: a client sends ``password``, which is no property of Customer; the
  router's ``prepare_data`` turns it into the hidden ``password_hash`` (a salted scrypt
  hash) before validation. The client can neither send nor read ``password_hash``;
- **auditing**: ``after save`` and ``after delete`` hooks observed once on the app's
  customer repository (every tenant's repository shares them) write an ``AuditEntry``
  in the same session as the write.

Routes (``crud_router``): ``POST /customers`` (200), ``GET /customers?filter=``,
``GET /customers/count?where=``, ``PATCH /customers?where=`` (``{"count": n}``),
``GET /customers/{id}?filter=``, ``PATCH``/``PUT``/``DELETE /customers/{id}`` (204), and
``GET/POST/PATCH/DELETE /customers/{id}/orders``; Swagger UI at ``/docs``, offline.

Run it with ``uvicorn examples.fastapi_service.app:app``; the lifespan opens
``odm.connect()`` (``ODM_URI``, ``MONGODB_URI`` or an embedded server) and migrates the
indexes. Tests build ``create_app(db)`` on a database they own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request

import odm
from odm import Repository
from odm.rest import crud_router, serve_docs

from .models import AuditEntry, Customer, Order, Tenant

logger = logging.getLogger("examples.fastapi_service")
TenantName = Annotated[str, Header(pattern=r"^[a-z0-9-]{1,40}$", description="the tenant")]


def create_app(db: Any | None = None, *, uri: str | None = None) -> FastAPI:
    """The service on the driver database ``db``, or on ``odm.connect(uri)`` opened by the
    lifespan when ``db`` is None. The lifespan creates the declared indexes either way."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if db is not None:
            await odm.migrate([app.state.customers, Repository(Order, db)])
            yield
            return
        async with odm.connect(uri) as opened:
            open_repositories(app, opened)
            await odm.migrate([app.state.customers, Repository(Order, opened)])
            yield

    app = FastAPI(title="customers", lifespan=lifespan, docs_url=None, redoc_url=None)
    if db is not None:
        open_repositories(app, db)
    app.include_router(
        crud_router(
            Customer, repository=tenant_customers, prefix="/customers", prepare_data=hash_password
        )
    )
    serve_docs(app)
    return app


def open_repositories(app: FastAPI, db: Any) -> None:
    app.state.tenants = Repository(Tenant, db)
    app.state.customers = customers = Repository(Customer, db)
    customers.observe("after save", audit)
    customers.observe("after delete", audit)


def tenant_customers(request: Request, x_tenant: TenantName) -> Repository[Customer]:
    """The request's repository: the tenant's customers, with the app's hooks."""
    customers: Repository[Customer] = request.app.state.tenants.related(x_tenant, "customers")
    customers.share_hooks(request.app.state.customers)
    return customers


def hash_password(data: dict[str, Any], operation: str) -> dict[str, Any]:
    """Clients send ``password``; only a salted hash is stored, in a hidden property."""
    if "password" not in data:
        return data
    data = dict(data)
    password = data.pop("password")
    if not isinstance(password, str) or len(password) < 8:
        # refused like any invalid data: a 422 naming the path, never the value
        raise odm.ValidationError(
            "Customer",
            [
                {
                    "path": "password",
                    "code": "minLength",
                    "message": "password must be a string of at least 8 characters",
                    "value": None,
                }
            ],
        )
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    data["password_hash"] = f"scrypt${salt.hex()}${digest.hex()}"
    return data


async def audit(ctx: odm.HookContext) -> None:
    """One ``AuditEntry`` per write, in the write's session."""
    entity_id = ctx.instance.id if ctx.instance is not None else ctx.id
    entry = {
        "tenant": getattr(ctx.repository, "source_key", None),  # the tenant's repository
        "operation": ctx.operation,
        "customer_id": None if entity_id is None else str(entity_id),
        "where": None if ctx.where is None else json.dumps(ctx.where, default=str),
    }
    logger.info("audit %s", entry)
    await Repository(AuditEntry, ctx.repository.database).create(entry, session=ctx.session)


app = create_app()
