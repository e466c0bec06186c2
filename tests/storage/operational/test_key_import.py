"""Keys that the previous release kept in the warehouse move to the operational store on
first open, once, and keep working (the previous release's warehouse fixture, with keys
made the way that release made them)."""

from __future__ import annotations

import gzip
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from contexts import ctx_of
from insightloop.services.keys import _hash, list_keys, load_keys, revoke_key, verify_key
from insightloop.settings import Settings
from insightloop.storage.operational import migrate_ops
from ops_helpers import ops_url_for

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "warehouse_prev_release.duckdb.gz"
OLD_DDL = """CREATE TABLE IF NOT EXISTS api_keys (key_id VARCHAR PRIMARY KEY,
    salt VARCHAR NOT NULL, key_hash VARCHAR NOT NULL, role VARCHAR NOT NULL, name VARCHAR,
    created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP)"""
SECRET = "S" * 43


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_previous_release_keys_are_imported_once(backend: str, tmp_path: Path) -> None:
    wh = tmp_path / "warehouse.duckdb"
    with gzip.open(FIXTURE, "rb") as src, wh.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    old = [("0123456789ab", "admin", None), ("ba9876543210", "read", datetime(2026, 5, 1))]
    with duckdb.connect(str(wh)) as con:  # as the previous release's `keys create` did
        con.execute(OLD_DDL)
        for key_id, role, revoked in old:
            salt = "ab" * 16
            con.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [key_id, salt, _hash(salt, SECRET), role, "old " + role,
                         datetime(2026, 4, 1), revoked])
    settings = replace(Settings.load(warehouse=wh, env={}),
                       ops_url=ops_url_for(backend, tmp_path))
    records = load_keys(ctx_of(settings))  # first open: imported
    assert set(records) == {"0123456789ab", "ba9876543210"}
    assert verify_key(records, f"il_0123456789ab_{SECRET}") is not None
    assert verify_key(records, f"il_ba9876543210_{SECRET}") is None  # revoked stays revoked
    revoke_key(ctx_of(settings), "0123456789ab")
    migrate_ops(settings)  # opening again (another process, `insightloop migrate`)
    listed = list_keys(ctx_of(settings))
    assert len(listed) == 2 and not any(k["active"] for k in listed)  # not re-imported
    with duckdb.connect(str(wh), read_only=True) as con:  # the warehouse was not changed
        assert con.execute("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL"
                           ).fetchone() == (1,)
