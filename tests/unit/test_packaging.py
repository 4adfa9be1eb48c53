"""What the package declares: its distribution name, one version, the extras, and the
install hints and texts a user reads."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import odm
from odm._distribution import DISTRIBUTION, install_hint

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SOURCES = sorted((ROOT / "odm").glob("*.py"))


def test_the_distribution_is_loopback_odm_and_the_hints_name_it() -> None:
    project = PYPROJECT["project"]
    assert project["name"] == DISTRIBUTION == "loopback-odm"
    assert install_hint("embedded") == "pip install 'loopback-odm[embedded]'"
    # extras that name the project itself use the distribution name
    for requirements in project["optional-dependencies"].values():
        for requirement in requirements:
            assert not requirement.startswith("odm["), requirement


def test_no_install_hint_names_the_unrelated_odm_distribution() -> None:
    wrong = re.compile(r"pip install '?odm\b|pip install -U odm\b")
    offenders = [
        f"{path.name}:{number}"
        for path in [*SOURCES, ROOT / "README.md", *sorted((ROOT / "examples").rglob("*.py"))]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if wrong.search(line)
    ]
    assert offenders == []


def test_the_version_has_one_source() -> None:
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "odm.__version__"}
    # setuptools reads the assignment without importing odm: it must be a literal
    tree = ast.parse((ROOT / "odm" / "__init__.py").read_text(encoding="utf-8"))
    [literal] = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
        and isinstance(node.value, ast.Constant)
    ]
    assert odm.__version__ == literal
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", odm.__version__)


def test_the_testing_extra_has_what_the_plugin_needs() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in extras["testing"]}
    assert names == {"pytest", "pytest-asyncio", "mongomock-motor"}
    assert any(r.startswith("platformdirs") for r in extras["embedded"])


def test_docstrings_and_readme_cite_no_specification_users_lack() -> None:
    cited = re.compile(r"\bSPEC\b|§")
    offenders = [
        f"{path.name}:{number}"
        for path in [*SOURCES, ROOT / "README.md"]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if cited.search(line)
    ]
    assert offenders == []


def test_connect_is_a_function_and_its_modules_are_modules() -> None:
    import importlib
    import inspect

    connection = importlib.import_module("odm.connection")
    embedded = importlib.import_module("odm.embedded")
    assert inspect.ismodule(connection) and inspect.ismodule(embedded)
    assert odm.connect is connection.connect and inspect.isfunction(odm.connect)
    # no attribute of the package hides one of these modules
    assert not hasattr(odm, "connection") or inspect.ismodule(odm.connection)
    assert not hasattr(odm, "embedded") or inspect.ismodule(odm.embedded)
