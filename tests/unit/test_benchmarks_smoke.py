"""The benchmark harness's codec tasks and its target verdicts, on tiny sizes, with no
database (the end-to-end run on the embedded server is tests/integration/test_benchmarks.py).

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
    odm_row = decode["contenders"]["odm"]
    # timed with the collector on and again paused, each as wall and client CPU
    for key in ("ratio", "cpu_ratio", "paused_ratio", "paused_cpu_ratio"):
        assert odm_row[key] > 0, key
    assert odm_row["cpu_median_s"] > 0 and odm_row["paused_cpu_median_s"] > 0
    assert decode["skipped"]["odmantic"] == "odmantic is not installed (odmantic)"
    assert "beanie" in decode["skipped"]  # Beanie needs a database for init_beanie
    assert any("not run (no database)" in note for note in results["notes"])
    by_id = {target["id"]: target for target in results["targets"]}
    decode_target = by_id["decode_vs_pydantic"]
    # judged on client CPU with the collector on, against the 1.0x goal; paused shown beside
    assert decode_target["value"] == odm_row["cpu_ratio"]
    assert decode_target["paused_value"] == odm_row["paused_cpu_ratio"]
    assert decode_target["met"] is (decode_target["value"] <= 1.0)
    for target_id in ("find_cpu", "find_wall", "find_by_id_cpu", "create_all_cpu"):
        assert by_id[target_id]["met"] is None  # not measured without a database


def _results(odm_cpu_ratio: float, growth: float | None) -> dict[str, object]:
    memory = {} if growth is None else {"odm · pymongo": {"growth": growth}}
    rows = {
        "pydantic": {"ratio": 1.0, "cpu_ratio": 1.0},
        # a wall ratio far off the CPU one: a CPU target must not read it
        "odm": {"ratio": 9.0, "cpu_ratio": odm_cpu_ratio, "paused_cpu_ratio": 0.5},
    }
    by_id = {
        "odm · pymongo": {"ratio": 1.05, "cpu_ratio": 1.2},
        "raw pymongo (dicts)": {"ratio": 1.0, "cpu_ratio": 1.0},
    }
    return {
        "tasks": {"decode": {"contenders": rows}, "find_by_id": {"contenders": by_id}},
        "memory": memory,
    }


@pytest.mark.parametrize(
    ("odm_ratio", "growth", "decode_met", "memory_met"),
    [(1.0, 1.0, True, True), (1.3, 1.5, False, False), (0.99, None, True, None)],
)
def test_targets_are_met_exactly_when_the_figure_is_within_the_goal(
    odm_ratio: float, growth: float | None, decode_met: bool, memory_met: bool | None
) -> None:
    by_id = {t["id"]: t for t in bench.evaluate_targets(_results(odm_ratio, growth))}

    assert by_id["decode_vs_pydantic"]["value"] == odm_ratio
    assert by_id["decode_vs_pydantic"]["paused_value"] == 0.5
    assert by_id["decode_vs_pydantic"]["met"] is decode_met
    assert by_id["iterate_memory_flat"]["met"] is memory_met
    assert by_id["encode_vs_pydantic"]["met"] is None  # no encode figure in these results
    # find_by_id is judged on client CPU (1.2x > 1.15x) although its wall ratio is within
    assert by_id["find_by_id_cpu"]["value"] == 1.2
    assert by_id["find_by_id_cpu"]["met"] is False


def test_every_issue_goal_is_a_target() -> None:
    goals = {(t.task, t.contender, t.measure): t.limit for t in bench.TARGETS if t.kind == "ratio"}
    assert goals[("encode", "odm", "cpu")] == 1.0
    assert goals[("decode", "odm", "cpu")] == 1.0
    assert goals[("decode", "odm trusted", "cpu")] == 0.35
    assert goals[("create_all", "odm · pymongo", "cpu")] == 3.0
    assert goals[("create_all", "odm · pymongo", "wall")] == 1.10
    assert goals[("find", "odm · pymongo", "cpu")] == 2.0
    assert goals[("find", "odm trusted · pymongo", "cpu")] == 1.5
    assert goals[("find", "odm · pymongo", "wall")] == 1.10
    assert goals[("find_by_id", "odm · pymongo", "cpu")] == 1.15
    assert any(t.kind == "memory" and t.task == "iterate" for t in bench.TARGETS)


def test_the_readme_shows_the_figures_of_the_last_run() -> None:
    results = json.loads((bench.README.parent / bench.DEFAULT_OUT / "latest.json").read_text())
    assert bench.readme_block(bench.README) == bench.readme_section(results)


def test_update_readme_replaces_only_the_generated_block(tmp_path: Path) -> None:
    results = json.loads((bench.README.parent / bench.DEFAULT_OUT / "latest.json").read_text())
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# x\n\nbefore\n{bench.README_BEGIN}\nstale 1.21x\n{bench.README_END}\nafter\n"
    )

    assert bench.update_readme(results, readme)

    text = readme.read_text()
    assert "stale" not in text
    assert text.startswith("# x\n\nbefore\n") and text.endswith(f"{bench.README_END}\nafter\n")
    assert bench.readme_block(readme) == bench.readme_section(results)
    for contender in ("beanie", "odmantic", "odm · pymongo"):
        assert contender in bench.readme_section(results)
    assert not bench.update_readme(results, tmp_path / "missing.md")
