"""Where the embedded server keeps its data when no directory is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from odm.embedded import default_data_dir


def test_odm_data_dir_names_the_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ODM_DATA_DIR", str(tmp_path / "shop"))
    assert default_data_dir() == tmp_path / "shop"


def test_without_odm_data_dir_it_is_the_per_user_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ODM_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # what platformdirs reads on Linux
    assert default_data_dir() == tmp_path / "odm"
    assert not (tmp_path / "odm").exists()  # created by the server that uses it, not here
