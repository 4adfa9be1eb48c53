"""The include benchmark (benchmarks/include.py) runs end to end on the session's
embedded server at a tiny size, so it cannot rot. Nothing here is timed."""

from __future__ import annotations

from benchmarks.include import BEANIE, ODM, ODM_TRUSTED, RAW, render, run_include
from odm.embedded import EmbeddedServer


def test_the_include_benchmark_runs_and_checks_every_contender(
    odm_embedded_server: EmbeddedServer,
) -> None:
    results = run_include(uri=odm_embedded_server.uri, parents=20, children=3, rounds=1)
    rows = results["contenders"]
    assert {RAW, ODM, ODM_TRUSTED} <= set(rows) and rows[RAW]["ratio"] == 1.0
    for row in rows.values():  # every contender returned all 60 children (checked per run)
        assert row["median_s"] > 0 and row["cpu_median_s"] > 0
    assert (BEANIE in rows) != (BEANIE in results["skipped"])
    assert "| odm include |" in render(results)
