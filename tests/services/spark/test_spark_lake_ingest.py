"""A lake ingest on the standalone cluster (2 workers): its three tables commit together (a
crash during the commit is finished by the next open; one before the journal changes
nothing), and with an encryption key the customers' e-mail and name reach the lake sealed,
a re-run counting what a DuckDB warehouse counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from lake_ingest_data import FIRST, K1, SECOND, accounting, crash_on, customers_file, orders_csv

from contexts import ctx_of
from insightloop.services.engagement import Policy, eligibility
from insightloop.services.ingest import ingest_result
from insightloop.settings import Settings
from insightloop.storage import lake_commit
from insightloop.storage.crypto import decrypt_column
from insightloop.storage.lake import Lake

pytestmark = [pytest.mark.spark, pytest.mark.slow]
KW: dict[str, Any] = {"preset": "online-retail", "max_quarantine_share": None}
THIRD = ["536371,22086,PAPER CHAIN,80,2010-12-01 09:00:00,2.55,13047.0,United Kingdom"]


def _spark_ctx(root: Path, master: str, **settings: Any) -> Any:
    return ctx_of(Settings.load(warehouse=root, env={}), engine="spark", spark_master=master,
                  **settings)


def test_ingest_commits_its_three_tables_together(spark_session_cluster: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _spark_ctx(tmp_path / "lake", spark_session_cluster.sparkContext.master)
    root = tmp_path / "lake"
    files = {}
    for name, lines in (("first", FIRST), ("second", SECOND), ("third", THIRD)):
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_text(orders_csv(lines), encoding="utf-8")
    a = ingest_result(ctx, "orders", files["first"], **KW)
    assert (a.rows_in, a.rows_loaded, a.rows_quarantined) == (4, 3, 1)
    first_state = accounting(root)
    # crash before the journal: the lake is as it was, nothing staged is left once opened
    crash_on(monkeypatch, 1)
    with pytest.raises(OSError, match="injected crash"):
        ingest_result(ctx, "orders", files["third"], **KW)
    monkeypatch.undo()
    assert accounting(root) == first_state
    # crash after the first of the three tables is in place (rename 4: journal, orders out
    # and in, then quarantine out fails): the files show orders new and the log old ...
    crash_on(monkeypatch, 4)
    with pytest.raises(OSError, match="injected crash"):
        ingest_result(ctx, "orders", files["second"], **KW)
    monkeypatch.undo()
    assert len(lake_commit.pending(root)) == 1
    con = duckdb.connect()
    (orders,) = con.execute(f"SELECT count(*) FROM '{root}/orders/*.parquet'").fetchone() or (0,)
    (logged,) = con.execute(f"SELECT count(*) FROM '{root}/ingest_log/*.parquet'"
                            ).fetchone() or (0,)
    assert (orders, logged) == (6, 1)
    # ... and the next open rolls it forward: both loads logged, every row accounted for
    log, orders, quarantined = accounting(root)
    assert lake_commit.pending(root) == [] and list((root / "_staging").iterdir()) == []
    assert log == [(4, 3, 1, 0), (5, 3, 1, 1)]
    assert orders == 6 and quarantined == 2
    # the log tells a re-run the file was loaded: it loads nothing
    again = ingest_result(ctx, "orders", files["second"], **KW)
    assert (again.rows_loaded, again.rows_quarantined, again.rows_duplicate) == (0, 1, 4)
    log, orders, quarantined = accounting(root)
    assert orders == 6 and quarantined == 2 and len(log) == 3
    assert all(r[0] == r[1] + r[2] + r[3] for r in log)


def test_ingest_seals_personal_columns_as_duckdb_does(spark_session_cluster: Any,
                                                       tmp_path: Path) -> None:
    root = tmp_path / "lake"
    lake_ctx = _spark_ctx(root, spark_session_cluster.sparkContext.master, encryption_keys=K1)
    duck_ctx = ctx_of(tmp_path / "wh.duckdb", encryption_keys=K1)
    data = customers_file(tmp_path)
    counts = ("rows_in", "rows_loaded", "rows_updated", "rows_quarantined", "rows_duplicate")
    runs = []
    for _ in range(2):  # a load, then a re-run of the same file
        on_lake = ingest_result(lake_ctx, "customers", data)
        on_duck = ingest_result(duck_ctx, "customers", data)
        runs.append([getattr(on_lake, c) for c in counts])
        assert runs[-1] == [getattr(on_duck, c) for c in counts]
    # the re-run inserts nothing: sealed values never compare equal, so the rows with an
    # e-mail or a name are updated, the one without either a duplicate
    assert runs == [[6, 6, 0, 0, 0], [6, 5, 5, 0, 1]]
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    for path in files:
        raw = path.read_bytes()
        assert b"@example.com" not in raw and b"Customer 1" not in raw, path
    with lake_ctx.read() as con:
        stored = con.execute("SELECT customer_id, email, name FROM customers "
                             "ORDER BY customer_id").fetchall()
    assert len(stored) == 6 and all(e.startswith("enc1:k1:") for _, e, _ in stored[:-1])
    assert decrypt_column(lake_ctx.settings, [e for _, e, _ in stored]) == \
        [f"c{i}@example.com" for i in range(5)] + [None]
    assert decrypt_column(lake_ctx.settings, [n for *_, n in stored])[0] == "Customer 0"
    policy = Policy(quiet_start=0, quiet_end=0, caps=(), opt_out_channels=frozenset({"email"}))
    seen = eligibility(lake_ctx, [f"c{i}" for i in (0, 1, 99)], "email", policy=policy)
    assert seen["eligible"].tolist() == [True, True, False]
    assert seen["reason"].tolist()[-1] == "no_address"
    assert Lake(root).tables() == ["customers", "ingest_log", "quarantine"]
