"""CLI: ``audiences from-text`` (preview, validation, confirmation before saving),
``evaluate assistant`` and ``assistant copy|approve`` on a copy of the sample warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from insightloop.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one command."""
    return (main(list(args)), *capsys.readouterr())


def _ids(wh: Path, where: str) -> list[str]:
    """The customers of customer_360 matching a SQL condition, sorted (the known answer)."""
    with duckdb.connect(str(wh), read_only=True) as con:
        rows = con.sql(f"SELECT customer_id FROM customer_360 WHERE {where}").fetchall()
    return sorted(str(r[0]) for r in rows)


def test_from_text_previews_validates_and_saves_only_when_confirmed(
        wh: Path, clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    w = ("--warehouse", str(wh))
    expected = _ids(wh, "country = 'United Kingdom' AND recency_days > 90")
    code, out, err = _run(capsys, "audiences", "from-text",
                          "UK customers who haven't bought in 3 months", "--json", *w)
    assert code == 0, err
    got = json.loads(out)
    assert got["where"] == "country = 'United Kingdom' and recency_days > 90"
    assert got["customer_ids"] == expected and got["count"] == len(expected) > 0
    assert got["provider"] == "rule" and got["saved"] is None and got["explanation"]

    spent = _ids(wh, "monetary > 1000")
    code, out, err = _run(capsys, "audiences", "from-text", "消费超过一千英镑的客户", "--json", *w)
    assert code == 0, err
    assert json.loads(out)["customer_ids"] == spent

    code, out, err = _run(capsys, "audiences", "from-text", "tell me a joke", *w)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "could not turn 'tell me a joke'" in err

    code, _, err = _run(capsys, "audiences", "from-text", "French customers", "--save", "fr",
                        *w)
    assert code == 2 and "needs confirmation" in err and "--yes" in err
    code, out, _ = _run(capsys, "audiences", "list", "--json", *w)
    assert json.loads(out)["audiences"] == []

    code, out, err = _run(capsys, "audiences", "from-text", "French customers", "--save", "fr",
                          "--yes", "--json", *w)
    assert code == 0, err
    assert json.loads(out)["saved"] == "fr v1"
    code, out, _ = _run(capsys, "audiences", "show", "fr", "--json", *w)
    assert json.loads(out)["canonical"] == "country = 'France'"


def test_evaluate_assistant_scores_execution_accuracy(
        wh: Path, tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    requests = tmp_path / "requests.jsonl"
    rows = [{"text": "customers in Germany", "gold": "country = 'Germany'", "split": "dev",
             "lang": "en"},
            {"text": "德国客户", "gold": "country = 'Germany'", "split": "holdout",
             "lang": "zh"},
            # a wrong gold on purpose: the request is right, so it must count as a miss
            {"text": "customers in France", "gold": "country = 'Germany'", "split": "holdout",
             "lang": "en"}]
    requests.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows),
                        encoding="utf-8")
    code, out, err = _run(capsys, "evaluate", "assistant", "--provider", "rule",
                          "--requests", str(requests), "--json", "--warehouse", str(wh))
    assert code == 0, err
    got = json.loads(out)
    assert got["audiences"]["all"] == {"requests": 3, "correct": 2, "accuracy": 0.6667,
                                       "invalid": 0}
    assert got["audiences"]["dev"]["accuracy"] == 1.0
    assert got["audiences"]["holdout"]["correct"] == 1
    assert [f["text"] for f in got["failures"]] == ["customers in France"]
    assert got["copy_briefs"] >= 30 and got["copy_fact_check_pass_rate"] == 1.0
    assert got["copy_planted_errors_caught"] == 1.0
    assert got["latency_p95_s"] >= got["latency_mean_s"] >= 0
    code, out, err = _run(capsys, "evaluate", "assistant", "--requests", str(requests),
                          "--limit", "2", "--json", "--warehouse", str(wh))
    assert code == 0, err
    got = json.loads(out)  # the first and the last request, and one brief
    assert got["audiences"]["all"]["requests"] == 2 and got["copy_briefs"] == 1
    assert [f["text"] for f in got["failures"]] == ["customers in France"]


def test_copy_is_checked_and_approved_by_a_person(
        wh: Path, tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    brief = tmp_path / "brief.json"
    brief.write_text(json.dumps({"id": "xmas", "lang": "en", "facts": {
        "products": ["Party Bunting"], "price": 4.15, "was_price": 4.95, "discount_pct": 15,
        "ends": "2026-12-24", "code": "PARTY15"}}), encoding="utf-8")
    w = ("--warehouse", str(wh))
    code, out, err = _run(capsys, "assistant", "copy", "--brief", str(brief), "--json", *w)
    assert code == 0, err
    variants = json.loads(out)["variants"]
    assert len(variants) == 4 and all(v["passed"] for v in variants)
    assert "15% off Party Bunting until 24 December" in variants[0]["subject"]
    code, _, err = _run(capsys, "assistant", "approve", "xmas-1", *w)
    assert code == 2  # --by is required
    code, out, err = _run(capsys, "assistant", "approve", "xmas-1", "--by", "ana", "--json", *w)
    assert code == 0, err
    assert json.loads(out)["approved"] is True
    code, _, err = _run(capsys, "assistant", "approve", "nope-9", "--by", "ana", *w)
    assert code == 1 and "no copy variant 'nope-9'" in err
    brief.write_text("{not json", encoding="utf-8")
    code, _, err = _run(capsys, "assistant", "copy", "--brief", str(brief), *w)
    assert code == 2 and "line 1 column 2 is not JSON" in err
