"""The cyclic garbage collector, paused while odm builds a batch of objects that all stay
alive (the instances of a ``find``, the validated items of a ``create_all``).

Every container allocated counts towards the collector's next run, and each run walks
the young objects, which here are all still referenced: the runs during such a batch
free nothing and cost up to a third of its time. Pausing for the batch, which runs no
``await``, leaves that work out; the collector resumes (when it was running) before the
batch's call returns, and counts the batch's objects from then on as usual. A pause is
process-wide for its duration: a thread that enables or disables the collector meanwhile
may find its choice undone when the batch ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """``with collector_paused():`` build a batch without the collector's runs."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
