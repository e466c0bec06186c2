"""Helpers shared by the predictive-score service tests."""

from __future__ import annotations

from pathlib import Path

from insightloop.settings import Settings
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse
from shared_data import SAMPLE


def sample_settings(folder: Path) -> Settings:
    """Settings of a fresh warehouse in ``folder`` holding the bundled Online Retail sample."""
    path = folder / "warehouse.duckdb"
    ingest_file(Warehouse(path), "orders", SAMPLE, preset="online-retail")
    return Settings.load(warehouse=path, env={})
