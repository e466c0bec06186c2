"""The driver's half of a lake ingest (no Spark): with an encryption key the customers'
e-mail and name are sealed in the scratch file, so the Parquet it stages for the cluster
holds no clear address; without a key they stay as given."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from lake_ingest_data import K1, customers_file

from contexts import ctx_of
from insightloop.services.spark.ingest_scratch import load_scratch
from insightloop.settings import Settings
from insightloop.storage.crypto import decrypt_column
from insightloop.storage.lake import Lake


@pytest.mark.parametrize("key", [K1, ""])
def test_staged_parquet_is_sealed_with_a_key(tmp_path: Path, key: str) -> None:
    root = tmp_path / "lake"
    ctx = ctx_of(Settings.load(warehouse=root, env={}), encryption_keys=key)
    lake = Lake(root)
    with lake.transaction() as tx:
        stage, tmp = tx.scratch_dir("ingest-test"), tmp_path / "scratch"
        tmp.mkdir()
        load = load_scratch(ctx, lake, "customers", customers_file(tmp_path), stage, tmp,
                            on_progress=lambda _m: None)
        assert (load.result.rows_in, load.result.rows_loaded) == (6, 6)
        assert {"customer_id", "email", "name", "country"} <= set(load.provided)
        staged = b"".join(p.read_bytes() for p in stage.iterdir())
        rows = duckdb.connect().execute(
            f"SELECT email, name FROM '{stage}/customers.parquet' ORDER BY customer_id"
        ).fetchall()
    if key:
        assert b"@example.com" not in staged and b"Customer 1" not in staged
        assert all(e.startswith("enc1:k1:") for e, _ in rows[:-1]) and rows[-1] == (None, None)
        emails = decrypt_column(ctx.settings, [e for e, _ in rows])
        assert emails == [f"c{i}@example.com" for i in range(5)] + [None]
    else:
        assert b"@example.com" in staged and rows[0] == ("c0@example.com", "Customer 0")
    assert list((root / "_staging").iterdir()) == []  # the scratch folder went with the block
