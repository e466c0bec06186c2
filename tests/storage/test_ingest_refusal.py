"""A load that loads nothing, or quarantines more than the allowed share, is refused and
rolled back: the warehouse keeps exactly what it held (no rows, no quarantine, no log)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ingest_helpers import ORDERS_HEADER, digest

from contexts import ctx_of
from insightloop.capabilities.ingest import IngestParams
from insightloop.errors import IngestRefusedError
from insightloop.services.ingest import ingest
from insightloop.settings import Settings
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse

TWO_BAD = (ORDERS_HEADER + "A1,P1,2,3.5,2024-01-02,c1\n" + "A2,P1,x,3.5,2024-01-02,c1\n"
           + "A3,P1,2,3.5,soon,c1\n")


def test_over_the_share_is_refused_and_rolled_back(base_wh: Warehouse,
                                                   write: Callable[..., Path]) -> None:
    before = digest(base_wh)
    path = write("bad.csv", TWO_BAD)
    with pytest.raises(IngestRefusedError) as err:
        ingest_file(base_wh, "orders", path, max_quarantine_share=0.5)
    msg = str(err.value)
    assert str(path) in msg and "quarantined 2 of 3 rows (67%" in msg
    assert "--max-quarantine-share 0.5" in msg and "rolled back" in msg
    assert "not a valid int" in msg and "not a valid timestamp" in msg  # the top reasons
    assert "\n" not in msg
    assert digest(base_wh) == before
    # allowed: the valid row loads, the others are quarantined
    res = ingest_file(base_wh, "orders", path, max_quarantine_share=0.7)
    assert (res.rows_loaded, res.rows_quarantined) == (1, 2)


def test_nothing_valid_is_refused_whatever_the_share(base_wh: Warehouse,
                                                     write: Callable[..., Path]) -> None:
    before = digest(base_wh)
    path = write("none.csv", ORDERS_HEADER + "A2,P1,x,3.5,2024-01-02,c1\n")
    with pytest.raises(IngestRefusedError, match="no row of it is valid"):
        ingest_file(base_wh, "orders", path, max_quarantine_share=1.0)
    assert digest(base_wh) == before
    # without a limit (the library's default) the row is quarantined as before
    assert ingest_file(base_wh, "orders", path).rows_quarantined == 1


def test_reloads_and_empty_files_are_not_refused(base_wh: Warehouse,
                                                 write: Callable[..., Path]) -> None:
    path = write("ok.csv", ORDERS_HEADER + "A1,P1,2,3.5,2024-01-02,c1\n")
    assert ingest_file(base_wh, "orders", path, max_quarantine_share=0.0).rows_loaded == 1
    again = ingest_file(base_wh, "orders", path, max_quarantine_share=0.0)
    assert (again.rows_loaded, again.rows_duplicate) == (0, 1)  # idempotent, not an error
    header_only = ingest_file(base_wh, "orders", write("h.csv", ORDERS_HEADER),
                              max_quarantine_share=0.0)
    assert header_only.rows_in == 0


def test_the_ingest_job_takes_date_format_and_the_share(tmp_path: Path,
                                                        write: Callable[..., Path]) -> None:
    ctx = ctx_of(Settings.load(warehouse=tmp_path / "job.duckdb", env={}))
    path = write("amb.csv", ORDERS_HEADER + "A1,P1,2,3.5,02/01/2024 10:00,c1\n")
    params = IngestParams.model_validate({"table": "orders", "path": str(path),
                                          "date_format": "day-first"})
    assert ingest(ctx, **params.model_dump())["rows_loaded"] == 1
    assert ctx.warehouse.query("SELECT order_time::VARCHAR AS t FROM orders")["t"].tolist() == [
        "2024-01-02 10:00:00"]
    with pytest.raises(IngestRefusedError):  # the job's default share: 0.5
        ingest(ctx, "orders", write("bad.csv", TWO_BAD))
