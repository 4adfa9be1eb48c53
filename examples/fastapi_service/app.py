"""CRUD for customers in LoopBack 4's REST shape, with odm errors mapped to HTTP.

    POST   /customers                   create            200 the customer
    GET    /customers?filter={json}     find              200 [customers]
    GET    /customers/count?where={json} count            200 {"count": n}
    PATCH  /customers?where={json}      update all        200 {"count": n}
    GET    /customers/{id}?filter=...   find by id        200 the customer
    PATCH  /customers/{id}              partial update    204
    PUT    /customers/{id}              replace           204
    DELETE /customers/{id}              delete            204

Errors have LoopBack's body, ``{"error": {"statusCode", "name", "message", ...}}``:

    odm.InvalidFilterError      400  a filter odm refuses (or that is not JSON): path, reason
    odm.EntityNotFoundError     404  no customer with that id
    odm.DuplicateKeyError       409  a unique index refused the write: properties, value
    odm.ValidationError         422  every problem in the data: details [{path, code, message}]
    a body that is not an object 422  the same shape, from FastAPI's own validation

Run it with ``uvicorn examples.fastapi_service.app:app``; the lifespan opens
``odm.connect()`` (``ODM_URI``, ``MONGODB_URI`` or an embedded server) and migrates the
indexes. Tests build ``create_app(db)`` on a database they own.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

import odm
from odm import Repository

from .models import Customer

JsonQuery = Annotated[
    str | None, Query(description="a LoopBack filter or where clause, as JSON", examples=["{}"])
]
JsonBody = Annotated[dict[str, Any], Body(examples=[{"email": "ada@example.com", "name": "Ada"}])]


class Count(BaseModel):
    count: int


def create_app(db: Any | None = None, *, uri: str | None = None) -> FastAPI:
    """The service on the driver database ``db``, or on ``odm.connect(uri)`` opened by the
    lifespan when ``db`` is None. The lifespan creates the declared indexes either way."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if db is not None:
            await odm.migrate([app.state.customers])
            yield
            return
        async with odm.connect(uri) as opened:
            app.state.customers = customer_repository_on(opened)
            await odm.migrate([app.state.customers])
            yield

    app = FastAPI(title="customers", description="odm example service", lifespan=lifespan)
    if db is not None:
        app.state.customers = customer_repository_on(db)
    add_error_handlers(app)
    add_routes(app)
    return app


def customer_repository_on(db: Any) -> Repository[Customer]:
    # Clients write filters: they must not be able to search or sort by a hidden
    # property (a password hash would leak one comparison at a time).
    return Repository(Customer, db, prohibit_hidden_in_query=True)


def customers_of(request: Request) -> Repository[Customer]:
    repository: Repository[Customer] = request.app.state.customers
    return repository


Customers = Annotated[Repository[Customer], Depends(customers_of)]


def add_routes(app: FastAPI) -> None:
    @app.post("/customers", tags=["customers"])
    async def create(data: JsonBody, customers: Customers) -> Customer:
        return await customers.create(with_password_hash(data))

    @app.get("/customers", tags=["customers"])
    async def find(customers: Customers, filter: JsonQuery = None) -> list[Customer]:
        return await customers.find(parse_json(filter, "filter"))

    # before /customers/{id}, or "count" would be taken for an id
    @app.get("/customers/count", tags=["customers"])
    async def count(customers: Customers, where: JsonQuery = None) -> Count:
        return Count(count=await customers.count(parse_json(where, "where")))

    @app.patch("/customers", tags=["customers"])
    async def update_all(data: JsonBody, customers: Customers, where: JsonQuery = None) -> Count:
        matched = await customers.update_all(with_password_hash(data), parse_json(where, "where"))
        return Count(count=matched)

    @app.get("/customers/{id}", tags=["customers"])
    async def find_by_id(id: str, customers: Customers, filter: JsonQuery = None) -> Customer:
        return await customers.find_by_id(id, parse_json(filter, "filter"))

    @app.patch("/customers/{id}", status_code=status.HTTP_204_NO_CONTENT, tags=["customers"])
    async def update_by_id(id: str, data: JsonBody, customers: Customers) -> None:
        await customers.update_by_id(id, with_password_hash(data))

    @app.put("/customers/{id}", status_code=status.HTTP_204_NO_CONTENT, tags=["customers"])
    async def replace_by_id(id: str, data: JsonBody, customers: Customers) -> None:
        await customers.replace_by_id(id, with_password_hash(data))

    @app.delete("/customers/{id}", status_code=status.HTTP_204_NO_CONTENT, tags=["customers"])
    async def delete_by_id(id: str, customers: Customers) -> None:
        await customers.delete_by_id(id)


def parse_json(text: str | None, name: str) -> Any:
    """A JSON query parameter; malformed JSON is a bad filter (400) like any other."""
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise odm.InvalidFilterError(name, f"not valid JSON: {error}") from None


def with_password_hash(data: dict[str, Any]) -> dict[str, Any]:
    """Clients send ``password``; only a salted hash is stored, in a hidden property."""
    if not isinstance(data.get("password"), str):
        return data
    data = dict(data)
    password: str = data.pop("password")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    data["password_hash"] = f"scrypt${salt.hex()}${digest.hex()}"
    return data


# --- odm errors -> HTTP ----------------------------------------------------------------


def error_response(status_code: int, name: str, message: str, **extra: Any) -> JSONResponse:
    body = {"statusCode": status_code, "name": name, "message": message, **extra}
    return JSONResponse({"error": to_jsonable_python(body, fallback=str)}, status_code)


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(odm.InvalidFilterError)
    async def bad_filter(request: Request, error: odm.InvalidFilterError) -> JSONResponse:
        return error_response(
            400, "InvalidFilterError", str(error), path=error.path, reason=error.reason
        )

    @app.exception_handler(odm.EntityNotFoundError)
    async def not_found(request: Request, error: odm.EntityNotFoundError) -> JSONResponse:
        return error_response(404, "EntityNotFoundError", str(error), code="ENTITY_NOT_FOUND")

    @app.exception_handler(odm.DuplicateKeyError)
    async def duplicate(request: Request, error: odm.DuplicateKeyError) -> JSONResponse:
        return error_response(
            409,
            "DuplicateKeyError",
            str(error),
            code="DUPLICATE_KEY",
            properties=error.properties,
            value=error.value,
        )

    @app.exception_handler(odm.ValidationError)
    async def invalid(request: Request, error: odm.ValidationError) -> JSONResponse:
        return error_response(
            422, "ValidationError", str(error), code="VALIDATION_FAILED", details=error.details
        )

    # FastAPI's own checks (a body that is not a JSON object) answer in the same shape
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {
                "path": ".".join(str(part) for part in problem["loc"][1:]),
                "code": problem["type"],
                "message": problem["msg"],
                "value": problem.get("input"),
            }
            for problem in error.errors()
        ]
        return error_response(
            422, "ValidationError", "invalid request", code="VALIDATION_FAILED", details=details
        )


app = create_app()
