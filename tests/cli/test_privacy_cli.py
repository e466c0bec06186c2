"""``insightloop privacy erase`` and ``insightloop audit list|export`` from the command line:
JSON results, exit codes (2 for bad input, one line, no traceback), the erasure audited
without the id."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from insightloop.cli.main import main

pytestmark = pytest.mark.usefixtures("clean_env")  # tests/conftest.py; so is `wh`


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_erase_then_audit(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "privacy", "erase", "17850.0", "-w", str(wh), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["verification"]["clean"] and result["warehouse"]["deleted"]["profiles"] == 1
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM orders WHERE customer_id = '17850'"
                           ).fetchone() == (0,)
    code, out, _ = _run(capsys, "privacy", "erase", "17850", "-w", str(wh))
    assert code == 0 and "already erased" in out and "nothing left" in out
    code, out, _ = _run(capsys, "audit", "list", "-w", str(wh), "--json", "--actor", "cli")
    entries = json.loads(out)["entries"]
    assert [e["action"] for e in entries] == ["privacy.erase", "privacy.erase"]
    assert "17850" not in out
    code, out, _ = _run(capsys, "audit", "export", "-w", str(wh), "--since", "2000-01-01")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 2 and lines[1]["detail"]["already_erased"] is True


def test_bad_input_is_exit_2_with_one_line(wh: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _run(capsys, "privacy", "erase", "  ", "-w", str(wh))
    assert code == 2 and "customer id to erase is empty" in err
    monkeypatch.setenv("INSIGHTLOOP_READ_ONLY", "1")
    code, _, err = _run(capsys, "privacy", "erase", "17850", "-w", str(wh))
    assert code == 1 and "is read-only here" in err
    monkeypatch.delenv("INSIGHTLOOP_READ_ONLY")
    code, _, err = _run(capsys, "audit", "list", "-w", str(wh), "--since", "last week")
    assert code == 2 and "'last week' is not a date" in err


def test_retention_counts_then_deletes_old_events(wh: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with duckdb.connect(str(wh)) as con:
        con.execute("INSERT INTO events (event_id, customer_id, event_type, event_time) "
                    "SELECT 'e' || i, '17850', 'view', TIMESTAMP '2011-01-01' + "
                    "INTERVAL (i) DAY FROM range(300) t(i)")
    args = ("privacy", "retain", "--months", "6", "--as-of", "2011-12-09", "-w", str(wh),
            "--json")
    code, out, _ = _run(capsys, *args)
    dry = json.loads(out)
    # 2011-01-01 + i days < 2011-06-09 for i in 0..158
    assert code == 0 and dry["cutoff"] == "2011-06-09" and dry["rows"] == {"events": 159}
    code, out, _ = _run(capsys, *args, "--apply")
    assert code == 0 and json.loads(out)["rows"] == {"events": 159}
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT count(*), min(event_time) FROM events").fetchone() == (
            141, datetime(2011, 6, 9))
    code, _, err = _run(capsys, "privacy", "retain", "--months", "6", "--table", "orders",
                        "-w", str(wh))
    assert code == 2 and "no retention policy for orders" in err
