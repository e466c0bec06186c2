"""``insightloop ingest``: JSON contract, mapping flags, delimiter option and error exits."""

from __future__ import annotations

import importlib.resources as ir
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from insightloop.cli.main import main

SAMPLE = Path(str(ir.files("insightloop.data") / "online_retail_sample.csv.gz"))
SOURCE = ("Invoice\tSKU\tQty\tPrice\tWhen\tWho\n"
          "X1\tP1\t2\t3.5\t2024-01-02 10:00:00\tc1\n"
          "X1\tP2\t1\t-1\t2024-01-02 10:00:00\t\n")
KEYS = ["table", "rows_in", "rows_loaded", "rows_quarantined", "rows_duplicate", "notes"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_json_and_reingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wh = tmp_path / "wh.duckdb"
    code, out, _ = _run(capsys, "ingest", "orders", str(SAMPLE), "--preset", "online-retail",
                        "--warehouse", str(wh), "--json")
    assert code == 0
    first = json.loads(out)
    assert list(first) == KEYS and first["table"] == "orders"
    assert first["rows_in"] == first["rows_loaded"] + first["rows_quarantined"]
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (first["rows_loaded"],)
    code, out, _ = _run(capsys, "ingest", "orders", str(SAMPLE), "--preset", "online-retail",
                        "-w", str(wh), "--json")
    again = json.loads(out)
    assert code == 0 and again["rows_loaded"] == 0
    assert again["rows_duplicate"] == first["rows_loaded"]


def test_map_flags_mapping_file_and_tab_delimiter(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src.tsv"
    src.write_text(SOURCE, encoding="utf-8")
    yml = tmp_path / "map.yaml"
    yml.write_text("columns:\n  order_id: Invoice\n  product_id: SKU\n  quantity: Qty\n",
                   encoding="utf-8")
    code, out, _ = _run(capsys, "ingest", "orders", str(src), "--mapping", str(yml),
                        "--map", "unit_price=Price", "--map", "order_time=When",
                        "--map", "customer_id=Who", "--delimiter", "\\t",
                        "-w", str(tmp_path / "wh.duckdb"), "--json")
    assert code == 0
    assert json.loads(out) == {"table": "orders", "rows_in": 2, "rows_loaded": 1,
                               "rows_quarantined": 1, "rows_duplicate": 0, "notes": []}


def test_human_output_shows_accounting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "o.csv"
    src.write_text("order_id,product_id,quantity,unit_price,order_time\n"
                   "A1,P1,1,1,2024-01-02\nA2,P1,1,-1,2024-01-02\n", encoding="utf-8")
    code, out, _ = _run(capsys, "ingest", "orders", str(src), "-w", str(tmp_path / "w.duckdb"))
    assert code == 0
    assert "rows in = loaded + quarantined + duplicate: 2 = 1 + 1 + 0" in out
    assert "unit_price: value N is below the minimum N" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--map", "invoice=Invoice"], "unknown orders column(s) ['invoice']"),
    (["--map", "order_id"], "--map expects CANONICAL=SOURCE"),
    ([], "required orders column(s)"),
    (["--preset", "nope"], "'nope' is not one of online-retail"),
    (["--delimiter", ";;"], "--delimiter must be one character other than a quote"),
    (["--delimiter", '"'], "--delimiter must be one character other than a quote"),
    (["--timestamp-format", "%Q"], "--date-format '%Q' is not a valid strptime format"),
    (["--date-format", "dd/mm"], "--date-format 'dd/mm' is neither one of iso, day-first"),
])
def test_bad_input_exits_2_with_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    args: list[str], message: str) -> None:
    src = tmp_path / "src.tsv"
    src.write_text(SOURCE, encoding="utf-8")
    wh = tmp_path / "wh.duckdb"
    code, out, err = _run(capsys, "ingest", "orders", str(src), "-w", str(wh), "--json", *args)
    assert code == 2 and out == ""
    assert message in " ".join(err.split())


def test_entry_point_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "-m", "insightloop.cli.main", "ingest", "orders", str(empty),
         "-w", str(tmp_path / "wh.duckdb"), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "InputFileError" in proc.stderr and "file is empty" in proc.stderr


def test_truncated_gzip_is_one_line_naming_the_file(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import gzip

    data = gzip.compress(("order_id,product_id,quantity,unit_price,order_time\n"
                          + "".join(f"A{i},P1,1,1,2024-01-02\n" for i in range(5000))).encode())
    src = tmp_path / "cut.csv.gz"
    src.write_bytes(data[: len(data) // 2])
    code, out, err = _run(capsys, "ingest", "orders", str(src), "-w", str(tmp_path / "w.duckdb"),
                          "--json")
    assert code == 2 and out == ""
    line = " ".join(err.split())
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(src) in line and "gzip data is truncated or corrupt" in line
    assert "Aborted" not in err


def test_json_output_carries_encoding_notes(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "w.csv"
    src.write_bytes(b"order_id,product_id,quantity,unit_price,order_time,description\n"
                    b"A1,P1,1,1,2024-01-02,ok\n"
                    b"A2,P1,1,1,2024-01-02,bad \x81 byte\n")
    code, out, _ = _run(capsys, "ingest", "orders", str(src), "-w", str(tmp_path / "w.duckdb"),
                        "--json")
    assert code == 0
    assert json.loads(out)["notes"] == [
        "1 line(s) were not UTF-8 and were decoded as cp1252 (Windows-1252): line 3",
        "1 byte(s) invalid in cp1252 were replaced by U+FFFD: line 3"]


def test_refused_load_exits_1_and_writes_nothing(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "o.csv"
    src.write_text("order_id,product_id,quantity,unit_price,order_time\n"
                   "A1,P1,1,1,2024-01-02\nA2,P1,x,1,2024-01-02\nA3,P1,y,1,2024-01-02\n",
                   encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    code, out, err = _run(capsys, "ingest", "orders", str(src), "-w", str(wh))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "IngestRefusedError" in lines[0]
    assert "quarantined 2 of 3 rows" in lines[0] and "--max-quarantine-share" in lines[0]
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM "
                           "quarantine), (SELECT count(*) FROM ingest_log)").fetchone() == (
                               0, 0, 0)
    code, out, _ = _run(capsys, "ingest", "orders", str(src), "-w", str(wh), "--json",
                        "--max-quarantine-share", "0.9")
    assert code == 0 and json.loads(out)["rows_loaded"] == 1


def test_date_format_option_and_ambiguous_dates(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "o.csv"
    src.write_text("order_id,product_id,quantity,unit_price,order_time\n"
                   "A1,P1,1,1,02/01/2024 10:00\nA2,P1,1,1,03/01/2024 10:00\n",
                   encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    code, out, err = _run(capsys, "ingest", "orders", str(src), "-w", str(wh), "--json")
    payload = json.loads(err)
    assert code == 2 and out == "" and payload["error"]["code"] == "input_file_error"
    assert "--date-format day-first" in payload["error"]["message"]
    code, out, _ = _run(capsys, "ingest", "orders", str(src), "-w", str(wh), "--json",
                        "--date-format", "day-first")
    assert code == 0 and json.loads(out)["rows_loaded"] == 2
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT min(order_time)::VARCHAR FROM orders").fetchone() == (
            "2024-01-02 10:00:00",)
