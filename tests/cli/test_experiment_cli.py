"""CLI: ``insightloop experiment analyze`` (JSON keys, exit 2 on bad input naming the column
and value) and ``insightloop experiment power``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.cli.main import main


@pytest.fixture
def ab_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    n = 1000
    arm = rng.choice(["ctl", "new", "other"], size=n)
    df = pd.DataFrame({"arm": arm, "buy": (rng.random(n) < 0.1 + 0.05 * (arm == "new"))
                       .astype(int), "amount": rng.gamma(2, 10, n), "pre": rng.gamma(2, 5, n),
                       "label": "x", "none": 0})
    path = tmp_path / "ab.csv"
    df.to_csv(path, index=False)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_analyze_json(ab_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "experiment", "analyze", "--data", str(ab_file), "--variant",
                          "arm", "--control", "ctl", "--metric", "buy", "--metric", "amount",
                          "--covariate", "pre", "--sequential", "--json",
                          "--warehouse", str(tmp_path / "wh.duckdb"))
    assert code == 0, err
    res = json.loads(out)
    assert len(res["results"]) == 4 and 0 <= res["srm_p_value"] <= 1
    first = res["results"][0]
    for key in ("variant", "metric", "control_mean", "variant_mean", "effect", "ci_low",
                "ci_high", "p_value", "p_adjusted", "relative_effect", "chance_to_win",
                "expected_loss", "sequential_ci_low", "variance_reduction"):
        assert key in first, key
    new_buy = next(r for r in res["results"] if r["variant"] == "new" and r["metric"] == "buy")
    assert new_buy["effect"] > 0 and new_buy["p_adjusted"] >= new_buy["p_value"]


def test_analyze_table_output(ab_file: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "experiment", "analyze", "--data", str(ab_file), "--variant",
                          "arm", "--control", "ctl", "--metric", "buy", "--save", "ab",
                          "--warehouse", str(tmp_path / "wh.duckdb"))
    assert code == 0, err
    assert "SRM check" in out and "experiment_results" in out


@pytest.mark.parametrize(("extra", "needle"), [
    (["--control", "nobody", "--metric", "buy"], "no row has the --control value 'nobody'"),
    (["--control", "ctl", "--treatment", "gone", "--metric", "buy"],
     "--treatment value 'gone'"),
    (["--control", "ctl", "--treatment", "new", "--metric", "buy"],
     "holds 3 values"),
    (["--control", "ctl", "--metric", "label"], "column 'label' is not numeric"),
    (["--control", "ctl", "--metric", "none"], "column 'none': every value is 0"),
    (["--control", "ctl", "--ratio", "buy"], "--ratio 'buy': write it as A/B"),
])
def test_bad_input_exits_2_with_one_line(ab_file: Path, capsys: pytest.CaptureFixture[str],
                                         extra: list[str], needle: str) -> None:
    code, out, err = _run(capsys, "experiment", "analyze", "--data", str(ab_file), "--variant",
                          "arm", *extra)
    assert code == 2, (out, err)
    assert needle in " ".join(err.split()) and "Traceback" not in err
    assert out == ""


def test_neither_data_nor_campaign_is_a_usage_error(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    code, _out, err = _run(capsys, "experiment", "analyze", "--metric", "x")
    assert code == 2 and "either --data FILE" in err


def test_power(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "experiment", "power", "--metric", "proportion",
                          "--control-rate", "0.1", "--effect", "0.02", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert (res["control_n"], res["variant_n"]) == (3841, 3841) and res["power"] >= 0.8
    code, out, err = _run(capsys, "experiment", "power", "--metric", "mean", "--sd", "1",
                          "--effect", "0.5", "--control-n", "63", "--variant-n", "63")
    assert code == 0 and "power 80" in out
    code, _out, err = _run(capsys, "experiment", "power", "--metric", "proportion",
                           "--effect", "0.02")
    assert code == 2 and "--control-rate" in err


def test_bandit_create_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wh = str(tmp_path / "wh.duckdb")
    code, out, err = _run(capsys, "experiment", "bandit", "create", "promo", "--arm", "a",
                          "--arm", "b", "--holdout", "0.2", "--seed", "4", "--json",
                          "--warehouse", wh)
    assert code == 0, err
    assert [a["arm"] for a in json.loads(out)["arms"]] == ["a", "b", "holdout"]
    code, out, err = _run(capsys, "experiment", "bandit", "show", "promo", "--warehouse", wh)
    assert code == 0 and "bandit promo: 0 assignments, holdout 20%" in out
    code, out, err = _run(capsys, "experiment", "bandit", "create", "solo", "--arm", "a",
                          "--warehouse", wh)
    assert code == 2 and "2 to 20 distinct arms" in err
