"""Fixtures shared by the storage tests (helpers live in ``ingest_helpers``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ingest_helpers import BASE_ORDERS

from insightloop.storage.warehouse import Warehouse


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write text (UTF-8) or bytes to ``tmp_path / name`` and return the path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return _write


@pytest.fixture
def base_wh(tmp_path: Path, write: Callable[..., Path]) -> Warehouse:
    """A warehouse file already holding three good order lines (B1/1, B1/2, B2/1)."""
    from insightloop.storage.ingest import ingest_file

    wh = Warehouse(tmp_path / "wh.duckdb")
    res = ingest_file(wh, "orders", write("base.csv", BASE_ORDERS))
    assert res.rows_loaded == 3
    return wh
