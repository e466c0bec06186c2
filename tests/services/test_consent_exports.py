"""Consent enforced in one place for exports and the assistant: a customer who withdrew
the use of their data for marketing is left out of an audience export, the customer CSV
export and a plain-language audience, and each says how many were left out. A later grant
brings them back; a withdrawal of e-mails only (a message channel) or for another purpose
does not remove them from a marketing export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from contexts import ctx_of
from insightloop.cli.main import main
from insightloop.services.assistant import audience_from_text, llm_settings, provider_for
from insightloop.services.customers import CustomerQuery
from insightloop.services.exports import export_chunk

pytestmark = pytest.mark.usefixtures("clean_env")  # tests/conftest.py; so is `wh`


@pytest.fixture
def consent_wh(wh: Path) -> tuple[Path, list[str]]:
    """The sample warehouse with three UK customers in ``customers``: the first withdrew
    data use for marketing, the second withdrew e-mails only, the third withdrew profiling
    and then granted it again."""
    with duckdb.connect(str(wh)) as con:
        uk = [r[0] for r in con.execute(
            "SELECT customer_id FROM customer_360 WHERE country = 'United Kingdom' "
            "ORDER BY customer_id LIMIT 3").fetchall()]
        con.executemany("INSERT INTO customers (customer_id, email) VALUES (?, ?)",
                        [[c, f"{c}@example.com"] for c in uk])
        con.executemany(
            "INSERT INTO consents (customer_id, channel, purpose, granted, consent_time) "
            "VALUES (?, ?, ?, ?, ?)",
            [[uk[0], "data", "marketing", True, "2011-01-01"],
             [uk[0], "data", "marketing", False, "2011-06-01"],
             [uk[1], "email", "marketing", False, "2011-06-01"],
             [uk[2], "data", "profiling", False, "2011-06-01"],
             [uk[2], "data", "profiling", True, "2011-07-01"],
             [uk[2], "data", "analytics", False, "2011-07-01"]])
    return wh, uk


def test_audience_export_leaves_out_the_withdrawn(consent_wh: tuple[Path, list[str]],
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    wh, uk = consent_wh
    w = ("-w", str(wh))
    assert main(["audiences", "create", "uk", "--where", "country = 'united kingdom'", *w]) == 0
    out = tmp_path / "uk.csv"
    capsys.readouterr()
    assert main(["audiences", "export", "uk", "-o", str(out), "--json", *w]) == 0
    result = json.loads(capsys.readouterr().out)
    with out.open(encoding="utf-8") as f:
        ids = [row["customer_id"] for row in csv.DictReader(f)]
    assert result["excluded_for_consent"] == 1 and result["rows"] == len(ids)
    assert uk[0] not in ids and uk[1] in ids and uk[2] in ids
    # for analytics the third customer is the one who withdrew
    assert main(["audiences", "export", "uk", "-o", str(out), "--purpose", "analytics",
                 *w]) == 0
    assert "1 left out: consent withdrawn for analytics" in capsys.readouterr().out
    with out.open(encoding="utf-8") as f:
        again = [row["customer_id"] for row in csv.DictReader(f)]
    assert uk[2] not in again and uk[0] in again and len(again) == len(ids)


def test_csv_export_and_assistant_leave_out_the_withdrawn(consent_wh: tuple[Path, list[str]]
                                                          ) -> None:
    wh, uk = consent_wh
    ctx = ctx_of(wh)
    query = CustomerQuery(country="United Kingdom")
    chunk = export_chunk(ctx, query, limit=100_000)
    everyone = export_chunk(ctx, query, limit=100_000, purpose="no-such-purpose")
    assert chunk["total"] == everyone["total"] - 1 == chunk["rows"]
    lines = chunk["text"].splitlines()
    first = chunk["columns"].index("customer_id")
    exported = {line.split(",")[first] for line in lines}
    assert uk[0] not in exported and {uk[1], uk[2]} <= exported
    settings = llm_settings("rule", env={})
    found = audience_from_text(ctx, "customers in the United Kingdom", provider_for(settings),
                               settings)
    assert found["excluded_for_consent"] == 1 and uk[0] not in found["customer_ids"]
    assert found["count"] == len(found["customer_ids"]) == everyone["total"] - 1
