"""Counts the hardening tests report at the end of a run (examples tried, faults injected,
operations run), printed by ``tests/hardening/conftest.py`` in the terminal summary so
they show in a plain ``pytest -q`` run."""

from __future__ import annotations

from collections import Counter

#: section -> what was counted -> how many
TALLY: dict[str, Counter[str]] = {}
#: free-form lines (backend differences met, retry outcomes), printed under the counts
NOTES: dict[str, list[str]] = {}


def count(section: str, what: str, n: int = 1) -> None:
    """Add ``n`` to ``what`` in ``section``."""
    TALLY.setdefault(section, Counter())[what] += n


def note(section: str, line: str) -> None:
    """Record one line to print under ``section`` (each distinct line once)."""
    lines = NOTES.setdefault(section, [])
    if line not in lines:
        lines.append(line)
