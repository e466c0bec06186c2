"""Warehouse lifecycle: schema versions and migrations, integrity on open, read-only use.

The old warehouse is a real one written by the previous release (see
``tests/fixtures/README.md``); damaged files are real copies of it with real damage.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from insightloop import __version__
from insightloop.errors import WarehouseError
from insightloop.storage import migrations
from insightloop.storage.integrity import HEADER_BYTES, check_file, forget_file
from insightloop.storage.migrations import SCHEMA_VERSION, Migration, schema_state
from insightloop.storage.warehouse import Warehouse

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "warehouse_prev_release.duckdb.gz"
BLOCK = 262_144


@pytest.fixture(scope="module")
def prev_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous release's warehouse, unpacked once (copy it before changing it)."""
    path = tmp_path_factory.mktemp("prev") / "pristine.duckdb"
    with gzip.open(FIXTURE, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


@pytest.fixture
def prev(prev_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(prev_file, path)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def opens(path: Path, read_only: bool = False) -> None:
    with Warehouse(path).connect(read_only=read_only):
        pass


def raw_tables(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        counts = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone() for n in names}
        return {n: int(c[0]) if c else -1 for n, c in counts.items()}
    finally:
        con.close()


# -- schema versions and migrations -------------------------------------------------

def test_previous_release_reads_without_migrating_then_migrates_once(prev: Path) -> None:
    before = raw_tables(prev)
    assert "schema_version" not in before and before["orders"] > 0
    with Warehouse(prev).connect(read_only=True) as con:
        assert schema_state(con).version == 0  # readable as it is: no migration needed to read
        assert con.execute("SELECT count(*) FROM profiles").fetchone() == (before["profiles"],)
    assert "schema_version" not in raw_tables(prev)  # a read changed nothing
    wh = Warehouse(prev)
    with wh.connect():
        pass
    assert wh.last_migration is not None
    old, new = wh.last_migration
    assert (old.version, new.version, new.release) == (0, SCHEMA_VERSION, __version__)
    after = raw_tables(prev)
    assert after.pop("schema_version") == SCHEMA_VERSION
    assert after == before  # every table and row kept
    with wh.connect():  # idempotent: a second write open records nothing new
        pass
    assert raw_tables(prev)["schema_version"] == SCHEMA_VERSION


def test_new_warehouse_is_stamped_with_the_current_version(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "new" / "w.duckdb")
    with wh.connect() as con:
        state = schema_state(con)
        rows = con.execute("SELECT version, release FROM schema_version").fetchall()
    assert (state.version, state.release) == (SCHEMA_VERSION, __version__)
    assert rows == [(v, __version__) for v in range(1, SCHEMA_VERSION + 1)]
    with Warehouse(":memory:").connect() as con:
        assert schema_state(con).version == SCHEMA_VERSION


RELEASED = migrations.MIGRATIONS


def _add_migration(monkeypatch: pytest.MonkeyPatch, step: Migration) -> None:
    monkeypatch.setattr(migrations, "MIGRATIONS", (*RELEASED, step))
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", step.version)


def test_pending_migrations_run_in_one_transaction(prev: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("migration failed half way")

    _add_migration(monkeypatch, Migration(SCHEMA_VERSION + 1, "broken", broken))
    with pytest.raises(RuntimeError, match="half way"):
        opens(prev)
    tables = raw_tables(prev)
    assert "half_done" not in tables and "schema_version" not in tables  # nothing applied

    def works(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("ALTER TABLE ingest_log ADD COLUMN IF NOT EXISTS note VARCHAR")

    _add_migration(monkeypatch, Migration(SCHEMA_VERSION + 1, "note column", works))
    for _ in range(2):
        with Warehouse(prev).connect() as con:
            assert schema_state(con).version == SCHEMA_VERSION + 1
    cols = duckdb.connect(str(prev), read_only=True).execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'ingest_log'"
    ).fetchall()
    assert ("note",) in cols


def test_old_warehouse_needing_a_migration_to_read_says_how(
        prev: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _add_migration(monkeypatch, Migration(SCHEMA_VERSION + 1, "new column", lambda con: None,
                                          needed_for_reading=True))
    with pytest.raises(WarehouseError, match=r"release 0\.1\.0 or earlier.*schema 0.*"
                                             r"`insightloop migrate -w"):
        opens(prev, read_only=True)
    with Warehouse(prev).connect():  # a write open migrates; then reading works
        pass
    with Warehouse(prev).connect(read_only=True) as con:
        assert schema_state(con).version == SCHEMA_VERSION + 1


def test_warehouse_from_a_newer_release_is_refused(prev: Path) -> None:
    with Warehouse(prev).connect() as con:
        con.execute("INSERT INTO schema_version VALUES (?, '9.9.0', now()::TIMESTAMP, 'future')",
                    [SCHEMA_VERSION + 5])
    stamp = digest(prev)
    for read_only in (True, False):
        with pytest.raises(WarehouseError, match=rf"schema {SCHEMA_VERSION + 5} \(written by "
                                                 r"release 9\.9\.0\), newer than this release"):
            opens(prev, read_only=read_only)
    assert digest(prev) == stamp


# -- integrity on open ------------------------------------------------------------------

def _overwrite(path: Path, offset: int, n: int = 512) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(bytes((i * 37 + 11) % 256 for i in range(n)))


DAMAGE = {
    "truncated to half": (lambda p: os.truncate(p, p.stat().st_size // 2), "cut short"),
    "cut by one byte": (lambda p: os.truncate(p, p.stat().st_size - 1), "cut short"),
    "random bytes in a data block": (lambda p: _overwrite(p, HEADER_BYTES + 5 * BLOCK + 999),
                                     r"block 5 of \d+ .* fails its checksum"),
    "random bytes in the file header": (lambda p: _overwrite(p, 100),
                                        "header at byte 0 fails its checksum"),
    "random bytes in a database header": (lambda p: _overwrite(p, 8192 + 40),
                                          "header at byte 8,192 fails its checksum"),
    "zero length": (lambda p: os.truncate(p, 0), r"empty \(0 bytes\)"),
    "cut at a block boundary": (lambda p: os.truncate(p, HEADER_BYTES + 10 * BLOCK),
                                "it was cut short"),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_file_is_refused_before_any_write(prev: Path, kind: str) -> None:
    damage, why = DAMAGE[kind]
    damage(prev)
    forget_file(prev)
    stamp = digest(prev)
    with pytest.raises(WarehouseError, match=rf"warehouse .* is damaged: .*{why}.*restore it "
                                             "from a backup"), Warehouse(prev).connect() as con:
        con.execute("CREATE TABLE written AS SELECT 1 AS x")
    assert digest(prev) == stamp  # nothing written, not even a migration
    assert not prev.with_name(prev.name + ".wal").exists()


def test_damage_in_a_block_found_by_a_read_is_one_clear_error(prev: Path) -> None:
    # Read-only opens check only the header and the length (cheap); a damaged block is then
    # reported by DuckDB when read, as the same clear error.
    con = duckdb.connect(str(prev), read_only=True)
    block = con.execute("SELECT block_id FROM pragma_storage_info('orders') "
                        "WHERE block_id >= 0 ORDER BY block_id LIMIT 1").fetchone()
    con.close()
    assert block is not None
    _overwrite(prev, HEADER_BYTES + int(block[0]) * BLOCK + 4096, 4096)
    forget_file(prev)
    with pytest.raises(WarehouseError, match=r"is damaged: .*checksum"):
        Warehouse(prev).query("SELECT * FROM orders")


def test_free_blocks_duckdb_cut_off_the_end_are_not_damage(tmp_path: Path) -> None:
    """After a checkpoint DuckDB truncates trailing free blocks; its header still counts them."""
    path = tmp_path / "trimmed.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE kept AS SELECT range AS x FROM range(1000)")
    con.execute("CHECKPOINT")
    con.execute("CREATE TABLE big AS SELECT range AS x, md5(range::VARCHAR) AS y "
                "FROM range(1000000)")
    con.execute("CHECKPOINT")
    con.execute("DROP TABLE big")
    con.execute("CHECKPOINT")
    con.close()
    head = path.read_bytes()[:HEADER_BYTES]
    listed = max(struct.unpack_from("<5Q", head, 4096 * i + 8) for i in (1, 2))[3]
    assert path.stat().st_size < HEADER_BYTES + listed * BLOCK  # shorter than the header says
    forget_file(path)
    with Warehouse(path).connect() as wcon:  # yet whole: opened, checked, written
        assert wcon.execute("SELECT count(*) FROM kept").fetchone() == (1000,)


def test_not_a_warehouse_and_a_folder_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "orders.csv"
    text.write_text("order_id,quantity\n1,2\n" * 50, encoding="utf-8")
    for read_only in (True, False):
        with pytest.raises(WarehouseError, match=r"is not a DuckDB database .*--warehouse"):
            opens(text, read_only=read_only)
    assert text.read_text(encoding="utf-8").startswith("order_id")
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    with pytest.raises(WarehouseError, match="is a folder, not a DuckDB file"):
        opens(folder)


def test_a_good_file_passes_every_check(prev: Path) -> None:
    forget_file(prev)
    check_file(prev, checksums=True)  # every block of a real warehouse has a valid checksum
    with Warehouse(prev).connect() as con:
        con.execute("CREATE OR REPLACE TABLE scratch AS SELECT range AS x FROM range(100000)")
    forget_file(prev)
    check_file(prev, checksums=True)  # and so has what this release wrote


def _hold(path: Path) -> subprocess.Popen[str]:
    """Another process with ``path`` open for writing (until its stdin closes)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    return holder


def test_file_changing_under_another_writer_is_not_called_damaged(prev: Path) -> None:
    os.truncate(prev, prev.stat().st_size - BLOCK)  # what a reader may see mid-checkpoint
    forget_file(prev)
    holder = _hold(prev)
    try:
        for read_only in (True, False):
            with pytest.raises(WarehouseError, match="is being written by another process"):
                opens(prev, read_only=read_only)
    finally:
        holder.communicate("", timeout=30)


def test_warehouse_locked_by_another_process(prev: Path) -> None:
    holder = _hold(prev)
    try:
        for read_only in (True, False):
            with pytest.raises(WarehouseError, match=rf"is in use by process {holder.pid}.*wait "
                                                     "for it to finish"):
                opens(prev, read_only=read_only)
    finally:
        holder.communicate("", timeout=30)


# -- read-only use -------------------------------------------------------------------

def test_read_only_flag_refuses_writes_and_allows_reads(
        prev: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLOOP_READ_ONLY", "1")
    stamp = digest(prev)
    wh = Warehouse(prev)
    assert wh.read_only
    assert wh.table("profiles").shape[0] > 0
    with pytest.raises(WarehouseError, match=r"read-only here \(INSIGHTLOOP_READ_ONLY=1"):
        wh.write_frame("x", wh.table("segments"))
    assert digest(prev) == stamp
    missing = Warehouse(prev.with_name("missing.duckdb"))
    with pytest.raises(WarehouseError, match="does not exist yet"), missing.connect():
        pass
    assert not missing.exists
    assert not Warehouse(prev, read_only=False).read_only


def test_read_only_setting_from_environment_and_config(tmp_path: Path) -> None:
    from insightloop.errors import ConfigError
    from insightloop.settings import Settings

    on = Settings.load(warehouse=tmp_path / "w.duckdb", env={"INSIGHTLOOP_READ_ONLY": "yes"})
    assert on.read_only and Warehouse.from_settings(on).read_only
    off = Settings.load(warehouse=tmp_path / "w.duckdb", env={"INSIGHTLOOP_READ_ONLY": "0"})
    assert not off.read_only and not Warehouse.from_settings(off).read_only
    config = tmp_path / "insightloop.toml"
    config.write_text("[insightloop]\nread_only = true\n", encoding="utf-8")
    assert Settings.load(config_file=config, env={}).read_only
    with pytest.raises(ConfigError, match="read_only must be true or false"):
        Settings.load(env={"INSIGHTLOOP_READ_ONLY": "maybe"})
