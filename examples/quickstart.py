"""odm in five minutes: declare a model, migrate, create, query, update, see the errors.

    bash scripts/quickstart.sh                  # fresh machine: makes .venv, runs this file
    python examples/quickstart.py               # an embedded server, started and removed here
    python examples/quickstart.py mongomock://  # in memory, no server at all
    ODM_URI=mongodb://localhost:27017/demo python examples/quickstart.py

With no argument the database comes from ``ODM_URI``, then ``MONGODB_URI``, then a
throwaway embedded SecantusDB server (``embedded://?temporary=true``: no MongoDB install
needed, nothing left behind). The script only touches its own
collection, ``quickstart_customers``, and empties it first so it can run again.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from bson import ObjectId

import odm
from odm import Entity, Model, Repository, model, prop
from odm.connection import TEMPORARY_EMBEDDED_URI, environment_uri

E = TypeVar("E", bound=Exception)

# --- the domain: what a user declares ------------------------------------------------


@model()
class Address(Model):
    """A value object embedded in a customer (no id of its own)."""

    street: str
    city: str
    zip_code: str = prop(field_name="zip")  # "zip" in MongoDB, zip_code in Python


@model(
    collection="quickstart_customers",
    hidden_properties=["password"],  # stored and readable, never in JSON output
    scope={"where": {"deleted": False}},  # soft delete: every query skips deleted ones
)
class Customer(Entity):
    id: str = prop(id=True, generated=True)  # an ObjectId made by the database
    email: str = prop(unique=True, json_schema={"format": "email"})
    name: str = prop(json_schema={"minLength": 2, "maxLength": 40})
    password: str | None = None
    created: datetime = prop(default_fn="now", field_name="createdAt")
    address: Address | None = None
    tags: list[str] = prop(default_factory=list)
    newsletter: bool = False
    deleted: bool = False


# --- output ----------------------------------------------------------------------------


class CheckFailed(AssertionError):
    """The quickstart saw something other than what odm promises."""


class Report:
    """Prints the steps and counts the checks (``assert`` would vanish under ``-O``)."""

    def __init__(self) -> None:
        self.passed = 0

    def step(self, title: str) -> None:
        print(f"\n== {title}")

    def show(self, label: str, value: Any = "") -> None:
        print(f"   {label}{' ' if value != '' else ''}{value}")

    def check(self, condition: bool, claim: str) -> None:
        if not condition:
            raise CheckFailed(f"quickstart check failed: {claim}")
        self.passed += 1
        print(f"   [ok] {claim}")


async def refused(error_type: type[E], write: Awaitable[Any]) -> E:
    """The error ``write`` raises; :class:`CheckFailed` when it succeeds instead."""
    try:
        await write
    except error_type as error:
        return error
    raise CheckFailed(f"quickstart check failed: expected {error_type.__name__}")


def paths(document: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted key paths of a document, ``_id`` first: what is stored under which name."""
    keys = sorted(document, key=lambda key: key not in ("_id", "id"))
    found: list[str] = []
    for key in keys:
        value = document[key]
        if isinstance(value, Mapping):
            found.extend(paths(value, f"{prefix}{key}."))
        else:
            found.append(f"{prefix}{key}")
    return found


def as_json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def describe(uri: str) -> str:
    scheme = uri.split(":", 1)[0]
    if uri == TEMPORARY_EMBEDDED_URI:
        return "an embedded SecantusDB server (started now, removed at the end)"
    if scheme == "embedded":
        return "an embedded SecantusDB server (data kept in its directory)"
    if scheme == "mongomock":
        return "mongomock, an in-memory mock of MongoDB"
    return uri.split("@")[-1]  # no credentials in the output


# --- the tour --------------------------------------------------------------------------


async def main(uri: str | None = None) -> int:
    """Run the tour on ``uri`` (default: ``odm.connect()``'s choice); return the checks
    passed. Raises :class:`CheckFailed` if odm does not behave as shown."""
    # ODM_URI, MONGODB_URI, else a throwaway embedded server (embedded://?temporary=true)
    target = uri if uri is not None else environment_uri() or TEMPORARY_EMBEDDED_URI
    report = Report()
    print(f"odm quickstart on {describe(target)}")
    async with odm.connect(target) as db:
        customers = Repository(Customer, db)
        await customers.unscoped().delete_all()  # a previous run on a persistent database

        report.step("1. migrate: create the declared indexes")
        [migration] = await odm.migrate([customers])
        for line in str(migration).splitlines():
            report.show(line)
        report.check("email_1" in migration.created + migration.existing, "unique index on email")

        report.step("2. create: generated ids, defaults, renamed fields")
        ada, grace, alan = await customers.create_all(
            [
                {
                    "email": "ada@example.com",
                    "name": "Ada Lovelace",
                    "password": "analytical-engine",
                    "address": {"street": "12 St James's Sq", "city": "London", "zip_code": "SW1"},
                    "tags": ["math"],
                },
                {
                    "email": "grace@example.com",
                    "name": "Grace Hopper",
                    "address": {"street": "1 Navy Way", "city": "Arlington", "zip_code": "22201"},
                    "tags": ["cobol", "navy"],
                },
                {
                    "email": "alan@example.com",
                    "name": "Alan Turing",
                    "address": {"street": "78 High St", "city": "London", "zip_code": "NW1"},
                    "tags": ["math", "crypto"],
                },
            ]
        )
        for customer in (ada, grace, alan):
            report.show(
                f"{customer.name:<13} id={customer.id}  created={customer.created:%H:%M:%S}"
            )
        report.check(all(ObjectId.is_valid(c.id) for c in (ada, grace, alan)), "ids are ObjectIds")

        stored = await customers.collection.find_one({"_id": ObjectId(ada.id)})
        report.show("field names in MongoDB:", ", ".join(paths(stored)))
        report.check(
            {"_id", "createdAt", "address.zip"} <= set(paths(stored)),
            "renamed properties are stored under their field names (_id, createdAt, address.zip)",
        )

        report.step("3. hidden properties: in Python and MongoDB, never in JSON output")
        report.show("keys of ada.to_json():", ", ".join(paths(ada.to_json())))
        report.check(ada.password == "analytical-engine", "ada.password is readable in Python")
        report.check("password" in stored, "the password is stored")
        report.check("password" not in ada.to_json(), "password is left out of to_json()")
        report.check("password" not in ada.model_dump_json(), "and out of model_dump_json()")

        report.step("4. query with a LoopBack filter (a JSON-ready dict)")
        loopback_filter = {
            "where": {"address.city": "London", "tags": "math", "name": {"like": "A%"}},
            "order": "name DESC",
            "limit": 10,
        }
        report.show("filter:", as_json(loopback_filter))
        londoners = await customers.find(loopback_filter)
        report.show("found:", [c.name for c in londoners])
        report.check([c.name for c in londoners] == ["Alan Turing", "Ada Lovelace"], "2 found")
        recent = await customers.count({"created": {"gte": "2000-01-01T00:00:00Z"}})
        report.check(recent == 3, "an ISO string is coerced for a datetime property (count 3)")

        report.step("5. update: partial, only the given properties are written")
        await customers.update_by_id(grace.id, {"tags": ["cobol", "navy", "compilers"]})
        matched = await customers.update_all({"newsletter": True}, where={"address.city": "London"})
        report.show("update_all matched:", matched)
        report.check(matched == 2, "update_all returns the matched count")
        grace = await customers.find_by_id(grace.id)
        report.check(grace.tags[-1] == "compilers", "update_by_id changed grace's tags")
        ada = await customers.find_by_id(ada.id)
        report.check(
            ada.newsletter and ada.password == "analytical-engine",
            "other properties are kept (ada still has her password)",
        )

        report.step("6. soft delete: the default scope hides deleted customers")
        error = await refused(
            odm.ValidationError, customers.update_by_id(grace.id, {"deleted": True})
        )
        report.show("a scoped write is refused:", error)
        report.check(error.codes == ["scope-conflict"], "no write can move data out of the scope")
        await customers.unscoped().update_by_id(grace.id, {"deleted": True})
        report.check(await customers.count() == 2, "count() sees 2 customers")
        report.check(await customers.unscoped().count() == 3, "unscoped().count() sees 3")
        missing = await refused(odm.EntityNotFoundError, customers.find_by_id(grace.id))
        report.show("find_by_id:", f"{type(missing).__name__}: {missing}")
        report.check(missing.id == grace.id, "a deleted customer is not found")

        report.step("7. strict mode: bad data is refused before anything is written")
        invalid = await refused(
            odm.ValidationError,
            customers.create({"email": "not-an-email", "name": "X", "nickname": "x"}),
        )
        report.show(f"{type(invalid).__name__}:", invalid)
        for detail in invalid.details:
            report.show(f"  {detail['path']:<9} {detail['code']:<17} {detail['message']}")
        report.check(
            set(invalid.codes) == {"format", "minLength", "unknown-property"},
            "every problem is reported at once, each with a code",
        )

        report.step("8. a unique index: duplicate keys name the property")
        duplicate = await refused(
            odm.DuplicateKeyError,
            customers.create({"email": "ada@example.com", "name": "Ada Again"}),
        )
        report.show(f"{type(duplicate).__name__}:", duplicate)
        report.check(duplicate.properties == ["email"], "DuplicateKeyError.properties == ['email']")
        report.check(await customers.unscoped().count() == 3, "nothing else was written")

    print(f"\nquickstart finished: {report.passed} checks passed")
    return report.passed


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
    except (odm.ODMError, CheckFailed) as failure:
        print(f"\nquickstart failed: {failure}", file=sys.stderr)
        sys.exit(1)
