"""The command line's pieces that need no server: the progress display, line counting,
argument errors (one line on stderr, exit code 1) and ``python -m odm --version``.
Import and export themselves run on every backend in tests/integration/test_transfer.py."""

from __future__ import annotations

import importlib.metadata
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import odm
from odm import Entity, model
from odm.__main__ import main
from odm.cli.transfer import Progress, count_lines

ROOT = Path(__file__).resolve().parents[2]
PERSON = "tests.unit.test_cli:Person"


@model(collection="cli_people")
class Person(Entity):
    email: str


def test_progress_is_a_bar_on_a_terminal() -> None:
    out, errors = io.StringIO(), io.StringIO()
    progress = Progress(out, errors, total=10, unit="line", bar=True)
    progress.advance(4, "lines 1-4: 4 stored")
    progress.message("line 5: invalid JSON")
    progress.close()

    assert progress.is_bar
    assert "4/10" in out.getvalue() and "line/s" in out.getvalue()
    assert "lines 1-4: 4 stored" in out.getvalue()  # the status, as the bar's postfix
    assert errors.getvalue() == "line 5: invalid JSON\n"


def test_count_lines_counts_a_last_line_without_newline(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(b"{}\n{}\n{}")
    (tmp_path / "b.jsonl").write_bytes(b"{}\n\n")
    (tmp_path / "c.jsonl").write_bytes(b"")
    assert [count_lines(str(tmp_path / n)) for n in ("a.jsonl", "b.jsonl", "c.jsonl")] == [3, 2, 0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", PERSON, "missing.jsonl"], "odm import: error: cannot read 'missing.jsonl': "),
        (["import", "tests.unit.test_cli", "x"], "name one entity class"),
        (["import", PERSON, "-", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["export", PERSON, "--filter", "{bad"], "odm export: error: --filter is not valid JSON"),
        (["export", PERSON, "--filter", "[]"], "--filter must be a JSON object"),
        (["export", PERSON, "--filter", '{"where": {"$where": "1"}}'], "invalid filter at"),
        (["export", PERSON, "-o", "/nonexistent/dir/out.jsonl"], "cannot write"),
    ],
)
def test_the_commands_explain_bad_arguments(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, "--uri", "mongomock://"]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1  # one line, no traceback


def test_python_m_odm_version_prints_odm_and_its_version(tmp_path: Path) -> None:
    expected = getattr(odm, "__version__", None) or importlib.metadata.version("odm")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    result = subprocess.run(
        [sys.executable, "-m", "odm", "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, f"odm {expected}\n")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_a_bar_only_on_a_terminal() -> None:
    on_terminal = Progress(Terminal(), io.StringIO(), total=None, unit="line")
    piped_out = io.StringIO()
    piped = Progress(piped_out, io.StringIO(), total=None, unit="line")
    piped.advance(3, "lines 1-3: 3 stored")

    assert on_terminal.is_bar and not piped.is_bar
    assert piped_out.getvalue() == "lines 1-3: 3 stored\n"
    on_terminal.close()
