"""Shared fixtures: paths to the real datasets and small warehouses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "src" / "insightloop" / "data" / "online_retail_sample.csv.gz"


def shared_file(relative: str) -> Path:
    """Path of a file in ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real dataset {relative} not found under {SHARED_DATA}")
    return path


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with the bundled Online Retail sample ingested and profiles built."""
    from insightloop.services.profiles import build_profiles
    from insightloop.settings import Settings
    from insightloop.storage.ingest import ingest_file
    from insightloop.storage.warehouse import Warehouse

    path = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    ingest_file(Warehouse(path), "orders", SAMPLE, preset="online-retail")
    build_profiles(Settings.load(warehouse=path, env={}))
    return path
