"""Bulk import and export (``python -m odm import`` / ``export``) on every backend: every
line is stored or reported with its number and reasons, a batch the database refuses
part of says what was stored, and export writes ``to_json()`` lines (hidden left out)."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from odm import Entity, Repository, model, prop
from odm.__main__ import main
from odm.cli.transfer import Progress, export_entities, import_lines
from odm.embedded import EmbeddedServer


@model(
    collection="transfer_people",
    hidden_properties=["secret"],
    scope={"where": {"tenant": "a"}},
)
class Person(Entity):
    email: str = prop(unique=True)
    name: str = prop(json_schema={"minLength": 2})
    secret: str | None = None
    tenant: str = "a"
    joined: datetime | None = None


GOOD = [
    {"email": "ann@example.com", "name": "Ann", "secret": "s1", "joined": "2024-05-01T10:00:00Z"},
    {"email": "bob@example.com", "name": "Bob"},
    {"email": "cy@example.com", "name": "Cy"},
    {"email": "dee@example.com", "name": "Dee"},
]
# line number -> (text, what its rejection says)
BAD = {
    2: ("{not json", "invalid JSON"),
    3: ('["a list"]', "expected a JSON object, got an array"),
    5: ('{"email": "eve@example.com", "name": "E"}', "minLength"),
    6: ('{"email": "fay@example.com", "name": "Fay", "nope": 1}', "unknown-property"),
    8: ('{"email": "gil@example.com", "name": "Gil", "tenant": "b"}', "scope-conflict"),
    9: ('{"email": "hal@example.com", "name": "Hal", "id": "5f0c0ffee0c0ffee0c0ffee0"}', "absence"),
}


def jsonl_with_bad_lines() -> list[bytes]:
    """Good lines at 1, 4, 7 and 10, a blank line at 11, the bad ones of ``BAD``."""
    good = iter(GOOD)
    lines = []
    for number in range(1, 12):
        if number in BAD:
            text = BAD[number][0]
        elif number == 11:
            text = ""
        else:
            text = json.dumps(next(good))
        lines.append(text.encode() + b"\n")
    return lines


def plain_progress() -> tuple[Progress, io.StringIO, io.StringIO]:
    out, errors = io.StringIO(), io.StringIO()
    return Progress(out, errors, total=None, unit="line", bar=False), out, errors


async def stored_people(db: Any) -> list[dict[str, Any]]:
    return [doc async for doc in db["transfer_people"].find({}).sort("email", 1)]


async def test_import_stores_the_valid_lines_and_reports_each_bad_one(odm_db: Any) -> None:
    people = Repository(Person, odm_db)
    progress, out, errors = plain_progress()

    report = await import_lines(people, jsonl_with_bad_lines(), progress=progress, batch_size=4)

    assert (report.read, report.stored, report.stopped) == (10, 4, None)
    assert [r.line for r in report.rejected] == sorted(BAD)
    for rejection in report.rejected:
        assert BAD[rejection.line][1] in " ".join(rejection.reasons), rejection
    assert errors.getvalue().splitlines() == [str(r) for r in report.rejected]
    assert "line 5: minLength: Person.name:" in errors.getvalue()
    assert out.getvalue().splitlines() == [
        "lines 1-6: 2 stored, 4 rejected (total 2 stored, 4 rejected)",
        "lines 7-10: 2 stored, 2 rejected (total 4 stored, 6 rejected)",
    ]
    stored = await stored_people(odm_db)
    assert [doc["email"] for doc in stored] == [p["email"] for p in GOOD]
    assert all(doc["tenant"] == "a" for doc in stored)  # the scope's default
    assert stored[0]["secret"] == "s1"  # hidden properties are stored
    assert stored[0]["joined"].replace(tzinfo=UTC) == datetime(2024, 5, 1, 10, tzinfo=UTC)


async def test_a_duplicate_key_rejects_its_line_and_says_what_its_batch_stored(
    odm_db: Any,
) -> None:
    people = Repository(Person, odm_db)
    await people.migrate()  # the unique index on email
    await people.create({"email": "taken@example.com", "name": "Taken", "secret": "hush"})
    emails = ["n1", "n2", "taken", "n3", "n4"]
    lines = [json.dumps({"email": f"{e}@example.com", "name": "Name"}).encode() for e in emails]
    progress, out, errors = plain_progress()

    report = await import_lines(people, lines, progress=progress, batch_size=5)

    assert (report.read, report.stored) == (5, 4)
    [rejection] = report.rejected
    assert rejection.line == 3
    assert errors.getvalue() == (
        "line 3: not stored: duplicate email {'email': 'taken@example.com'}: unique index "
        "'email_1' refuses it; 2 line(s) of its batch (lines 1-5) stored so far, the lines "
        "after it written next\n"
    )
    assert out.getvalue() == "lines 1-5: 4 stored, 1 rejected (total 4 stored, 1 rejected)\n"
    stored = await stored_people(odm_db)
    assert sorted(doc["email"].split("@")[0] for doc in stored) == ["n1", "n2", "n3", "n4", "taken"]
    assert [doc["name"] for doc in stored if doc["email"].startswith("taken")] == ["Taken"]


async def test_a_duplicate_on_a_hidden_property_does_not_print_its_value(odm_db: Any) -> None:
    @model(collection="transfer_keys", hidden_properties=["key"])
    class Key(Entity):
        key: str = prop(unique=True)

    keys = Repository(Key, odm_db)
    await keys.migrate()
    progress, _, errors = plain_progress()

    report = await import_lines(keys, [b'{"key": "k-secret"}'] * 2, progress=progress)

    assert report.stored == 1 and [r.line for r in report.rejected] == [2]
    assert "duplicate key: unique index 'key_1' refuses it" in errors.getvalue()
    assert "k-secret" not in errors.getvalue()


async def test_without_id_imports_an_export_of_a_force_id_model(odm_db: Any) -> None:
    people = Repository(Person, odm_db)
    await people.create_all(GOOD[:2])
    exported = io.StringIO()
    await export_entities(people, exported, progress=plain_progress()[0])
    lines = exported.getvalue().encode().splitlines()
    await people.delete_all()

    refused = await import_lines(people, lines, progress=plain_progress()[0])
    again = await import_lines(people, lines, progress=plain_progress()[0], without_id=True)

    assert refused.stored == 0 and [r.line for r in refused.rejected] == [1, 2]
    assert all("absence" in r.reasons[0] for r in refused.rejected)
    assert (again.stored, again.rejected) == (2, [])
    assert [doc["email"] for doc in await stored_people(odm_db)] == [p["email"] for p in GOOD[:2]]


async def test_export_writes_to_json_lines_without_hidden_properties(odm_db: Any) -> None:
    people = Repository(Person, odm_db)
    created = await people.create_all(GOOD)
    await people.unscoped().create({"email": "out@example.com", "name": "Out", "tenant": "b"})
    out = io.StringIO()

    written = await export_entities(
        people, out, progress=plain_progress()[0], filter={"order": "email DESC", "limit": 3}
    )

    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert written == len(rows) == 3
    assert rows == [p.to_json() for p in sorted(created, key=lambda p: p.email, reverse=True)][:3]
    assert all("secret" not in row for row in rows)
    assert rows[0] == {
        "id": created[3].id,
        "email": "dee@example.com",
        "name": "Dee",
        "tenant": "a",
        "joined": None,
    }


async def test_export_with_hidden_properties_and_a_where_filter(odm_db: Any) -> None:
    people = Repository(Person, odm_db)
    ann = (await people.create_all(GOOD))[0]
    out = io.StringIO()

    written = await export_entities(
        people,
        out,
        progress=plain_progress()[0],
        filter={"where": {"email": {"like": "ann@%"}}},
        include_hidden=True,
    )

    assert written == 1
    assert json.loads(out.getvalue()) == {
        **ann.to_json(),
        "secret": "s1",
        "joined": "2024-05-01T10:00:00Z",
    }


# --- the command line: main() in process (the embedded server's clients work from any
# process), and ``python -m odm`` itself once ----------------------------------------------

TARGET = "tests.integration.test_transfer:Person"


async def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``python -m odm ARGS`` in a thread of this process (it runs its own event loop)."""
    code = await asyncio.to_thread(main, list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.backend_limit(
    mock="the command opens its own client: it cannot share the test's in-memory mock "
    "(the mock runs the same import and export through the functions above)",
    uri="runs on the embedded server",
)
async def test_the_commands_import_a_file_with_bad_lines_and_export_it(
    odm_db: Any,
    odm_backend: str,
    odm_backend_server: EmbeddedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = odm_backend_server.uri.replace("/?", f"/{odm_db.name}?", 1)
    database = ["--uri", uri, "--driver", "motor" if odm_backend == "motor" else "pymongo"]
    source = tmp_path / "people.jsonl"
    source.write_bytes(b"".join(jsonl_with_bad_lines()))
    assert (await cli(capsys, "migrate", TARGET, *database))[0] == 0  # the unique index

    code, out, err = await cli(
        capsys, "import", TARGET, str(source), *database, "--batch-size", "3"
    )

    assert code == 1, err
    assert out.splitlines() == [
        "lines 1-5: 2 stored, 3 rejected (total 2 stored, 3 rejected)",
        "lines 6-8: 1 stored, 2 rejected (total 3 stored, 5 rejected)",
        "lines 9-10: 1 stored, 1 rejected (total 4 stored, 6 rejected)",
        "imported 4 of 10 line(s) into transfer_people (Person): 6 rejected",
    ]
    rejected = err.splitlines()
    assert [int(line.split(":")[0].removeprefix("line ")) for line in rejected] == sorted(BAD)
    assert rejected[0].startswith("line 2: invalid JSON: ")
    assert [doc["email"] for doc in await stored_people(odm_db)] == [p["email"] for p in GOOD]

    target = tmp_path / "out.jsonl"
    code, out, err = await cli(
        capsys, "export", TARGET, *database, "-o", str(target), "--filter", '{"order": "email ASC"}'
    )

    assert (code, out, err) == (0, "", f"exported 4 Person entities to {target}\n")
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [row["email"] for row in rows] == [p["email"] for p in GOOD]
    assert all("secret" not in row for row in rows)

    code, out, err = await cli(capsys, "import", TARGET, str(target), *database, "--without-id")

    assert code == 1
    assert (
        out.splitlines()[-1] == "imported 0 of 4 line(s) into transfer_people (Person): 4 rejected"
    )
    assert err.splitlines()[0].startswith(
        "line 1: not stored: duplicate email {'email': 'ann@example.com'}: unique index 'email_1'"
    )
    assert len(await stored_people(odm_db)) == 4

    code, out, err = await cli(
        capsys,
        "export",
        TARGET,
        *database,
        "--include-hidden",
        "--filter",
        '{"where": {"name": "Ann"}}',
    )

    assert code == 0, err
    assert json.loads(out)["secret"] == "s1"
