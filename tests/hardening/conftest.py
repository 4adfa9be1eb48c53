"""Prints the hardening counts at the end of every run, ``-s`` or not."""

from __future__ import annotations

import pytest

from .tally import NOTES, TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY and not NOTES:
        return
    terminalreporter.section("odm hardening counts")
    for section in sorted(set(TALLY) | set(NOTES)):
        counts = TALLY.get(section, {})
        shown = ", ".join(f"{what}: {n}" for what, n in sorted(counts.items()))
        terminalreporter.write_line(f"{section}: {shown}" if shown else section)
        for line in NOTES.get(section, []):
            terminalreporter.write_line(f"    {line}")
