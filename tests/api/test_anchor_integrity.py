"""The server's long-lived read connection goes through the same integrity check as the CLI."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from insightloop.api.state import WarehouseGate
from insightloop.asgi import create_app
from insightloop.errors import WarehouseError
from insightloop.settings import Settings
from insightloop.storage.integrity import forget_file

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "warehouse_prev_release.duckdb.gz"


def test_server_refuses_a_truncated_warehouse_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with gzip.open(FIXTURE, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 2)
    forget_file(path)
    settings = Settings.load(warehouse=path, env={})
    with pytest.raises(WarehouseError, match="is damaged"):
        WarehouseGate(settings, read_wait_s=1.0).open()  # the anchor itself, not a later read
    with pytest.raises(WarehouseError, match="is damaged"):
        create_app(settings)
    assert path.stat().st_size == size // 2  # refused before DuckDB touched it
