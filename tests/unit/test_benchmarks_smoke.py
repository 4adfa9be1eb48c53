"""The benchmark harness's codec tasks and its target verdicts, on tiny sizes, with no
database (the end-to-end run on the embedded server is tests/integration/test_benchmarks.py).

Nothing here is timed and nothing is installed: peers that are missing (Beanie,
ODMantic) are skipped by the harness with a note.
"""

from __future__ import annotations

import pytest

from benchmarks import run as bench
from benchmarks.models import PeerModels

TINY = {"size": 40, "rounds": 1, "iterate_size": 120, "warmup": 0}


def test_codec_tasks_run_without_a_database_and_skip_missing_peers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = PeerModels(missing="odmantic is not installed (odmantic)")
    monkeypatch.setattr(bench, "odmantic_models", lambda: missing)

    results = bench.run_benchmarks(**TINY, embedded=False)

    assert set(results["tasks"]) == {"encode", "decode"}
    decode = results["tasks"]["decode"]
    assert decode["contenders"]["pydantic"]["ratio"] == pytest.approx(1.0)
    assert {"odm", "odm trusted"} <= set(decode["contenders"])
    assert decode["contenders"]["odm"]["gc_on_ratio"] > 0  # also timed with the collector on
    assert decode["skipped"]["odmantic"] == "odmantic is not installed (odmantic)"
    assert "beanie" in decode["skipped"]  # Beanie needs a database for init_beanie
    assert any("not run (no database)" in note for note in results["notes"])
    by_id = {target["id"]: target for target in results["targets"]}
    decode_target = by_id["decode_vs_pydantic"]
    # judged on the measured figure: odm's decode ratio against the 1.15x goal
    assert decode_target["value"] == decode["contenders"]["odm"]["ratio"]
    assert decode_target["met"] is (decode_target["value"] <= 1.15)
    assert by_id["find_vs_raw"]["met"] is None  # not measured without a database


def _results(odm_ratio: float, growth: float | None) -> dict[str, object]:
    memory = {} if growth is None else {"odm · pymongo": {"growth": growth}}
    rows = {"pydantic": {"ratio": 1.0}, "odm": {"ratio": odm_ratio}}
    return {"tasks": {"decode": {"contenders": rows}}, "memory": memory}


@pytest.mark.parametrize(
    ("odm_ratio", "growth", "decode_met", "memory_met"),
    [(1.0, 1.0, True, True), (1.3, 1.5, False, False), (1.15, None, True, None)],
)
def test_targets_are_met_exactly_when_the_figure_is_within_the_goal(
    odm_ratio: float, growth: float | None, decode_met: bool, memory_met: bool | None
) -> None:
    by_id = {t["id"]: t for t in bench.evaluate_targets(_results(odm_ratio, growth))}

    assert by_id["decode_vs_pydantic"]["value"] == odm_ratio
    assert by_id["decode_vs_pydantic"]["met"] is decode_met
    assert by_id["iterate_memory_flat"]["met"] is memory_met
    assert by_id["encode_vs_pydantic"]["met"] is None  # no encode figure in these results
