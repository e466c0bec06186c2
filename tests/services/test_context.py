"""The services' Context: one warehouse built from the settings; reads through a reader."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import duckdb
import pytest

from insightloop.errors import WarehouseError
from insightloop.services.context import Context
from insightloop.services.segments import show_segments
from insightloop.settings import Settings


def _segments(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE segments AS SELECT * FROM (VALUES (0, 'loyal', 3, 0.75, 0.9, "
                "'d', 's', 'kmeans', 2, 0.5), (1, 'new', 1, 0.25, 0.1, 'd', 's', 'kmeans', 2, "
                "0.5)) t(segment_id, name, size, share, value_share, description, strategy, "
                "method, k, selection_score)")


def test_context_warehouse_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings.load(warehouse=tmp_path / "w.duckdb",
                             env={"INSIGHTLOOP_MEMORY_LIMIT": "321MB"})
    ctx = Context.from_settings(settings)
    assert ctx.warehouse.path == tmp_path / "w.duckdb"
    assert ctx.warehouse.memory_limit == "321MB" and ctx.models.root == tmp_path / "models"
    assert ctx.engine.name == "duckdb" and not ctx.engine.is_spark


def test_reads_go_through_the_reader_and_fall_back_without_one(tmp_path: Path) -> None:
    ctx = Context.from_settings(Settings.load(warehouse=tmp_path / "none.duckdb", env={}))
    with duckdb.connect() as con:  # an open connection the warehouse file is not behind
        _segments(con)
        through = ctx.with_reader(lambda: nullcontext(con))
        summary = show_segments(through)
        assert (summary["customers"], summary["k"]) == (4, 2)
        assert [s["name"] for s in summary["segments"]] == ["loyal", "new"]
        with through.read() as used:
            assert used is con
    # No reader, or one with no connection open: the warehouse itself, which is missing.
    for plain in (ctx, ctx.with_reader(lambda: nullcontext(None))):
        with pytest.raises(WarehouseError, match="does not exist yet"):
            show_segments(plain)
    assert not (tmp_path / "none.duckdb").exists()  # a read never creates the file
