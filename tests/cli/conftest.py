"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run in ``tmp_path`` with none of the INSIGHTLOOP_* variables that change a command."""
    monkeypatch.chdir(tmp_path)
    for var in ("INSIGHTLOOP_WAREHOUSE", "INSIGHTLOOP_CONFIG", "INSIGHTLOOP_REPORTS",
                "INSIGHTLOOP_MODELS", "INSIGHTLOOP_READ_ONLY", "INSIGHTLOOP_DEBUG"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def wh(sample_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the sample warehouse (orders + profiles)."""
    path = tmp_path / "wh" / "warehouse.duckdb"
    path.parent.mkdir()
    shutil.copyfile(sample_warehouse, path)
    return path
