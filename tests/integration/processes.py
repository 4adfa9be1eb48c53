"""Helpers for the tests that watch real processes (embedded servers, their owners)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def pid_is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        return state != "Z"
    return True
