"""``iterate()`` streams: memory does not grow with the number of results (measured with
tracemalloc, never timed).

The same iteration runs over 2,000 and over 20,000 stored documents: a stream's peak
stays the same, while holding the results would take ten times as much for the larger
count. The 100,000-document measurement is a benchmark (``python -m benchmarks.run
--tasks iterate``, target ``iterate_memory_flat``), not a test.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from odm import Repository

from .models import Note

SMALL = 2_000
LARGE = 20_000
BATCH = 500


async def _peak_while_iterating(notes: Repository[Note], count: int) -> tuple[int, int, int]:
    """(documents seen, sum of their views, traced peak in bytes) over the first ``count``."""
    tracemalloc.start()
    try:
        seen = views_sum = 0
        async for note in notes.iterate({"limit": count, "order": "views ASC"}, batch_size=BATCH):
            seen += 1
            views_sum += note.views
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seen, views_sum, peak


@pytest.mark.backend_limit(
    mock="mongomock-motor keeps the collection in memory and copies result sets; "
    "streaming is a property of a real server's cursor"
)
async def test_iterate_keeps_memory_flat_from_2k_to_20k_documents(
    odm_db: Any, measurement: Callable[[str], None]
) -> None:
    await odm_db["notes"].insert_many(
        [{"title": f"note {i}", "body": "x" * 40, "views": i, "tags": []} for i in range(LARGE)]
    )
    notes = Repository(Note, odm_db)

    small = await _peak_while_iterating(notes, SMALL)
    large = await _peak_while_iterating(notes, LARGE)

    assert small[:2] == (SMALL, SMALL * (SMALL - 1) // 2)
    assert large[:2] == (LARGE, LARGE * (LARGE - 1) // 2)
    small_peak, large_peak = small[2], large[2]
    measurement(
        f"iterate peak traced memory: {small_peak / 1e6:.2f} MB over {SMALL} documents, "
        f"{large_peak / 1e6:.2f} MB over {LARGE}"
    )
    # Holding 18,000 more instances would add well over 10 MB; a stream holds a few batches.
    assert large_peak - small_peak < 1_500_000
    assert large_peak < 8_000_000
