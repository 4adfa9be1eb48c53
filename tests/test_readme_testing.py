"""The README's "Testing your code" files, written into an empty project folder exactly as
shown, pass there with a bare ``pytest``: on the default (mock) backend with the
``backend_limit`` skip reported at the test's own line, and on the embedded server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_BLOCK = re.compile(r"^```(?:python|toml)\n# (?P<name>[\w.]+)\n(?P<body>.*?)^```", re.S | re.M)


def readme_project_files() -> dict[str, str]:
    """``{file name: content}`` of the blocks in the README's "Testing your code" section
    whose first line names a file (``# conftest.py``)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Testing your code", 1)[1].split("\n## ", 1)[0]
    return {
        match["name"]: f"# {match['name']}\n{match['body']}" for match in _BLOCK.finditer(section)
    }


def run_pytest(project: Path, backend: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODM_", "PYTEST_"))}
    env.pop("MONGODB_URI", None)
    if backend is not None:
        env["ODM_TEST_BACKEND"] = backend
    # this checkout's odm first, as if installed into the project's environment
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = readme_project_files()
    assert sorted(files) == ["conftest.py", "pyproject.toml", "test_signup.py"]
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    return tmp_path


def test_the_snippet_passes_on_the_mock_and_reports_the_skip_at_the_test(project: Path) -> None:
    result = run_pytest(project, None)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"^1 passed, 1 skipped in ", result.stdout, re.M), output
    source = (project / "test_signup.py").read_text().splitlines()
    # the test's own location (pytest gives a decorated function's first line), not the plugin's
    line = 1 + next(i for i, text in enumerate(source) if text.startswith("@pytest.mark.backend"))
    assert (
        f"SKIPPED [1] test_signup.py:{line}: mock: mongomock-motor has no transactions"
        in result.stdout
    ), output
    assert "warning" not in output.lower()


def test_the_snippet_passes_on_the_embedded_server(project: Path) -> None:
    result = run_pytest(project, "embedded")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^2 passed in ", result.stdout, re.M), result.stdout
