"""The one reader of user files (``storage/user_table.py``): formats, typing, errors."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import InputFileError, SchemaError
from insightloop.storage.user_table import day_first, infer_types, read_user_table

FRAME = pd.DataFrame({
    "id": ["c1", "c2", "c3", "c4"],
    "n": [1, -2, 30, 4],
    "x": [0.1, 2.5, np.nan, 1e-7],
    "flag": [True, False, True, True],
    "city": ["Lyon", "São Paulo", None, "北京"],
    "day": ["2024-01-02", "2024-02-03", "2024-03-04", "2024-04-05"],
})


def _formats(tmp_path: Path, frame: pd.DataFrame) -> dict[str, Path]:
    """The same table as a comma CSV, a semicolon CSV with a BOM, a gzip TSV, JSON lines
    and Parquet."""
    paths = {"comma": tmp_path / "t.csv", "semicolon_bom": tmp_path / "t_semi.csv",
             "gzip_tsv": tmp_path / "t.tsv.gz", "jsonl": tmp_path / "t.jsonl",
             "parquet": tmp_path / "t.parquet"}
    frame.to_csv(paths["comma"], index=False)
    frame.to_csv(paths["semicolon_bom"], index=False, sep=";", encoding="utf-8-sig")
    frame.to_csv(paths["gzip_tsv"], index=False, sep="\t", compression="gzip")
    frame.to_json(paths["jsonl"], orient="records", lines=True, force_ascii=False)
    frame.to_parquet(paths["parquet"], index=False)
    return paths


def test_every_format_gives_the_frame_pandas_reads_from_the_csv(tmp_path: Path) -> None:
    paths = _formats(tmp_path, FRAME)
    want = pd.read_csv(paths["comma"])  # pandas' own typing of the CSV is the reference
    assert [str(t) for t in want.dtypes] == ["object", "int64", "float64", "bool", "object",
                                             "object"]
    for name, path in paths.items():
        got = read_user_table(path)
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)


def test_only_the_columns_asked_for_in_that_order(tmp_path: Path) -> None:
    path = _formats(tmp_path, FRAME)["semicolon_bom"]
    got = read_user_table(path, columns=["x", "id"], text_columns=["x"])
    assert list(got.columns) == ["x", "id"]
    assert got["x"].tolist()[:2] == ["0.1", "2.5"] and np.isnan(got["x"].iloc[2])
    text = read_user_table(path, columns=["city", "n"], as_text=True)
    assert text.to_dict("list") == {"city": ["Lyon", "São Paulo", "", "北京"],
                                    "n": ["1", "-2", "30", "4"]}


def test_typing_follows_pandas_on_edge_values() -> None:
    raw = pd.DataFrame({
        "na_int": ["1", "NA", "3"], "all_na": [None, "null", ""], "mixed": ["1", "x", "2"],
        "spaced": [" 2 ", "3", "4"], "big": ["1", "2", "99999999999"],
        "bool_na": ["true", None, "FALSE"], "sci": ["1e3", "2", "-0.5"],
    }, dtype=object)
    got = infer_types(raw)
    assert got["na_int"].dtype == "float64" and got["na_int"].isna().tolist() == [
        False, True, False]
    assert got["all_na"].dtype == "float64" and got["all_na"].isna().all()
    assert got["mixed"].tolist() == ["1", "x", "2"]
    assert got["big"].dtype == "int64" and got["big"].iloc[2] == 99_999_999_999
    assert got["bool_na"].iloc[0] is True and got["bool_na"].iloc[2] is False
    assert got["sci"].tolist() == [1000.0, 2.0, -0.5]
    assert got["spaced"].tolist() == [2.0, 3.0, 4.0]


def test_whitespace_separated_files_are_recognised(tmp_path: Path) -> None:
    text = (" customer_id  date number  value\n 00001 19970101  1   11.77\n"
            " 00002 19970112  2   12.00\n")
    path = tmp_path / "cdnow.txt"
    path.write_text(text)
    sniffed = read_user_table(path, text_columns=["customer_id", "date"])
    assert sniffed.to_dict("list") == {"customer_id": ["00001", "00002"],
                                       "date": ["19970101", "19970112"], "number": [1, 2],
                                       "value": [11.77, 12.0]}
    packed = tmp_path / "cdnow.txt.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    forced = read_user_table(packed, delimiter="whitespace",
                             text_columns=["customer_id", "date"])
    pd.testing.assert_frame_equal(forced, sniffed)


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes("a;b\n1;é\n2;ü\n".encode("utf-16"))
    assert read_user_table(path).to_dict("list") == {"a": [1, 2], "b": ["é", "ü"]}


@pytest.mark.parametrize(("content", "message"), [
    (b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n", r"bad\.csv, line 4: cannot read the record \("),
    (b"a,b\n1,\"open\n2,3\n", r"bad\.csv, line 2.*cannot read the record"),
    (b"a,b\n1,ok\n2,caf\xe9\n", r"bad\.csv: line 3: invalid UTF-8 \(byte 0xe9\)"),
    (b"a,b\n", r"bad\.csv: the file has a header but no data rows"),
    (b"", r"bad\.csv: file is empty"),
])
def test_bad_files_are_one_line_errors_naming_file_and_line(
        tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as info:
        read_user_table(path)
    assert "\n" not in str(info.value)


def test_wrong_kind_of_file_is_refused(tmp_path: Path) -> None:
    workbook = tmp_path / "sheet.csv"
    with zipfile.ZipFile(workbook, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InputFileError, match=r"sheet\.csv: looks like a zip archive"):
        read_user_table(workbook)
    cut = tmp_path / "cut.csv.gz"
    body = "".join(f"{i},{i * 7919 % 104729}\n" for i in range(20_000)).encode()
    packed = gzip.compress(b"a,b\n" + body)
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputFileError, match=r"cut\.csv\.gz: the gzip data is truncated"):
        read_user_table(cut)
    with pytest.raises(InputFileError, match=r"nope\.csv: file does not exist"):
        read_user_table(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="is a folder"):
        read_user_table(tmp_path)


def test_missing_columns_name_the_file_and_list_its_columns(tmp_path: Path) -> None:
    path = _formats(tmp_path, FRAME)["comma"]
    with pytest.raises(SchemaError, match=r"t\.csv: no column 'who' \(also missing: \['when'\]\);"
                                          r" columns are: id, n, x, flag, city, day"):
        read_user_table(path, columns=["id", "who", "when"])
    one = tmp_path / "one.csv"
    one.write_text("a b c\nx\n")
    with pytest.raises(SchemaError, match="check the delimiter"):
        read_user_table(one, columns=["a"])


def test_the_delimiter_is_the_one_every_record_agrees_with(tmp_path: Path) -> None:
    # The header alone splits into more fields on ';' (names holding it); the rows do not.
    path = tmp_path / "names.csv"
    path.write_text("a;b;c,d;e,f\n1,2,3\n4,5,6\n")
    got = read_user_table(path)
    assert got.to_dict("list") == {"a;b;c": [1, 4], "d;e": [2, 5], "f": [3, 6]}


def test_day_or_month_first_is_decided_by_the_data_or_refused() -> None:
    assert day_first(pd.Series(["12/1/2010 8:26", "12/13/2010 9:00"]), "f.csv", "t") is False
    assert day_first(pd.Series(["13.01.2010", "02.01.2010", None]), "f.csv", "t") is True
    assert day_first(pd.Series(["2010-01-13", "2010-02-01"]), "f.csv", "t") is False
    with pytest.raises(InputFileError, match=r"f\.csv, column 't': dates like '01/02/2010' "
                                             r"read as day-first or month-first"):
        day_first(pd.Series(["01/02/2010", "03/04/2010"]), "f.csv", "t")
