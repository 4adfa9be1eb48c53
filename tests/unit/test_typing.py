"""The typed public surface: mypy --strict rejects a misspelt model setting and a
misspelt ``prop()`` option in user code (one mypy run for the whole file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USER_CODE = """\
from odm import Entity, model, prop


@model(strikt="filter")
class Customer(Entity):
    email: str = prop(uniqe=True)
    name: str = prop(unique=True, field_name="n", max_length=40)


@model(strict="filter", collection="people", hidden_properties=["pin"], scope={"limit": 5})
class Person(Entity):
    token: str = prop(default_fn="uuidv4", json_schema={"format": "uuid"})
    pin: str | None = prop(None, nullable=True, description=["a", "b"])
"""


def test_mypy_strict_reports_misspelt_settings_and_prop_options(tmp_path: Path) -> None:
    (tmp_path / "user_models.py").write_text(USER_CODE)
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\nplugins = pydantic.mypy\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            "mypy.ini",
            "--follow-imports=silent",
            "--cache-dir",
            str(tmp_path / "cache"),
            "user_models.py",
        ],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(errors) == 2, result.stdout
    assert errors[0].startswith("user_models.py:4: error: Unexpected keyword argument")
    assert '"strikt" for "model"' in errors[0]
    assert errors[1].startswith("user_models.py:6: error: Unexpected keyword argument")
    assert '"uniqe" for "prop"' in errors[1]
