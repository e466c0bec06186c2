"""Every ``insightloop evaluate`` command reads its file through the one reader of user files:
the same data as a comma CSV, a semicolon CSV with a BOM, a gzip TSV and Parquet gives the
same metrics, and a malformed file is one line naming the file and the line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.cli.main import main

FORMATS = ("comma.csv", "semicolon_bom.csv", "tab.tsv.gz", "table.parquet")


def _classify() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 240
    x1 = rng.normal(size=n).round(3)
    x2 = rng.integers(0, 5, size=n)
    cat = rng.choice(["north", "south", "east"], size=n)
    logit = 1.5 * x1 - 0.4 * x2 + (cat == "east") + rng.normal(scale=0.8, size=n)
    return pd.DataFrame({"id": [f"r{i:03d}" for i in range(n)], "x1": x1, "x2": x2,
                         "region": cat, "y": np.where(logit > 0, "yes", "no")})


def _clv() -> pd.DataFrame:
    """Customers with gamma-distributed purchase rates who drop out after an exponential
    lifetime (the BG/NBD story), over 2024."""
    rng = np.random.default_rng(11)
    rows = []
    for c in range(150):
        rate = rng.gamma(0.7, 1 / 25)  # purchases per day
        alive = rng.exponential(200.0)
        day = float(rng.integers(0, 90))
        first = day
        while day <= 365 and day - first <= alive:
            rows.append((f"c{c:03d}", (pd.Timestamp("2024-01-01")
                                        + pd.Timedelta(days=int(day))).strftime("%Y-%m-%d"),
                         round(float(rng.gamma(2.0, 15.0)), 2)))
            day += 1 + rng.exponential(1 / max(rate, 1e-3))
    return pd.DataFrame(rows, columns=["customer", "day", "amount"])


def _recommend() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    pairs = {(f"u{u:02d}", f"i{int(i):02d}") for u in range(40)
             for i in rng.choice(25, size=8, replace=False, p=np.linspace(2, 1, 25) / 37.5)}
    frame = pd.DataFrame(sorted(pairs), columns=["user", "item"])
    frame["rating"] = rng.integers(1, 6, size=len(frame)).astype(float)
    return frame


def _sentiment() -> pd.DataFrame:
    good = ["great product, works perfectly", "love it, excellent quality", "very happy",
            "fast delivery and good value", "superb, would buy again", "nice and sturdy"]
    bad = ["terrible, broke after a day", "awful quality, waste of money", "very poor",
           "did not work, returned it", "disappointing and cheap", "worst purchase ever"]
    texts = [*good, *bad] * 2
    return pd.DataFrame({"review": texts, "stars": ["5"] * 6 + ["1"] * 6 + ["4"] * 6
                         + ["2"] * 6, "label": ([1] * 6 + [0] * 6) * 2})


CASES: dict[str, tuple[Callable[[], pd.DataFrame], list[str]]] = {
    "classify": (_classify, ["--target", "y", "--positive", "yes", "--drop", "id",
                             "--folds", "2", "--model", "logistic"]),
    "clv": (_clv, ["--customer", "customer", "--time", "day", "--amount", "amount",
                   "--calibration-end", "2024-08-31", "--model", "bgnbd"]),
    "recommend": (_recommend, ["--user", "user", "--item", "item", "--weight", "rating",
                               "--model", "itemknn", "--top", "5", "--seed", "1"]),
    "sentiment": (_sentiment, ["--text", "review", "--label", "label", "--lang", "en"]),
}


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.name == "comma.csv":
        frame.to_csv(path, index=False)
    elif path.name == "semicolon_bom.csv":
        frame.to_csv(path, index=False, sep=";", encoding="utf-8-sig")
    elif path.name == "tab.tsv.gz":
        frame.to_csv(path, index=False, sep="\t", compression="gzip")
    else:
        frame.to_parquet(path, index=False)
    return path


def _evaluate(command: str, path: Path, args: list[str],
              capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    rc = main(["evaluate", command, "--data", str(path), *args, "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    result = json.loads(captured.out)
    assert isinstance(result, dict)
    # timings differ run to run; everything else must not
    return {k: v for k, v in result.items() if "second" not in k}


@pytest.mark.parametrize("command", [
    "classify", pytest.param("clv", marks=pytest.mark.slow), "recommend", "sentiment"])
def test_every_format_gives_the_same_metrics(command: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    make, args = CASES[command]
    frame = make()
    results = {name: _evaluate(command, _write(frame, tmp_path / name), args, capsys)
               for name in FORMATS}
    first = results[FORMATS[0]]
    assert len(first) >= 4  # metrics were computed, not an empty object
    for name in FORMATS[1:]:
        assert results[name] == first, name


@pytest.mark.parametrize("command", sorted(CASES))
def test_a_malformed_file_is_one_line_naming_file_and_line(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make, args = CASES[command]
    path = _write(make(), tmp_path / "comma.csv")
    lines = path.read_text().splitlines()
    lines[4] += ",an extra field"  # physical line 5: one field too many
    path.write_text("\n".join(lines) + "\n")
    rc = main(["evaluate", command, "--data", str(path), *args, "--json"])
    captured = capsys.readouterr()
    assert rc != 0 and captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert f"{path}, line 5" in err and "cannot read the record" in err


def test_ambiguous_dates_are_refused_not_guessed(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    frame = _clv()
    # every day number <= 12 in both places: 2024-03-05 could be 3 May or 5 March
    frame = frame[pd.to_datetime(frame["day"]).dt.day <= 12].copy()
    frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%d/%m/%Y")
    path = _write(frame, tmp_path / "comma.csv")
    rc = main(["evaluate", "clv", "--data", str(path), *CASES["clv"][1], "--json"])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and "\n" not in err
    assert f"{path}, column 'day': dates like" in err and "--date-format %d/%m/%Y" in err
    # the format decides it (the few rows left may still be too few to fit a model)
    main(["evaluate", "clv", "--data", str(path), *CASES["clv"][1],
          "--date-format", "%d/%m/%Y", "--json"])
    assert "dates like" not in capsys.readouterr().err
