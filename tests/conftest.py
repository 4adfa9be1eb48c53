"""odm's own suite: every test that uses ``odm_db`` runs once per backend.

Backends: ``mock`` (mongomock-motor), ``pymongo`` and ``motor`` (both on one embedded
SecantusDB server per session), plus ``uri`` when ``MONGODB_URI`` is set.
``ODM_TEST_BACKEND=<backend>`` runs only that one (``mock``, ``embedded``, ``motor`` or a URI).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable

import pytest

pytest_plugins = ["odm.testing"]
# imported here too (for the parameters below), so registered for rewriting first
pytest.register_assert_rewrite("odm.testing")

from odm.testing import backend_label, backend_params  # noqa: E402


def _selected_backends() -> list[object]:
    only = os.environ.get("ODM_TEST_BACKEND")
    if only:
        return [pytest.param(only, id=backend_label(only))]
    return backend_params(uri=os.environ.get("MONGODB_URI"))


@pytest.fixture(params=_selected_backends())
def odm_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


# nodeid -> backend label, filled at collection, read by the summary
_BACKEND_OF_TEST: dict[str, str] = {}
# in rising priority: a later outcome of the same test wins
_OUTCOMES = ("passed", "skipped", "xfailed", "xpassed", "failed", "error")
_COLUMNS = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
_LABEL_ORDER = ["mock", "pymongo", "motor", "uri"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "odm_backend" in callspec.params:
            _BACKEND_OF_TEST[item.nodeid] = backend_label(str(callspec.params["odm_backend"]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # one outcome per test: an error in teardown after a pass counts as an error
    outcome_of_test: dict[str, str] = {}
    for outcome in _OUTCOMES:
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if nodeid in _BACKEND_OF_TEST:
                outcome_of_test[nodeid] = outcome
    counts: dict[str, Counter[str]] = {}
    for nodeid, outcome in outcome_of_test.items():
        counts.setdefault(_BACKEND_OF_TEST[nodeid], Counter())[outcome] += 1
    shown = [
        o
        for o in _COLUMNS
        if o in ("passed", "failed", "skipped") or any(c[o] for c in counts.values())
    ]
    if counts:
        terminalreporter.section("odm tests per backend")
        terminalreporter.write_line(f"{'backend':<10}" + "".join(f"{o:>9}" for o in shown))
        for label in sorted(counts, key=_LABEL_ORDER.index):
            row = "".join(f"{counts[label][o]:>9}" for o in shown)
            terminalreporter.write_line(f"{label:<10}{row}")
    if _MEASUREMENTS:
        terminalreporter.section("odm measurements")
        for line in _MEASUREMENTS:
            terminalreporter.write_line(line)


# lines recorded by tests through the `measurement` fixture, shown after the run
_MEASUREMENTS: list[str] = []


@pytest.fixture
def measurement(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a line (a measured figure) to show in the terminal summary of any run."""

    def record(line: str) -> None:
        _MEASUREMENTS.append(f"{request.node.name}: {line}")

    return record
