"""``iterate()`` streams: memory does not grow with the number of results (measured with
tracemalloc, never timed)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from odm import Repository

from .models import Note

TOTAL = 100_000
BATCH = 10_000


@pytest.mark.backend_limit(
    mock="mongomock-motor keeps the collection in memory and copies result sets; "
    "streaming is a property of a real server's cursor"
)
async def test_iterate_100k_documents_keeps_memory_flat(
    odm_db: Any, measurement: Callable[[str], None]
) -> None:
    collection = odm_db["notes"]
    for start in range(0, TOTAL, BATCH):
        await collection.insert_many(
            [
                {"title": f"note {i}", "body": "x" * 40, "views": i, "tags": []}
                for i in range(start, start + BATCH)
            ]
        )
    notes = Repository(Note, odm_db)

    tracemalloc.start()
    try:
        seen = 0
        views_sum = 0
        samples: list[int] = []
        async for note in notes.iterate(batch_size=1000):
            seen += 1
            views_sum += note.views
            if seen % BATCH == 0:
                samples.append(tracemalloc.get_traced_memory()[0])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert seen == TOTAL
    assert views_sum == TOTAL * (TOTAL - 1) // 2
    growth = samples[-1] - samples[0]
    measurement(
        f"iterate over {seen} documents: traced memory after 10k {samples[0] / 1e6:.2f} MB, "
        f"after 100k {samples[-1] / 1e6:.2f} MB (growth {growth / 1e6:.2f} MB), "
        f"peak {peak / 1e6:.2f} MB"
    )
    # Holding 100k instances would take well over 50 MB; a stream stays within a few batches.
    assert growth < 2_000_000
    assert peak < 20_000_000
