"""Benchmark: a campaign of N synthetic exposures (default 10M) analysed inside DuckDB
(``analyze_campaign``: per-arm and daily sufficient statistics, every effect, Bayes, SRM,
the monitoring curve) against a pandas/scipy reference on the same rows, in one run.

Run: ``python benchmarks/experiments_speed.py [--rows 10000000] [--memory-limit 4GB]``.
Prints one JSON object: seconds for each side, the ratio, peak memory, and the largest
difference between the two sides' p-values and effects.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from insightloop.services.context import Context
from insightloop.services.experiments import analyze_campaign
from insightloop.settings import Settings

ARMS = ("control", "email", "sms")
METRICS = ("converted", "revenue", "clicked", "opened")


def _make(ctx: Context, rows: int) -> None:
    with ctx.warehouse.transaction() as con:
        con.execute(f"""
            INSERT INTO sends (send_id, campaign_id, customer_id, variant, send_time, opened,
                               clicked, converted, revenue)
            SELECT 's' || i, 'bench', 'c' || i,
                   CASE WHEN u < 0.2 THEN 'control' WHEN u < 0.6 THEN 'email' ELSE 'sms' END,
                   TIMESTAMP '2026-03-01' + INTERVAL (i % 14) DAY,
                   random() < 0.35, random() < 0.08, c, CASE WHEN c THEN 5 + 60 * random()
                   ELSE 0 END
            FROM (SELECT i, random() AS u, random() < 0.05 + 0.01 * (i % 3) AS c
                  FROM range({rows}) t(i))""")


def _reference(ctx: Context) -> tuple[dict[tuple[str, str], tuple[float, float]], float]:
    """pandas + scipy on the same rows: Welch per metric and arm, the chi-square SRM."""
    with ctx.read() as con:
        frame = con.execute("SELECT variant, " + ", ".join(
            f"CAST({m} AS DOUBLE) AS {m}" for m in METRICS)
            + " FROM sends WHERE campaign_id = 'bench'").df()
    groups = {a: g for a, g in frame.groupby("variant")}
    out = {}
    for arm in ARMS[1:]:
        for m in METRICS:
            x1, x0 = groups[arm][m].to_numpy(), groups["control"][m].to_numpy()
            t = stats.ttest_ind(x1, x0, equal_var=False)
            out[(arm, m)] = (float(x1.mean() - x0.mean()), float(t.pvalue))
    sizes = np.array([len(groups[a]) for a in ARMS])
    srm = stats.chisquare(sizes, sizes.sum() * np.array([0.2, 0.4, 0.4]))
    return out, float(srm.pvalue)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--memory-limit", default="4GB")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(warehouse=Path(tmp) / "wh.duckdb",
                                 env={"INSIGHTLOOP_MEMORY_LIMIT": args.memory_limit})
        ctx = Context.from_settings(settings)
        t0 = time.perf_counter()
        _make(ctx, args.rows)
        made = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = analyze_campaign(ctx, "bench", metrics=list(METRICS), guardrails=(),
                               weights={"control": 0.2, "email": 0.4, "sms": 0.4}, store=False)
        duck = time.perf_counter() - t0
        duck_peak = _peak_mb()
        print(f"generated in {made:.1f} s, analysed in DuckDB in {duck:.2f} s", file=sys.stderr)
        t0 = time.perf_counter()
        ref, srm_p = _reference(ctx)
        pandas_s = time.perf_counter() - t0
        ours = {(r["variant"], r["metric"]): r for r in res["results"]}
        effect_diff = max(abs(ours[k]["effect"] - v[0]) for k, v in ref.items())
        # proportions use the z test (n, not n - 1): compare the means' Welch p-values only
        p_diff = max(abs(ours[k]["p_value"] - v[1]) for k, v in ref.items() if k[1] == "revenue")
    out: dict[str, Any] = {
        "rows": args.rows, "generate_s": round(made, 2), "duckdb_s": round(duck, 2),
        "pandas_scipy_s": round(pandas_s, 2), "ratio": round(pandas_s / duck, 2),
        "peak_rss_mb_after_duckdb": round(duck_peak), "peak_rss_mb_after_pandas":
        round(_peak_mb()), "max_effect_diff": effect_diff, "max_revenue_p_diff": p_diff,
        "srm_p_ours": res["srm_p_value"], "srm_p_scipy": srm_p,
        "days_in_curve": len({p["day"] for p in res["curve"]}),
        "memory_limit": args.memory_limit}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
