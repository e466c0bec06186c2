"""CLI: evaluate classify, train, score, explain, models list/show, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.cli.main import main
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "insightloop" / "data" \
    / "online_retail_sample.csv.gz"


def _json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=n)
    leak = rng.normal(size=n)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "x": x,
                          "plan": rng.choice(["a", "b", "c"], n), "leak": leak,
                          "outcome": np.where(rng.random(n) < 1 / (1 + np.exp(-1.5 * x)),
                                              "yes", "no")})
    path = tmp_path_factory.mktemp("cli") / "table.csv"
    frame.to_csv(path, sep=";", index=False)
    return path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-wh") / "warehouse.duckdb"
    ingest_file(Warehouse(path), "orders", SAMPLE, preset="online-retail")
    return path


def test_evaluate_classify_json(table: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["evaluate", "classify", "--data", str(table), "--target", "outcome",
               "--positive", "yes", "--folds", "3", "--drop", "leak", "--model", "logistic",
               "--json"])
    assert rc == 0
    res = _json(capsys.readouterr().out)
    assert set(res) >= {"rows", "auc", "pr_auc", "logloss", "model"}
    assert res["rows"] == 600 and res["model"] == "logistic" and res["dropped"] == ["leak"]
    assert 0.7 < res["auc"] < 1


def test_evaluate_classify_bad_input(table: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "classify", "--data", str(table), "--target", "nope",
                 "--positive", "yes"]) == 2
    assert "target column 'nope' is not in the data" in capsys.readouterr().err
    one = tmp_path / "one.csv"
    pd.DataFrame({"x": range(20), "t": "yes"}).to_csv(one, index=False)
    assert main(["evaluate", "classify", "--data", str(one), "--target", "t",
                 "--positive", "yes"]) == 1
    assert "one class" in capsys.readouterr().err


def test_train_score_explain_models(warehouse: Path, capsys: pytest.CaptureFixture[str]
                                    ) -> None:
    w = ["--warehouse", str(warehouse)]
    assert main(["train", "churn", "--as-of", "2011-03-01", "--as-of", "2011-06-01",
                 "--horizon-days", "90", "--model", "logistic", "--json", *w]) == 0
    trained = _json(capsys.readouterr().out)
    assert (trained["name"], trained["version"], trained["model"]) == ("churn", 1, "logistic")
    assert trained["as_of_dates"] == ["2011-03-01T00:00:00", "2011-06-01T00:00:00"]
    # no products table: category favourites have no source; left out and recorded, with no
    # warning about the user's data (there is none to fix)
    assert "not loaded" in trained["dropped"]["fav_category_1"]
    assert not any("fav_category_1" in m for m in trained.get("warnings", []))
    assert main(["score", "churn", "--json", *w]) == 0
    scored = _json(capsys.readouterr().out)
    assert scored["customers"] > 300 and scored["version"] == 1
    assert any("drifted" in m for m in scored["warnings"])
    cid = Warehouse(warehouse).table("scores")["customer_id"].iloc[0]
    assert main(["explain", cid, *w]) == 0
    out = capsys.readouterr().out
    assert f"customer {cid}: churn risk" in out and "churn risk by" in out
    assert main(["models", "list", "--json", *w]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["name"], m["version"]) for m in listed] == [("churn", 1)]
    assert main(["models", "show", "churn:1", "--json", *w]) == 0
    shown = _json(capsys.readouterr().out)
    assert shown["sha256"] and shown["horizon_days"] == 90
    assert main(["models", "show", "churn:5", *w]) == 1
    assert "no version 5" in capsys.readouterr().err
    assert main(["train", "churn", "--as-of", "2011-11-01", *w]) == 2  # bad input
    assert "incomplete" in capsys.readouterr().err


def test_score_file_with_wrong_columns(table: Path, warehouse: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    w = ["--warehouse", str(warehouse)]
    assert main(["train", "target", "--data", str(table), "--target", "outcome",
                 "--positive", "yes", "--drop", "leak", "--name", "generic", "--json", *w]) == 0
    assert _json(capsys.readouterr().out)["dropped"] == {"id": "identifier (unique per row)"}
    wrong = tmp_path / "wrong.csv"
    pd.read_csv(table, sep=";").drop(columns="plan").to_csv(wrong, index=False)
    assert main(["score", "generic", "--data", str(wrong), *w]) == 1
    assert "FeatureMismatchError" in capsys.readouterr().err
