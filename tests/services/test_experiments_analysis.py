"""Experiment analysis end to end: a file and a campaign's sends in, effects out (checked
against scipy on the rows), results stored idempotently; Hillstrom's published effects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from contexts import ctx_of
from insightloop.errors import ConfigError, InputFileError
from insightloop.services.experiments import analyze_campaign, analyze_campaigns, analyze_file
from insightloop.storage.warehouse import Warehouse
from shared_data import shared_file


def _frame(seed: int = 7, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "A", "B"], size=n)
    pre = rng.gamma(2, 20, n)
    lift = np.select([arm == "A", arm == "B"], [0.04, 0.0], 0.0)
    converted = (rng.random(n) < 0.10 + lift).astype(int)
    spend = converted * rng.gamma(3, 10, n) + 0.2 * pre + rng.normal(0, 5, n)
    day = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 10, n), unit="D")
    return pd.DataFrame({"arm": arm, "converted": converted, "spend": spend, "pre": pre,
                         "visits": rng.poisson(2, n) + 1,
                         "unsub": (rng.random(n) < 0.01 + (arm == "B") * 0.05).astype(int),
                         "day": day.strftime("%Y-%m-%d")})


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "exp.csv"
    _frame().to_csv(path, index=False)
    return path


def test_file_analysis_matches_scipy_on_the_rows(data_file: Path, tmp_path: Path) -> None:
    df = _frame()
    ctx = ctx_of(tmp_path / "wh.duckdb")
    out = analyze_file(ctx, data_file, "arm", "control", ["converted", "spend"],
                       ratios=[("spend", "visits")], guardrails=["unsub"], time="day",
                       sequential=True, conversion="converted", revenue="spend",
                       cost_per_send=0.1)
    rows = {(r["variant"], r["metric"]): r for r in out["results"]}
    c = df[df.arm == "control"]
    for v in ("A", "B"):
        t = df[df.arm == v]
        ref = stats.ttest_ind(t.spend, c.spend, equal_var=False)
        r = rows[(v, "spend")]
        assert r["kind"] == "mean" and r["p_value"] == pytest.approx(ref.pvalue, rel=1e-6)
        assert r["ci_low"] == pytest.approx(ref.confidence_interval(0.95).low, rel=1e-6)
        p1, p0 = t.converted.mean(), c.converted.mean()
        assert rows[(v, "converted")]["effect"] == pytest.approx(p1 - p0, abs=1e-12)
        assert rows[(v, "converted")]["kind"] == "proportion"
        ratio = rows[(v, "spend/visits")]
        assert ratio["effect"] == pytest.approx(t.spend.sum() / t.visits.sum()
                                                - c.spend.sum() / c.visits.sum(), rel=1e-9)
        assert r["sequential_ci_low"] < r["ci_low"] and r["sequential_ci_high"] > r["ci_high"]
    assert rows[("A", "converted")]["significant"] and rows[("A", "converted")][
        "chance_to_win"] > 0.99
    assert rows[("B", "unsub")]["flagged"] and out["guardrails_flagged"] == ["B:unsub"]
    assert not rows[("A", "unsub")]["flagged"]
    counts = df.arm.value_counts()
    ref_srm = stats.chisquare([counts["control"], counts["A"], counts["B"]])
    assert out["srm_p_value"] == pytest.approx(ref_srm.pvalue, rel=1e-6)
    assert [a["arm"] for a in out["arms"]] == ["control", "A", "B"]
    days = sorted({p["day"] for p in out["curve"]})
    assert len(days) == 10 and out["curve"][-1]["n"] > out["curve"][0]["n"]
    last = next(p for p in out["curve"] if p["day"] == days[-1] and p["variant"] == "A"
            and p["metric"] == "spend")
    assert last["effect"] == pytest.approx(rows[("A", "spend")]["effect"], rel=1e-9)
    value = {v["variant"]: v for v in out["value"]}
    n_a = int((df.arm == "A").sum())
    assert value["A"]["incremental_conversions"] == pytest.approx(
        n_a * rows[("A", "converted")]["effect"], rel=1e-9)
    assert value["A"]["cost"] == pytest.approx(0.1 * n_a)
    assert out["stored"] is None and not (tmp_path / "wh.duckdb").exists()


def test_cuped_reduces_variance_and_keeps_the_effect(data_file: Path, tmp_path: Path) -> None:
    ctx = ctx_of(tmp_path / "wh.duckdb")
    plain = analyze_file(ctx, data_file, "arm", "control", ["spend"], treatments=["A"],
                         drop_others=True)
    adj = analyze_file(ctx, data_file, "arm", "control", ["spend"], covariates=["pre"],
                       treatments=["A"], drop_others=True)
    p, a = plain["results"][0], adj["results"][0]
    df = _frame()
    parts = [df[df.arm == arm] for arm in ("control", "A")]
    sxy = sum((len(g) - 1) * np.cov(g.spend, g.pre)[0, 1] for g in parts)
    sxx = sum((len(g) - 1) * g.pre.var() for g in parts)
    syy = sum((len(g) - 1) * g.spend.var() for g in parts)
    assert a["cuped"] and a["variance_reduction"] == pytest.approx(sxy ** 2 / (sxx * syy),
                                                                   rel=1e-6)
    assert a["variance_reduction"] > 0.1
    assert (a["ci_high"] - a["ci_low"]) < (p["ci_high"] - p["ci_low"])
    assert abs(a["effect"] - p["effect"]) < (p["ci_high"] - p["ci_low"])


def test_saved_results_are_replaced_on_rerun(data_file: Path, tmp_path: Path) -> None:
    ctx = ctx_of(tmp_path / "wh.duckdb")
    for _ in range(2):
        out = analyze_file(ctx, data_file, "arm", "control", ["converted"], time="day",
                           save="exp-1")
    assert out["stored"] == "experiment_results"
    with ctx.read() as con:
        n = con.execute("SELECT count(*) FROM experiment_results WHERE experiment_id = "
                        "'exp-1'").fetchone()
        curve = con.execute("SELECT count(*) FROM experiment_sequential").fetchone()
    assert n == (2,) and curve == (2 * 10,)


@pytest.mark.parametrize(("kwargs", "error", "needle"), [
    ({"control": "nobody"}, ConfigError, r"column 'arm': no row has the --control value "
                                         r"'nobody' \(an empty arm\)"),
    ({"treatments": ["Z"]}, ConfigError, r"--treatment value 'Z'"),
    ({"treatments": ["A"]}, ConfigError, r"holds 3 values .* but 2 were asked for; add "
                                         r"--treatment 'B'"),
    ({"metrics": ["day"]}, ConfigError, r"column 'day' is not numeric: data row 1 holds"),
    ({"metrics": ["zero"]}, ConfigError, r"column 'zero': every value is 0"),
    ({"metrics": ["gap"]}, InputFileError, r"column 'gap', data row 3: missing value"),
])
def test_bad_input_names_the_column_and_value(tmp_path: Path, kwargs: dict,
                                              error: type, needle: str) -> None:
    df = _frame(n=200).assign(zero=0, gap=1.0)
    df.loc[2, "gap"] = None
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    args = {"control": "control", "metrics": ["converted"], **kwargs}
    with pytest.raises(error, match=needle):
        analyze_file(ctx_of(tmp_path / "wh.duckdb"), path, "arm", args.pop("control"),
                     args.pop("metrics"), **args)


def _campaign_warehouse(tmp_path: Path) -> tuple[Warehouse, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 4000
    wh = Warehouse(tmp_path / "wh.duckdb")
    arm = rng.choice(["control", "email"], size=n, p=[0.2, 0.8])
    pre = rng.gamma(2, 30, n)
    conv = rng.random(n) < np.where(arm == "email", 0.12, 0.08)
    sends = pd.DataFrame({
        "send_id": [f"s{i}" for i in range(n)], "campaign_id": "spring",
        "customer_id": [f"c{i}" for i in range(n)], "variant": arm,
        "send_time": pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(0, 5, n),
                                                                   unit="D"),
        "opened": rng.random(n) < 0.4, "clicked": rng.random(n) < 0.1, "converted": conv,
        "revenue": conv * (20 + 0.1 * pre) + 0.0})
    with wh.transaction() as con:
        con.register("s", sends)
        con.execute("INSERT INTO sends BY NAME SELECT * FROM s")
        con.register("c", pd.DataFrame({"customer_id": sends.customer_id, "monetary": pre}))
        con.execute("CREATE TABLE customer_360 AS SELECT * FROM c")
    return wh, sends.assign(pre=pre)


def test_campaign_from_the_warehouse_with_cupac_is_stored_once(tmp_path: Path) -> None:
    wh, sends = _campaign_warehouse(tmp_path)
    ctx = ctx_of(wh)
    out = analyze_campaign(ctx, "spring", covariates=["monetary"], cost_per_send=0.01,
                           cost_per_redemption=1.0, weights={"control": 0.2, "email": 0.8})
    rows = {r["metric"]: r for r in out["results"]}
    assert set(rows) == {"converted", "revenue", "clicked", "opened", "unsubscribed"}
    parts = [g for _, g in sends.groupby("variant")]
    r2 = (sum((len(g) - 1) * np.cov(g.revenue, g.pre)[0, 1] for g in parts) ** 2
          / sum((len(g) - 1) * g.pre.var() for g in parts)
          / sum((len(g) - 1) * g.revenue.var() for g in parts))
    assert rows["revenue"]["variance_reduction"] == pytest.approx(r2, rel=1e-6)
    assert rows["converted"]["effect"] == pytest.approx(0.04, abs=0.03)
    assert out["srm_p_value"] > 0.001 and out["value"][0]["roi"] is not None
    assert len({p["day"] for p in out["curve"]}) == 5
    analyze_campaign(ctx, "spring", covariates=["monetary"])
    summary = analyze_campaigns(ctx)
    assert summary["analysed"] == ["spring"]
    with ctx.read() as con:
        assert con.execute("SELECT count(DISTINCT experiment_id), count(*) FROM "
                           "experiment_results").fetchone() == (1, 5)
    with pytest.raises(ConfigError, match=r"customer_360 has no column 'nope'"):
        analyze_campaign(ctx, "spring", covariates=["nope"])
    with pytest.raises(ConfigError, match=r"no sends of campaign 'autumn'"):
        analyze_campaign(ctx, "autumn")


def test_hillstrom_mens_email_visit_effect_reproduced(tmp_path: Path) -> None:
    path = shared_file("hillstrom/hillstrom.csv")
    out = analyze_file(ctx_of(tmp_path / "wh.duckdb"), path, "segment", "No E-Mail",
                       ["visit", "conversion", "spend"], covariates=[])
    rows = {(r["variant"], r["metric"]): r for r in out["results"]}
    visit = rows[("Mens E-Mail", "visit")]
    assert round(100 * visit["effect"], 2) == 7.66
    assert (round(100 * visit["ci_low"], 2), round(100 * visit["ci_high"], 2)) == (7.00, 8.32)
    women = rows[("Womens E-Mail", "visit")]
    assert round(100 * women["effect"], 2) == 4.52
    spend = rows[("Mens E-Mail", "spend")]
    assert (round(spend["effect"], 2), round(spend["ci_low"], 2),
            round(spend["ci_high"], 2)) == (0.77, 0.49, 1.05)
    adjusted = analyze_file(ctx_of(tmp_path / "wh.duckdb"), path, "segment", "No E-Mail",
                            ["visit", "spend"], covariates=["history", "recency", "newbie"])
    red = {r["metric"]: r["variance_reduction"] for r in adjusted["results"]}
    assert 0 < red["visit"] < 0.2 and 0 <= red["spend"] < 0.2
