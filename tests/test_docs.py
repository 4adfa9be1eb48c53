"""The documentation site (docs/, mkdocs.yml) cannot go stale: every ``python`` block of
each page runs, in order, in one namespace per page, on every backend (``db`` is the
backend's fresh database; a ``test_*`` coroutine a page defines is run too, on a fresh
database of its own), every ``bash`` block's commands are checked against the project
(``python -m odm`` commands parse with the real command line, scripts exist, ``pip
install`` names real extras) and ``toml`` blocks are settings odm's own pyproject.toml
has.
``mkdocs build --strict`` itself runs in scripts/test.sh."""

from __future__ import annotations

import ast
import inspect
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest

from odm.__main__ import _parser
from odm.embedded import EmbeddedServer
from odm.testing import backend_database, backend_label

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
_FENCE = re.compile(r"^```(?P<lang>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
SHELL_TOOLS = ("mkdocs", "pytest", "ruff", "mypy")


def code_blocks(path: Path) -> list[tuple[str, str]]:
    """(language, code) of every fenced block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(m["lang"].strip(), m["body"]) for m in _FENCE.finditer(text)]


def python_pages() -> list[Path]:
    return [page for page in PAGES if any(lang == "python" for lang, _ in code_blocks(page))]


def test_the_site_has_its_pages_and_the_nav_lists_them_all() -> None:
    nav = set(re.findall(r":\s*([\w-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M))
    assert nav == {page.name for page in PAGES}
    assert len(PAGES) >= 13
    assert sum(lang == "python" for page in PAGES for lang, _ in code_blocks(page)) >= 40


def test_every_block_is_python_bash_or_toml() -> None:
    for page in PAGES:
        for lang, body in code_blocks(page):
            assert lang in ("python", "bash", "toml"), f"{page.name}: a ```{lang} block:\n{body}"


def test_toml_blocks_are_settings_odm_itself_runs_with() -> None:
    own = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for page in PAGES:
        for lang, body in code_blocks(page):
            if lang == "toml":
                shown = tomllib.loads(body)
                options = shown["tool"]["pytest"]["ini_options"]
                assert options.items() <= own["tool"]["pytest"]["ini_options"].items(), page


def test_pages_never_cite_the_specification() -> None:
    # the changelog and SECURITY.md are included in the site as they are
    for page in [*PAGES, ROOT / "CHANGELOG.md", ROOT / "SECURITY.md"]:
        text = page.read_text(encoding="utf-8")
        assert "SPEC" not in text and "§" not in text, page.name


@pytest.mark.parametrize("page", python_pages(), ids=lambda page: page.stem)
async def test_python_blocks_of_each_page_run(
    page: Path, odm_db: Any, odm_backend: str, odm_backend_server: EmbeddedServer | None
) -> None:
    namespace: dict[str, Any] = {"db": odm_db, "__name__": f"docs_{page.stem}"}
    blocks = [body for lang, body in code_blocks(page) if lang == "python"]
    for number, block in enumerate(blocks, start=1):
        code = compile(
            block,
            f"docs/{page.name} python block {number}",
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,  # the page's code, not this module's __future__ imports
        )
        result = eval(code, namespace)  # the page's own code
        if inspect.iscoroutine(result):
            await result
    # a page that shows tests of the reader's own suite: run them with odm's fixture,
    # except where their backend_limit marker says they cannot run
    label = backend_label(odm_backend)
    for name, value in list(namespace.items()):
        if not name.startswith("test_") or not inspect.iscoroutinefunction(value):
            continue
        limits = [mark.kwargs for mark in getattr(value, "pytestmark", [])]
        embedded = label in ("pymongo", "motor")
        if any(label in limit or (embedded and "embedded" in limit) for limit in limits):
            continue
        async with backend_database(odm_backend, odm_backend_server) as fresh:
            await value(fresh)  # a fresh database per test, as the plugin gives


# --- shell blocks: each command checked against the project -------------------------------


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def check_command(line: str) -> None:
    """Fail unless ``line`` is a command this project can run as written."""
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value prefixes
        words = words[1:]
    if not words:
        return
    if words[:3] == ["python", "-m", "odm"]:
        try:
            _parser().parse_args(words[3:])
        except SystemExit as exit:
            assert exit.code == 0 and words[-1] in ("--version", "--help"), line
        return
    if words[0] == "bash":
        assert (ROOT / words[1]).is_file(), line
        return
    if words[:2] == ["pip", "install"]:
        project = _project()
        requirements = " ".join(w for w in words[2:] if not w.startswith("-"))
        for requirement in re.sub(r"\s*@\s*\S+", "", requirements).split():  # drop "@ url"
            name, _, extras = requirement.partition("[")
            # this checkout, a path to a checkout, or the distribution's name
            assert name in (".", project["name"]) or "/" in name, line
            for extra in filter(None, extras.rstrip("]").split(",")):
                assert extra in project["optional-dependencies"], line
        return
    assert words[0] in SHELL_TOOLS, f"unchecked command: {line}"


@pytest.mark.parametrize(
    "path", [*PAGES, ROOT / "README.md"], ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_shell_commands_are_ones_the_project_runs(path: Path) -> None:
    for lang, body in code_blocks(path):
        if lang == "bash":
            for line in body.splitlines():
                check_command(line)


def test_the_command_check_refuses_what_would_not_run() -> None:
    for wrong in (
        "python -m odm migrate",  # no target
        "python -m odm exprot shop:Customer",
        "bash scripts/no_such_script.sh",
        "pip install 'odm[no-such-extra]'",
        "curl https://example.com | sh",
    ):
        with pytest.raises(AssertionError):
            check_command(wrong)
