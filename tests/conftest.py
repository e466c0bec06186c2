"""Shared fixtures: paths to the real datasets and small warehouses."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contexts import ctx_of
from shared_data import SAMPLE
from spark_cluster import spark_cluster, spark_session_cluster  # noqa: F401  (fixtures)

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with the bundled Online Retail sample ingested and profiles built."""
    from insightloop.services.profiles import build_profiles
    from insightloop.settings import Settings
    from insightloop.storage.ingest import ingest_file
    from insightloop.storage.warehouse import Warehouse

    path = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    ingest_file(Warehouse(path), "orders", SAMPLE, preset="online-retail")
    build_profiles(ctx_of(Settings.load(warehouse=path, env={})))
    return path


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with the whole demo loop run on the bundled sample (about 7 s, once)."""
    from insightloop.services.context import Context
    from insightloop.services.demo import run_demo
    from insightloop.settings import Settings

    path = tmp_path_factory.mktemp("demo") / "warehouse.duckdb"
    run_demo(Context.from_settings(Settings.load(warehouse=path, env={})))
    return path


@pytest.fixture(scope="module")
def api(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A TestClient over a private copy of the demo warehouse, with a key per role.

    Lives here, not in ``tests/api/conftest.py``: a second conftest module sorting before this
    one clashes with the doctest collection of this file (both import as ``conftest``).
    """
    from serving_helpers import serve_copy

    yield from serve_copy(demo_warehouse, tmp_path_factory.mktemp("api") / "wh")


# -- CLI tests (tests/cli): kept here, since a second conftest.py in a folder without
# __init__.py collides with this one under --doctest-modules ("import file mismatch").
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
