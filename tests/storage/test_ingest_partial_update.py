"""A file with fewer columns updates what it carries and keeps the rest."""

from __future__ import annotations

from pathlib import Path

from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse


def test_partial_file_updates_only_its_columns(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    full = tmp_path / "customers.csv"
    full.write_text("customer_id,email,country\nc1,a@x.org,France\nc2,b@x.org,Spain\n")
    first = ingest_file(wh, "customers", full)
    assert (first.rows_loaded, first.rows_duplicate) == (2, 0)

    emails = tmp_path / "emails.csv"
    emails.write_text("customer_id,email\nc1,new@x.org\nc2,b@x.org\nc3,c@x.org\n")
    second = ingest_file(wh, "customers", emails)
    # c1 changed, c2 identical on the columns the file carries, c3 new.
    assert (second.rows_loaded, second.rows_updated, second.rows_duplicate) == (2, 1, 1)
    rows = wh.query("SELECT customer_id, email, country FROM customers ORDER BY 1")
    assert rows.values.tolist() == [["c1", "new@x.org", "France"],
                                    ["c2", "b@x.org", "Spain"],
                                    ["c3", "c@x.org", None]]
    # Idempotent: the same partial file again changes nothing.
    third = ingest_file(wh, "customers", emails)
    assert (third.rows_loaded, third.rows_duplicate) == (0, 3)
