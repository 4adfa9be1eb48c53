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


# in rising priority: a later outcome of the same test wins
_OUTCOMES = ("passed", "skipped", "xfailed", "xpassed", "failed", "error")
_COLUMNS = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
_LABEL_ORDER = ["mock", "pymongo", "motor", "uri"]
# what a test hands to the summary, as user properties of its reports: reports reach the
# controller when the suite runs on several pytest-xdist workers, collected items do not
_BACKEND = "odm_backend"
_MEASUREMENT = "odm_measurement"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "odm_backend" in callspec.params:
            label = backend_label(str(callspec.params["odm_backend"]))
            item.user_properties.append((_BACKEND, label))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # one outcome per test: an error in teardown after a pass counts as an error
    outcome_of_test: dict[str, tuple[str, str]] = {}
    measurements: dict[str, None] = {}  # in order, each line once (every phase carries it)
    for outcome in _OUTCOMES:
        for report in terminalreporter.stats.get(outcome, []):
            properties = getattr(report, "user_properties", ())
            for name, value in properties:
                if name == _BACKEND:
                    outcome_of_test[report.nodeid] = (value, outcome)
                elif name == _MEASUREMENT:
                    measurements[value] = None
    counts: dict[str, Counter[str]] = {}
    for label, outcome in outcome_of_test.values():
        counts.setdefault(label, Counter())[outcome] += 1
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
    if measurements:
        terminalreporter.section("odm measurements")
        for line in measurements:
            terminalreporter.write_line(line)


@pytest.fixture
def measurement(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a line (a measured figure) to show in the terminal summary of any run."""

    def record(line: str) -> None:
        request.node.user_properties.append((_MEASUREMENT, f"{request.node.name}: {line}"))

    return record
