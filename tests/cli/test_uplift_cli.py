"""CLI: ``insightloop evaluate uplift`` on a synthetic test with a known effect, on the real
Hillstrom e-mail test (the scikit-uplift anchor), and its refusals of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.cli.main import main
from shared_data import shared_file
from uplift_campaign import N, campaign_files, shop_files

KEYS = {"uplift@30", "qini_auc", "auuc", "model", "rows", "train_rows", "test_rows",
        "balance", "arms", "selection", "features"}


def _one_json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def _synthetic(path: Path, n: int = 6000, seed: int = 0) -> Path:
    """A randomised mail test: mail lifts buying by 0.25 for customers under 40, not above."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 70, n)
    region = rng.choice(["north", "south", "east"], n)
    arm = rng.choice(["mail", "none"], n)
    p = 0.1 + 0.25 * ((arm == "mail") & (age < 40))
    frame = pd.DataFrame({"customer": [f"c{i}" for i in range(n)], "age": age,
                          "region": region, "arm": arm,
                          "bought": (rng.random(n) < p).astype(int),
                          "spend": np.round(rng.gamma(2.0, 20.0, n) * (rng.random(n) < p), 2)})
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def mail_test(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _synthetic(tmp_path_factory.mktemp("uplift") / "mail.csv")


def _evaluate(path: Path, *extra: str) -> list[str]:
    return ["evaluate", "uplift", "--data", str(path), "--treatment", "arm", "--treated",
            "mail", "--control", "none", *extra]


def test_evaluate_uplift_json_on_a_known_effect(mail_test: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([*_evaluate(mail_test, "--outcome", "bought", "--drop", "spend", "--model",
                          "two_model", "--bootstrap", "200"), "--json"])
    assert rc == 0
    res = _one_json(capsys.readouterr().out)
    assert set(res) >= KEYS and res["model"] == "two_model"
    # 95% bootstrap intervals of the test rows around the estimates, above random targeting
    low, high = res["uplift@30_ci"]
    assert res["arms"][0]["ate"] < low < res["uplift@30"] < high
    assert res["qini_auc_ci"][0] < res["qini_auc"] < res["qini_auc_ci"][1]
    assert res["bootstrap_draws"] == 200
    assert res["rows"] == 6000 and res["test_rows"] == 3000
    assert "customer" not in res["features"] and "spend" not in res["features"]
    arm = res["arms"][0]
    # about 40% of customers are under 40 (effect 0.25): the top 30% are mostly them
    assert res["uplift@30"] > 0.18 > arm["ate"]
    assert res["qini_auc"] > 0.15 and res["auuc"] > 0.1
    assert 0.4 < res["balance"]["propensity_auc"] < 0.6  # randomised
    assert res["balance"]["max_abs_smd"] < 0.1
    assert len(arm["deciles"]) == 10 and sum(
        d["n_treated"] + d["n_control"] for d in arm["deciles"]) == 3000


def test_evaluate_uplift_revenue_and_text(mail_test: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(_evaluate(mail_test, "--outcome", "spend", "--drop", "bought", "--model", "x",
                        "--top", "0.2", "--bootstrap", "50"))
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "mail vs none: uplift@20" in out and "propensity AUC" in out
    assert "50 bootstrap draws" in out
    rc = main([*_evaluate(mail_test, "--outcome", "spend", "--drop", "bought", "--model",
                          "linear", "--bootstrap", "0"), "--json"])
    res = _one_json(capsys.readouterr().out)
    assert res["model"] == "linear" and res["uplift@30_ci"] is None
    assert res["outcome_type"] == "continuous" and res["uplift@30"] > res["arms"][0]["ate"]


@pytest.mark.parametrize(("extra", "needle"), [
    (("--outcome", "bought", "--treated", "post"), "no row has the --treated value 'post'"),
    (("--outcome", "region"), "line 2, column 'region': outcome value '"),
    (("--outcome", "bought", "--model", "s"), "--model 's' is not a learner"),
    (("--outcome", "nothing"), "no outcome column 'nothing'"),
    (("--outcome", "bought", "--bootstrap", "5"), "--bootstrap must be 0 (no intervals) or "
                                                  "at least 10 draws, got 5"),
])
def test_bad_input_is_one_clear_line(mail_test: Path, capsys: pytest.CaptureFixture[str],
                                     extra: tuple[str, ...], needle: str) -> None:
    rc = main(_evaluate(mail_test, *extra))
    err = capsys.readouterr().err
    assert rc != 0 and needle in err and "Traceback" not in err, err


def test_more_arms_than_asked_and_a_constant_outcome(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(_synthetic(tmp_path / "a.csv", n=600))
    frame.loc[:99, "arm"] = "sms"
    frame.to_csv(tmp_path / "three.csv", index=False)
    rc = main(_evaluate(tmp_path / "three.csv", "--outcome", "bought"))
    err = capsys.readouterr().err
    assert rc != 0 and "column 'arm': value 'sms' (100 rows) is neither" in err
    assert "--drop-other" in err
    frame["bought"] = 0
    frame.to_csv(tmp_path / "zero.csv", index=False)
    rc = main(_evaluate(tmp_path / "zero.csv", "--outcome", "bought", "--drop-other"))
    err = capsys.readouterr().err
    assert rc != 0 and "column 'bought': the outcome is 0 on every row" in err


def test_several_treatments_one_evaluation_per_arm(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Mail lifts the under-40s (+0.25), sms the over-40s (+0.2): each arm is fitted against
    the shared control and measured on its own rows."""
    rng = np.random.default_rng(6)
    n = 6000
    age = rng.integers(18, 70, n)
    arm = rng.choice(["mail", "sms", "none"], n)
    p = 0.1 + 0.25 * ((arm == "mail") & (age < 40)) + 0.2 * ((arm == "sms") & (age >= 40))
    pd.DataFrame({"age": age, "arm": arm, "bought": (rng.random(n) < p).astype(int)}).to_csv(
        tmp_path / "two.csv", index=False)
    rc = main(["evaluate", "uplift", "--data", str(tmp_path / "two.csv"), "--treatment", "arm",
               "--treated", "mail", "--treated", "sms", "--control", "none", "--outcome",
               "bought", "--model", "x", "--bootstrap", "0", "--json"])
    assert rc == 0
    res = _one_json(capsys.readouterr().out)
    mail, sms = res["arms"]
    assert (mail["treated"], sms["treated"]) == ("mail", "sms")
    assert res["treated"] == ["mail", "sms"]
    assert res["uplift@30"] == mail["uplift_at_k"]
    assert mail["test_rows"] + sms["test_rows"] > res["test_rows"]  # the control counted twice
    for a in (mail, sms):
        assert a["uplift_at_k"] > a["ate"] + 0.05 and a["qini_auc"] > 0.1


def test_uplift_build_and_plan_on_the_warehouse(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    wh = str(tmp_path / "wh.duckdb")
    for table, path in campaign_files(tmp_path).items():
        assert main(["ingest", table, str(path), "--warehouse", wh, "--json"]) == 0
    capsys.readouterr()
    assert main(["uplift", "build", "--campaign", "jan", "--warehouse", wh, "--json"]) == 0
    built = _one_json(capsys.readouterr().out)
    assert built["sends"] == N and built["customers_scored"] == N
    assert main(["uplift", "plan", "--budget", "30", "--value", "20", "--cost", "0.5",
                 "--arm-cost", "email=0.3", "--warehouse", wh]) == 0
    out = capsys.readouterr().out
    assert "selected 100 of 2,400 customers, cost 30.00" in out and "top_30pct_uplift" in out
    csv = tmp_path / "audience.csv"
    assert main(["uplift", "audience", "top_30pct_uplift", "--out", str(csv), "-w", wh]) == 0
    exported = pd.read_csv(csv)
    assert list(exported.columns) == ["customer_id", "arm", "rank"]
    assert len(exported) == 720 and exported["rank"].tolist() == list(range(1, 721))
    capsys.readouterr()
    assert main(["uplift", "audience", "nobody", "--out", str(csv), "-w", wh]) != 0
    assert "no audience 'nobody'" in capsys.readouterr().err
    assert main(["uplift", "plan", "--arm-cost", "sms=1", "--warehouse", wh]) != 0
    assert "costs name arm(s) ['sms'] that were not scored" in capsys.readouterr().err
    assert main(["uplift", "plan", "--arm-cost", "email", "--warehouse", wh]) != 0


def test_uplift_build_on_predicted_clv(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    wh = str(tmp_path / "wh.duckdb")
    for table, path in shop_files(tmp_path).items():
        assert main(["ingest", table, str(path), "--warehouse", wh, "--json"]) == 0
    capsys.readouterr()
    assert main(["uplift", "build", "--outcome", "clv", "--warehouse", wh]) != 0
    assert "run `insightloop clv build` first" in capsys.readouterr().err
    assert main(["clv", "build", "--model", "mbgnbd", "--warehouse", wh, "--json"]) == 0
    capsys.readouterr()
    assert main(["uplift", "build", "--campaign", "jan", "--outcome", "clv",
                 "--horizon-months", "6", "--warehouse", wh, "--json"]) == 0
    built = _one_json(capsys.readouterr().out)
    arm = built["evaluation"][0]
    assert built["outcome"] == "clv" and arm["ate"] > 0 and arm["uplift_at_k"] > arm["ate"]


@pytest.mark.slow
def test_hillstrom_womens_email_at_the_scikit_uplift_anchor(
        capsys: pytest.CaptureFixture[str]) -> None:
    """ANCHORS.md: class transformation + XGBoost, Womens E-Mail vs No E-Mail, target visit,
    50/50 split seed 42: uplift@30% (strategy 'overall') = 0.066 (0.0657 rerun with
    scikit-uplift 0.5.1 + XGBoost 3.2, benchmarks/uplift_hillstrom.py). ``auto`` chooses the
    linear S-learner on the training half (3-fold CV Qini) and reaches 0.0694 on the test
    half, 95% bootstrap interval about [0.051, 0.086]: above the anchor, but the issue's
    goal, >= 0.075, is NOT reached (docs/uplift.md). This pins the level reached."""
    path = shared_file("hillstrom/hillstrom.csv")
    rc = main(["evaluate", "uplift", "--data", str(path), "--treatment", "segment",
               "--treated", "Womens E-Mail", "--control", "No E-Mail", "--outcome", "visit",
               "--drop", "conversion", "--drop", "spend", "--drop-other", "--bootstrap", "200",
               "--json"])
    assert rc == 0
    res = _one_json(capsys.readouterr().out)
    assert res["rows"] == 42_693 and res["excluded"] == {"Mens E-Mail": 21_307}
    assert res["test_rows"] == 21_347
    ate = res["arms"][0]["ate"]
    assert ate == pytest.approx(0.0452, abs=0.01)  # ANCHORS: +4.52 pp on all rows
    assert res["model"] == "linear"
    assert max(res["selection"], key=res["selection"].get) == "linear"
    assert res["uplift@30"] > 0.066 and res["qini_auc"] > 0.05
    low, high = res["uplift@30_ci"]
    assert ate < low < res["uplift@30"] < high < 0.1
    assert 0.45 < res["balance"]["propensity_auc"] < 0.55  # randomised
