"""Declared indexes created by migrate on every backend; drift reported and fixed; the CLI."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import odm
from odm import DuplicateKeyError, Entity, Model, ODMError, Repository, model, prop
from odm.drivers import open_client
from odm.embedded import EmbeddedServer

NO_TEXT = "SecantusDB has no text indexes (CannotCreateIndex)"
NO_HASHED = "SecantusDB has no hashed indexes (CannotCreateIndex)"


@model()
class Address(Model):
    city: str
    zip_code: str = prop(field_name="zip")


@model(
    collection="customers",
    indexes={
        "city_zip": {"keys": {"address.city": 1, "address.zip_code": -1}},
        "place": {"keys": {"location": "2dsphere"}},
    },
)
class Customer(Entity):
    email: str = prop(unique=True, field_name="mail")
    name: str = prop(index=True)
    nick: str | None = prop(None, index={"sparse": True, "name": "nick_sparse"})
    seen: datetime | None = prop(None, index={"expire_after_seconds": 3600})
    code: str | None = prop(
        None, index={"unique": True, "partial_filter": {"code": {"$type": "string"}}}
    )
    location: dict[str, Any] | None = None
    address: Address | None = None


EXPECTED: dict[str, dict[str, Any]] = {
    "mail_1": {"key": [("mail", 1)], "unique": True},
    "name_1": {"key": [("name", 1)]},
    "nick_sparse": {"key": [("nick", 1)], "sparse": True},
    "seen_1": {"key": [("seen", 1)], "expireAfterSeconds": 3600},
    "code_1": {
        "key": [("code", 1)],
        "unique": True,
        "partialFilterExpression": {"code": {"$type": "string"}},
    },
    "city_zip": {"key": [("address.city", 1), ("address.zip", -1)]},
    "place": {"key": [("location", "2dsphere")]},
}


def plain(value: Any) -> Any:
    return {k: plain(v) for k, v in value.items()} if isinstance(value, Mapping) else value


async def indexes_of(repo: Repository[Any]) -> dict[str, dict[str, Any]]:
    """index_information() without the _id index and the fields the server adds."""
    found = await repo.database.collection(repo.meta.collection).index_information()
    return {
        name: {
            key: plain(value)  # SON as dict
            for key, value in spec.items()
            if key not in ("v", "ns", "2dsphereIndexVersion")
        }
        for name, spec in found.items()
        if name != "_id_"
    }


async def test_each_declaration_form_yields_its_index(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    report = await repo.migrate()
    assert sorted(report.created) == sorted(EXPECTED)
    assert report.existing == report.extra == report.conflicting == report.dropped == []
    assert report.collection == "customers" and report.model == "Customer"
    assert await indexes_of(repo) == EXPECTED


async def test_migrate_twice_creates_nothing_the_second_time(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await repo.migrate()
    again = await repo.migrate()
    assert again.created == again.dropped == again.extra == again.conflicting == []
    assert sorted(again.existing) == sorted(EXPECTED)
    assert not again.changed


async def test_migrate_logs_what_it_did_on_the_odm_logger(
    odm_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    repo = Repository(Customer, odm_db)
    with caplog.at_level(logging.INFO, logger="odm"):
        await repo.migrate()
        await repo.migrate()
    lines = [r.getMessage() for r in caplog.records if r.name == "odm.indexes"]
    created = [line for line in lines if "created index" in line]
    assert sorted(line.split("created index ")[1].split(" ")[0] for line in created) == sorted(
        EXPECTED
    )
    summary = f"0 created, {len(EXPECTED)} existing, 0 extra, 0 conflicting"
    assert lines[-1] == f"migrate customers (Customer): {summary}"


@pytest.mark.backend_limit(embedded=NO_HASHED)
async def test_hashed_index(odm_db: Any) -> None:
    @model(collection="buckets", indexes={"bucket": {"keys": {"token": "hashed"}}})
    class Bucket(Entity):
        token: str = prop("", field_name="t")

    repo = Repository(Bucket, odm_db)
    assert (await repo.migrate()).created == ["bucket"]
    assert (await indexes_of(repo))["bucket"]["key"] == [("t", "hashed")]
    assert (await repo.migrate()).existing == ["bucket"]


@pytest.mark.backend_limit(embedded=NO_TEXT)
async def test_text_index(odm_db: Any) -> None:
    @model(collection="articles", indexes={"search": {"keys": {"title": "text", "body": "text"}}})
    class Article(Entity):
        title: str = ""
        body: str = prop("", field_name="b")

    repo = Repository(Article, odm_db)
    assert (await repo.migrate()).created == ["search"]
    again = await repo.migrate()
    assert again.existing == ["search"] and again.conflicting == again.extra == []


@pytest.mark.backend_limit(
    mock="mongomock-motor accepts text indexes; only the embedded server refuses them",
    uri="a MongoDB server creates text indexes; only the embedded server refuses them",
)
async def test_text_index_is_refused_by_the_embedded_server_with_a_clear_error(
    odm_db: Any,
) -> None:

    @model(collection="articles", indexes={"search": {"keys": {"title": "text"}}})
    class Article(Entity):
        title: str = ""

    with pytest.raises(ODMError, match="cannot create index 'search' on collection 'articles'"):
        await Repository(Article, odm_db).migrate()


async def test_ttl_index_has_its_expiry(odm_db: Any) -> None:
    # the server sweeps expired documents every 60 s: only the option is checked
    repo = Repository(Customer, odm_db)
    await repo.migrate()
    assert (await indexes_of(repo))["seen_1"]["expireAfterSeconds"] == 3600


async def test_partial_unique_index_only_applies_to_matching_documents(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await repo.migrate()
    # no code (null) twice: outside the partial filter, so allowed
    await repo.create({"email": "a@x.io", "name": "A"})
    await repo.create({"email": "b@x.io", "name": "B"})
    await repo.create({"email": "c@x.io", "name": "C", "code": "X1"})
    with pytest.raises(DuplicateKeyError) as caught:
        await repo.create({"email": "d@x.io", "name": "D", "code": "X1"})
    assert caught.value.properties == ["code"]
    assert caught.value.index == "code_1"
    assert await repo.count() == 3


async def test_compound_index_on_renamed_nested_field(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await repo.migrate()
    assert (await indexes_of(repo))["city_zip"]["key"] == [("address.city", 1), ("address.zip", -1)]


async def test_extra_index_reported_then_dropped_on_request(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await repo.migrate()
    await repo.collection.create_index([("legacy", 1)], name="legacy_1")
    report = await repo.migrate()
    assert report.extra == ["legacy_1"]
    assert report.dropped == []
    assert report.notes["legacy_1"] == "legacy: 1"
    assert "legacy_1" in await indexes_of(repo)

    dropped = await repo.migrate(drop_extra=True)
    assert dropped.extra == dropped.dropped == ["legacy_1"]
    assert "legacy_1" not in await indexes_of(repo)
    final = await repo.migrate()
    assert final.extra == final.dropped == final.created == []


async def test_conflicting_index_same_name_reported_then_replaced(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await repo.collection.create_index([("mail", 1)], name="mail_1")  # not unique
    report = await repo.migrate()
    assert report.conflicting == ["mail_1"]
    assert report.notes["mail_1"] == "unique True declared, absent in the database"
    assert "mail_1" not in report.created
    assert (await indexes_of(repo))["mail_1"] == {"key": [("mail", 1)]}

    replaced = await repo.migrate(replace_conflicting=True)
    assert replaced.conflicting == replaced.dropped == replaced.created == ["mail_1"]
    assert (await indexes_of(repo))["mail_1"] == {"key": [("mail", 1)], "unique": True}
    assert (await repo.migrate()).conflicting == []


async def test_conflicting_index_same_keys_other_name_replaced(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await repo.collection.create_index([("name", 1)], name="by_name", sparse=True)
    report = await repo.migrate()
    assert report.conflicting == ["name_1"]
    assert report.notes["name_1"].startswith("'by_name': sparse absent declared, True")
    assert report.extra == []

    replaced = await repo.migrate(replace_conflicting=True)
    assert replaced.dropped == ["by_name"]
    assert "name_1" in replaced.created
    found = await indexes_of(repo)
    assert "by_name" not in found and found["name_1"] == {"key": [("name", 1)]}


async def test_same_index_under_another_name_counts_as_existing(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await repo.collection.create_index([("mail", 1)], name="legacy_mail", unique=True)
    report = await repo.migrate()
    assert "mail_1" in report.existing
    assert report.notes["mail_1"] == "exists as 'legacy_mail'"
    assert report.extra == [] and "mail_1" not in report.created


async def test_unique_index_over_duplicate_data_fails_with_a_clear_error(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await repo.collection.insert_many([{"mail": "same"}, {"mail": "same"}])
    with pytest.raises(ODMError, match=r"cannot create index 'mail_1' on collection 'customers'"):
        await repo.migrate()


async def test_automigrate_drops_data_and_recreates_indexes(odm_db: Any) -> None:
    repo = Repository(Customer, odm_db)
    await repo.create({"email": "a@x.io", "name": "A"})
    await repo.collection.create_index([("legacy", 1)], name="legacy_1")
    report = await repo.automigrate()
    assert sorted(report.created) == sorted(EXPECTED)
    assert report.extra == []
    assert await repo.count() == 0
    assert await indexes_of(repo) == EXPECTED


async def test_migrate_with_no_declared_index_creates_the_collection(odm_db: Any) -> None:
    class Plain(Entity):
        x: int = 0

    report = await Repository(Plain, odm_db).migrate()
    assert report.created == report.existing == report.extra == []
    assert "Plain" in await odm_db.list_collection_names()


async def test_migrate_several_repositories(odm_db: Any) -> None:
    @model(collection="orders")
    class Order(Entity):
        number: int = prop(unique=True)

    @model(collection="orders")
    class Invoice(Entity):
        total: int = prop(0, index=True)

    seen: list[str] = []
    reports = await odm.migrate(
        [Repository(Customer, odm_db), Repository(Order, odm_db), Repository(Invoice, odm_db)],
        on_report=lambda report: seen.append(report.collection),
    )
    assert [report.collection for report in reports] == seen == ["customers", "orders"]
    # two models on one collection: the union of their indexes, none extra to the other
    assert reports[1].model == "Order, Invoice"
    assert reports[1].created == ["number_1", "total_1"]
    again = await odm.migrate([Repository(Order, odm_db)])
    assert again[0].extra == ["total_1"]  # migrated alone, Invoice's index is not declared


async def test_inherited_indexes_are_created(odm_db: Any) -> None:
    @model(indexes={"by_kind": {"keys": {"kind": 1}}})
    class Base(Entity):
        kind: str = ""
        ref: str = prop("", unique=True)

    @model(collection="specials")
    class Special(Base):
        level: int = prop(0, index=True)

    repo = Repository(Special, odm_db)
    assert sorted((await repo.migrate()).created) == ["by_kind", "level_1", "ref_1"]


# --- the command line -------------------------------------------------------------------

MODELS_MODULE = """
from odm import Entity, Model, model, prop


class Address(Model):
    city: str
    zip_code: str = prop(field_name="zip")


@model(
    collection="customers",
    indexes={"city_zip": {"keys": {"address.city": 1, "address.zip_code": -1}}},
)
class Customer(Entity):
    email: str = prop(unique=True, field_name="mail")
    address: Address | None = None


@model(collection="orders")
class Order(Entity):
    number: int = prop(index=True)
"""


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    env.pop("ODM_URI", None)
    env.pop("MONGODB_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "odm", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


@pytest.fixture
def models_module(tmp_path: Path) -> Path:
    (tmp_path / "cli_shop_models.py").write_text(textwrap.dedent(MODELS_MODULE))
    return tmp_path


async def test_cli_migrates_a_module_on_the_embedded_server(
    models_module: Path, odm_embedded_server: EmbeddedServer
) -> None:
    uri = odm_embedded_server.uri.replace("/?", "/cli_test?")
    client = open_client(odm_embedded_server.uri)
    try:
        await client["cli_test"]["orders"].create_index([("legacy", 1)], name="legacy_1")

        result = run_cli(models_module, "migrate", "cli_shop_models", "--uri", uri)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "migrating 2 collection(s) on database 'cli_test'"
        assert (
            lines[1] == "[1/2] customers (Customer): 2 created, 0 existing, 0 extra, 0 conflicting"
        )
        assert lines[2] == "[2/2] orders (Order): 1 created, 0 existing, 1 extra, 0 conflicting"
        table = [line.split(maxsplit=4) for line in lines[4:]]
        assert table[0] == ["collection", "model", "index", "status", "details"]
        assert table[2:] == [
            ["customers", "Customer", "mail_1", "created", "mail: 1 (unique)"],
            ["customers", "Customer", "city_zip", "created", "address.city: 1, address.zip: -1"],
            ["orders", "Order", "number_1", "created", "number: 1"],
            ["orders", "Order", "legacy_1", "extra", "legacy: 1"],
        ]
        customers = await client["cli_test"]["customers"].index_information()
        assert customers["mail_1"]["unique"] is True
        assert customers["city_zip"]["key"] == [("address.city", 1), ("address.zip", -1)]

        again = run_cli(
            models_module, "migrate", "cli_shop_models:Order", "--uri", uri, "--drop-extra"
        )
        assert again.returncode == 0, again.stderr
        assert "[1/1] orders (Order): 0 created, 1 existing, 1 extra, 0 conflicting, 1 dropped" in (
            again.stdout
        )
        assert "legacy_1" not in await client["cli_test"]["orders"].index_information()
    finally:
        await client.drop_database("cli_test")
        await client.close()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module_here", "cannot import module 'no_such_module_here'"),
        ("cli_shop_models:Nope", "module 'cli_shop_models' has no class 'Nope'"),
        ("cli_shop_models:Address", "cli_shop_models:Address is not an odm Entity class"),
        ("odm.errors", "module 'odm.errors' defines no odm Entity classes"),
    ],
)
def test_cli_unknown_module_or_class_exits_1(
    models_module: Path, target: str, message: str
) -> None:
    result = run_cli(models_module, "migrate", target, "--uri", "mongodb://127.0.0.1:1/x")
    assert result.returncode == 1
    assert result.stderr.startswith("odm migrate: error: ")
    assert message in result.stderr
    assert result.stdout == ""


def test_cli_without_a_uri_exits_1(models_module: Path) -> None:
    result = run_cli(models_module, "migrate", "cli_shop_models")
    assert result.returncode == 1
    assert "no database: give --uri, or set ODM_URI or MONGODB_URI" in result.stderr


def test_cli_unreachable_database_exits_1(models_module: Path) -> None:
    uri = "mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
    result = run_cli(models_module, "migrate", "cli_shop_models", "--uri", uri)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "odm migrate: error: cannot reach MongoDB at 127.0.0.1:1 within 0.3 s: check that"
    )
