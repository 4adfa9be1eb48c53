"""The quickstart, the README's first command: on the mock, on every test backend, and
as the script a new user runs (``python examples/quickstart.py``, an embedded server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from examples import quickstart
from odm.embedded import EmbeddedServer
from odm.testing import backend_label

SCRIPT = Path(quickstart.__file__)
CHECKOUT = str(SCRIPT.resolve().parents[1])
LAST_LINE = re.compile(r"^quickstart finished: (\d+) checks passed$")
STEPS = (
    "1. migrate",
    "2. create",
    "3. hidden",
    "4. query",
    "5. update",
    "6. soft delete",
    "7. strict mode",
    "8. a unique index",
)


def check_output(text: str, passed: int) -> None:
    lines = text.strip().splitlines()
    match = LAST_LINE.match(lines[-1])
    assert match is not None, lines[-1]
    assert int(match.group(1)) == passed >= 15
    assert text.count("[ok]") == passed
    for step in STEPS:
        assert f"== {step}" in text
    assert "unknown-property" in text and "DuplicateKeyError" in text
    assert "analytical-engine" not in text  # the hidden password is never printed


async def test_quickstart_on_the_mock(capsys: pytest.CaptureFixture[str]) -> None:
    passed = await quickstart.main("mongomock://")
    out = capsys.readouterr().out
    assert out.startswith("odm quickstart on mongomock")
    check_output(out, passed)


@pytest.mark.backend_limit(
    uri="main() takes a URI; a mongodb:// backend's database is in its own URI"
)
async def test_quickstart_on_each_backend(
    odm_db: Any,
    odm_backend: str,
    odm_backend_server: EmbeddedServer | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """main() connects itself: it gets the URI of the backend's server and database."""
    label = backend_label(odm_backend)
    if label == "mock":
        uri = f"mongomock:///{odm_db.name}"
    else:
        assert odm_backend_server is not None
        uri = odm_backend_server.uri.replace("/?", f"/{odm_db.name}?", 1)
    passed = await quickstart.main(uri)
    check_output(capsys.readouterr().out, passed)
    if label != "mock":  # main() wrote to the test's database, dropped after the test
        assert await odm_db["quickstart_customers"].count_documents({}) == 3


@pytest.mark.parametrize("uri", [None, "embedded://?temporary=true"], ids=["no-uri", "embedded"])
def test_the_script_runs_on_a_fresh_machine(uri: str | None, tmp_path: Path) -> None:
    """What ``bash scripts/quickstart.sh`` runs: no MongoDB, no configuration."""
    env = {k: v for k, v in os.environ.items() if k not in ("ODM_URI", "MONGODB_URI")}
    env["PYTHONPATH"] = CHECKOUT  # this checkout's odm, as an editable install gives it
    if uri is not None:
        env["ODM_URI"] = uri
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env,
        cwd=tmp_path,  # no help from the repository's working directory
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "embedded SecantusDB server" in result.stdout.splitlines()[0]
    check_output(result.stdout, int(LAST_LINE.findall(result.stdout.splitlines()[-1])[0]))
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_the_script_exits_with_1_and_a_reason_when_it_cannot_connect(tmp_path: Path) -> None:
    env = {**os.environ, "ODM_URI": "nosuchscheme://", "PYTHONPATH": CHECKOUT}
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("\nquickstart failed: cannot connect to 'nosuchscheme://'")
