"""CLI: ``insightloop audiences create|list|show|count|export|delete|columns`` on a copy of
the sample warehouse; a bad filter exits 2 naming the position."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from insightloop.cli.main import main

WHERE = "recency_days > 90 and country = 'united kingdom'"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _ids(wh: Path, sql: str) -> list[str]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return [r[0] for r in con.execute(sql).fetchall()]


def test_audience_lifecycle(wh: Path, tmp_path: Path, clean_env: None,
                            capsys: pytest.CaptureFixture[str]) -> None:
    expected = _ids(wh, "SELECT customer_id FROM customer_360 WHERE recency_days > 90 AND "
                        "country = 'United Kingdom' ORDER BY 1")
    w = ("--warehouse", str(wh))
    code, out, err = _run(capsys, "audiences", "count", "--where", WHERE, "--json", *w)
    assert code == 0, err
    counted = json.loads(out)
    assert counted["count"] == len(expected) and counted["sample"] == expected[:10]

    code, out, err = _run(capsys, "audiences", "create", "uk-lapsed", "--where", WHERE,
                          "--description", "UK, 90 days quiet", "--json", *w)
    assert code == 0, err
    assert json.loads(out) | {"canonical": ""} == {"name": "uk-lapsed", "version": 1,
                                                   "created": True, "canonical": "",
                                                   "count": len(expected)}
    code, out, _ = _run(capsys, "audiences", "create", "uk-lapsed", "--where",
                        WHERE.upper().replace("'UNITED KINGDOM'", "'united kingdom'"),
                        "--json", *w)
    assert code == 0 and json.loads(out)["created"] is False
    code, out, _ = _run(capsys, "audiences", "create", "uk-lapsed", "--where",
                        "recency_days > 200 and country = 'united kingdom'", *w)
    assert code == 0 and "v2 saved" in out

    code, out, _ = _run(capsys, "audiences", "list", "--json", *w)
    [row] = json.loads(out)["audiences"]
    assert row["name"] == "uk-lapsed" and row["version"] == 2 and row["count"] < len(expected)
    code, out, _ = _run(capsys, "audiences", "list", *w)
    assert code == 0 and "uk-lapsed" in out

    code, out, _ = _run(capsys, "audiences", "show", "uk-lapsed", "--version", "1",
                        "--sample", "3", "--json", *w)
    shown = json.loads(out)
    assert shown["version"] == 1 and shown["count"] == len(expected)
    assert shown["sample"] == expected[:3] and len(shown["versions"]) == 2
    code, out, _ = _run(capsys, "audiences", "show", "uk-lapsed", *w)
    assert code == 0 and "2 version(s)" in out and "customers now" in out

    target = tmp_path / "out" / "members.parquet"
    code, out, err = _run(capsys, "audiences", "export", "uk-lapsed", "--version", "1",
                          "--output", str(target), "--column", "spend", "--json", *w)
    assert code == 0, err
    assert json.loads(out)["columns"] == ["customer_id", "monetary"]
    with duckdb.connect() as con:
        back = [r[0] for r in con.execute("SELECT customer_id FROM read_parquet(?) ORDER BY 1",
                                          [str(target)]).fetchall()]
    assert back == expected

    code, out, _ = _run(capsys, "audiences", "columns", "--json", *w)
    cols = json.loads(out)
    assert cols["columns"]["recency_days"] == "DOUBLE" and cols["aliases"]["spend"] == "monetary"

    code, out, _ = _run(capsys, "audiences", "delete", "uk-lapsed", "--json", *w)
    assert code == 0 and json.loads(out) == {"name": "uk-lapsed", "versions": 2}
    code, _, err = _run(capsys, "audiences", "show", "uk-lapsed", *w)
    assert code == 1 and "no audience 'uk-lapsed'" in err


@pytest.mark.parametrize(("where", "words"), [
    ("recency_days >> 90", ["position 15", "'>'"]),
    ("recnecy_days > 90", ["position 1", "recency_days"]),
    ("country = 5", ["position 11", "'text'"]),
])
def test_bad_filter_exits_2_with_position(wh: Path, clean_env: None,
                                          capsys: pytest.CaptureFixture[str], where: str,
                                          words: list[str]) -> None:
    code, out, err = _run(capsys, "audiences", "create", "x", "--where", where,
                          "--warehouse", str(wh))
    assert code == 2 and "Traceback" not in err
    for word in words:
        assert word in err, err
    code, out, err = _run(capsys, "audiences", "count", "--where", where, "--json",
                          "--warehouse", str(wh))
    assert code == 2 and out == "" and json.loads(err)["error"]["code"] == "filter_error"
    code, out, _ = _run(capsys, "audiences", "list", "--json", "--warehouse", str(wh))
    assert json.loads(out) == {"audiences": []}


def test_bad_name_and_format(wh: Path, clean_env: None,
                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "audiences", "create", "../x", "--where", WHERE,
                        "--warehouse", str(wh))
    assert code == 2 and "not allowed" in err
    code, _, err = _run(capsys, "audiences", "export", "x", "--output", "a.txt", "--format",
                        "xlsx", "--warehouse", str(wh))
    assert code == 2 and "xlsx" in err
