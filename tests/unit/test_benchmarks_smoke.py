"""The benchmark harness runs end to end on tiny sizes, so it cannot rot.

Nothing here is timed and nothing is installed: peers that are missing (Beanie,
ODMantic) are skipped by the harness with a note.
"""

from __future__ import annotations

import json
from pathlib import Path

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
    assert by_id["decode_vs_pydantic"]["met"] in (True, False)
    assert by_id["find_vs_raw"]["met"] is None  # not measured without a database


def test_the_whole_harness_runs_on_the_embedded_server(tmp_path: Path) -> None:
    pytest.importorskip("secantus", reason="the embedded server needs odm[embedded]")

    results = bench.run_benchmarks(**TINY)

    assert list(results["tasks"]) == [task.name for task in bench.TASKS]
    for task_name, task in results["tasks"].items():
        baseline = task["contenders"][task["baseline"]]
        assert baseline["ratio"] == pytest.approx(1.0), task_name
        odm_rows = [row for name, row in task["contenders"].items() if name.split()[0] == "odm"]
        assert odm_rows and all(row["median_s"] > 0 for row in odm_rows), task_name
    assert "odmantic" in results["tasks"]["update_all"]["skipped"]  # it has no bulk update
    assert results["memory"]["odm · pymongo"]["full"]["count"] == TINY["iterate_size"]
    # every target is judged, except one against a peer that is not installed
    missing_peers = set(results["tasks"]["encode"].get("skipped", {}))
    for target in results["targets"]:
        judged = target["met"] in (True, False)
        assert judged or (target["id"] == "encode_vs_beanie" and "beanie" in missing_peers), target

    written = bench.write_reports(results, tmp_path)

    assert json.loads((tmp_path / "latest.json").read_text())["meta"]["size"] == TINY["size"]
    markdown = (tmp_path / "latest.md").read_text()
    assert "## Targets (SPEC §11)" in markdown and "odm · motor" in markdown
    assert (tmp_path / "latest.png" in written) == _has_matplotlib()


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True
