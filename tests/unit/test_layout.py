"""The shape of the package: the driver table, no import cycles, no shadowed submodules."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import types
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient

import odm
import odm.drivers
import odm.indexes
from odm.drivers import DRIVERS, adapt, close_client, open_client, open_mock_client
from odm.errors import ODMError

ODM_ROOT = Path(odm.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ODM_ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every odm module ``path`` imports, at module level or inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        found.update(target for target in targets if target in known and target != name)
    return found


def test_no_import_cycle_among_odm_modules_function_level_imports_included() -> None:
    paths = {module_name(path): path for path in ODM_ROOT.rglob("*.py")}
    graph = {name: imported_modules(path, set(paths)) for name, path in paths.items()}
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        for target in sorted(graph[name]):
            if target in trail:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in done:
                visit(target, [*trail, target])
        done.add(name)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    assert cycles[:3] == []


@pytest.mark.parametrize("package", [odm.drivers, odm.indexes], ids=lambda p: p.__name__)
def test_no_submodule_is_shadowed_by_a_package_attribute(package: types.ModuleType) -> None:
    shadowed = []
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
        if not isinstance(getattr(package, info.name), types.ModuleType):
            shadowed.append(info.name)
    assert shadowed == []


def test_the_table_asks_the_mock_before_motor_whose_classes_it_imitates() -> None:
    kinds = [driver.kind for driver in DRIVERS]
    assert kinds == ["mongomock", "pymongo", "motor"]


def test_open_client_refuses_an_unknown_driver_naming_the_known_ones() -> None:
    with pytest.raises(ODMError, match=r"unknown driver 'tornado'.*'pymongo'.*'motor'"):
        open_client("mongodb://127.0.0.1:1", driver="tornado")


async def test_a_client_of_any_driver_is_refused_where_a_database_is_expected() -> None:
    from motor.motor_asyncio import AsyncIOMotorClient

    clients: list[Any] = [
        AsyncMongoClient("mongodb://127.0.0.1:1", connect=False),
        AsyncIOMotorClient("mongodb://127.0.0.1:1", connect=False),
        open_mock_client(),
    ]
    try:
        for client, kind in zip(clients, ["pymongo", "motor", "mongomock"], strict=True):
            with pytest.raises(ODMError) as caught:
                adapt(client)
            message = str(caught.value)
            assert f"needs a database, not a client: got {type(client).__qualname__} ({kind})" in (
                message
            )
            assert "client['name']" in message
            assert adapt(client["shop"]).kind == kind
    finally:
        for client in clients:
            await close_client(client)


def test_a_synchronous_client_is_refused_saying_use_the_async_one() -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(connect=False)
    try:
        with pytest.raises(ODMError, match=r"synchronous MongoClient.*AsyncMongoClient"):
            adapt(client)
    finally:
        client.close()


async def test_close_client_refuses_what_is_no_client() -> None:
    with pytest.raises(ODMError, match="no driver's client"):
        await close_client(object())


MAX_MODULE_LINES = 650  # about 600: a module a reader can hold in mind


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    long = {
        module_name(path): lines
        for path in ODM_ROOT.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
