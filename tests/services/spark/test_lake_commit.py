"""A lake commits several tables together: a crash before the journal leaves the old tables,
one after it is rolled forward by the next open to the full new state; staging a crash left
is removed, staging a live writer holds is not. No Spark: the tables are written by DuckDB
(an ingest's three tables come from a DuckDB warehouse, as the scratch file of a lake
ingest gives them)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from lake_ingest_data import FIRST, SECOND, accounting, crash_on, orders_csv

from insightloop.errors import WarehouseError
from insightloop.storage import lake_commit
from insightloop.storage.ingest import ingest_file
from insightloop.storage.lake import Lake
from insightloop.storage.warehouse import Warehouse

TABLES = ("orders", "quarantine", "ingest_log")
# With the three tables present: the journal's rename, then old-away and new-in per table.
RENAMES_WITH_OLD = 1 + 2 * len(TABLES)


def _values(root: Path) -> dict[str, list[int]]:
    """Each table's ``v`` column read straight from the files (no Lake: no recovery)."""
    con = duckdb.connect()
    out = {}
    for name in TABLES:
        folder = root / name
        out[name] = (sorted(r[0] for r in con.execute(
            f"SELECT v FROM read_parquet('{folder}/**/*.parquet')").fetchall())
            if folder.is_dir() else [])
    return out


def _write_all(lake: Lake, value: int) -> None:
    con = duckdb.connect()
    with lake.transaction() as tx:
        for i, name in enumerate(TABLES):
            tx.write_duckdb(con, f"SELECT {value} + {i} AS v", name)


def _clean(root: Path) -> None:
    assert list((root / "_staging").iterdir()) == []
    assert [p.name for p in (root / "_commits").iterdir() if p.name != ".lock"] == []


@pytest.mark.parametrize("nth", range(1, RENAMES_WITH_OLD + 1))
def test_a_crash_at_any_rename_leaves_old_or_new_never_a_mix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    root = tmp_path / "lake"
    _write_all(Lake(root), 10)
    old = {"orders": [10], "quarantine": [11], "ingest_log": [12]}
    new = {"orders": [20], "quarantine": [21], "ingest_log": [22]}
    assert _values(root) == old
    done = crash_on(monkeypatch, nth)
    with pytest.raises(OSError, match="injected crash"):
        _write_all(Lake(root), 20)
    monkeypatch.undo()
    journals = lake_commit.pending(root)
    if nth == 1:  # the journal never appeared: the commit did not happen
        assert journals == [] and done == []
    else:  # it did; the files alone may show a mix until the lake is opened again
        assert len(journals) == 1 and len(done) == nth - 1
        if nth > 3:
            assert _values(root)["orders"] == [20]
    reopened = Lake(root)
    assert _values(root) == (old if nth == 1 else new)
    assert reopened.tables() == sorted(TABLES)
    _clean(root)


def test_rename_count_matches_the_protocol(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "lake"
    _write_all(Lake(root), 1)
    done = crash_on(monkeypatch, 0)  # never crashes, counts
    _write_all(Lake(root), 2)
    assert len(done) == RENAMES_WITH_OLD and done[0].endswith(".json")
    _clean(root)


SCRIPT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import duckdb
    from insightloop.storage import lake_commit
    from insightloop.storage.lake import Lake

    root, nth = Path(sys.argv[1]), int(sys.argv[2])
    real, calls = lake_commit._rename, []
    def rename(src, dst):
        calls.append(src)
        if len(calls) == nth:
            os._exit(9)  # dies: no clean-up of any kind runs
        real(src, dst)
    lake_commit._rename = rename
    con = duckdb.connect()
    with Lake(root).transaction() as tx:
        for i, name in enumerate(("orders", "quarantine", "ingest_log")):
            tx.write_duckdb(con, f"SELECT 20 + {i} AS v", name)
""")


@pytest.mark.parametrize(("nth", "after"), [(1, False), (3, True), (RENAMES_WITH_OLD, True)])
def test_a_killed_process_is_rolled_forward_or_forgotten(tmp_path: Path, nth: int,
                                                         after: bool) -> None:
    root = tmp_path / "lake"
    _write_all(Lake(root), 10)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(root), str(nth)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert any((root / "_staging").iterdir())  # the dead writer's folders are still there
    Lake(root)
    expected = ({"orders": [20], "quarantine": [21], "ingest_log": [22]} if after else
                {"orders": [10], "quarantine": [11], "ingest_log": [12]})
    assert _values(root) == expected
    _clean(root)


def test_staging_of_a_live_writer_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    lake = Lake(root)
    with lake.transaction() as tx:
        folder = tx.staging_dir("orders")
        (folder / "part-0.parquet").write_bytes(b"being written")
        Lake(root)  # another open in this process: this process is writing, nothing removed
        code = f"from insightloop.storage.lake import Lake; Lake({str(root)!r})"
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert folder.is_dir()  # another process's open neither: the lock is held
        folder.joinpath("part-0.parquet").unlink()
        duckdb.connect().execute(f"COPY (SELECT 1 AS v) TO '{folder}/part-0.parquet' "
                                 "(FORMAT parquet)")
    assert lake.tables() == ["orders"]
    _clean(root)


def test_an_error_inside_the_block_commits_nothing(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    _write_all(Lake(root), 10)
    con = duckdb.connect()
    with pytest.raises(duckdb.Error), Lake(root).transaction() as tx:
        tx.write_duckdb(con, "SELECT 20 AS v", "orders")
        tx.write_duckdb(con, "SELECT no_such_column FROM range(2)", "quarantine")
    assert _values(root) == {"orders": [10], "quarantine": [11], "ingest_log": [12]}
    _clean(root)


def test_commit_tables_takes_staging_folders(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    con = duckdb.connect()
    folders = {}
    for i, name in enumerate(TABLES):
        folders[name] = lake.staging_dir(name)
        con.execute(f"COPY (SELECT {i} AS v) TO '{folders[name]}/p.parquet' (FORMAT parquet)")
    lake.commit_tables(folders)
    assert _values(lake.root) == {"orders": [0], "quarantine": [1], "ingest_log": [2]}
    with pytest.raises(Exception, match="not under"):
        lake.commit_tables({"orders": tmp_path})
    _clean(lake.root)


def _publish(wh: Warehouse, lake: Lake) -> None:
    with wh.connect() as con, lake.transaction() as tx:
        for name in TABLES:
            tx.write_duckdb(con, f"SELECT * FROM {name}", name)


# Renames: 1 the journal, then per table (orders, quarantine, ingest_log) old away, new in.
# 1: before the journal; 3: orders moved away, not yet back; 4: after the first table
# (orders new, quarantine and log old); 6: after two.
@pytest.mark.parametrize("crash", [1, 3, 4, 6])
def test_ingestaccounting_holds_in_the_lake_after_a_crash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash: int) -> None:
    wh, lake = Warehouse(tmp_path / "wh.duckdb"), Lake(tmp_path / "lake")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(orders_csv(FIRST), encoding="utf-8")
    second.write_text(orders_csv(SECOND), encoding="utf-8")
    kw: dict[str, object] = {"preset": "online-retail", "max_quarantine_share": None}
    a = ingest_file(wh, "orders", first, **kw)  # type: ignore[arg-type]
    _publish(wh, lake)
    before = accounting(lake.root)
    b = ingest_file(wh, "orders", second, **kw)  # type: ignore[arg-type]
    assert (b.rows_in, b.rows_loaded, b.rows_quarantined, b.rows_duplicate) == (5, 3, 1, 1)
    crash_on(monkeypatch, crash)
    with pytest.raises(OSError, match="injected crash"):
        _publish(wh, lake)
    monkeypatch.undo()
    log, orders, quarantined = accounting(lake.root)  # opening the lake recovers it
    if crash == 1:
        assert (log, orders, quarantined) == before
    else:
        assert len(log) == 2
    for rows_in, loaded, q, dup in log:
        assert rows_in == loaded + q + dup
    assert orders == sum(r[1] for r in log) == a.rows_loaded + (b.rows_loaded
                                                                 if crash > 1 else 0)
    assert quarantined == sum(r[2] for r in log)
    _clean(lake.root)


def test_an_unreadable_journal_is_reported_not_guessed(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    _write_all(Lake(root), 10)
    (root / "_commits" / "00000000000000000001-deadbeef.json").write_text("{", "utf-8")
    with pytest.raises(WarehouseError, match="cannot be read"):
        Lake(root)
    assert _values(root) == {"orders": [10], "quarantine": [11], "ingest_log": [12]}
