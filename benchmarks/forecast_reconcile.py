"""Benchmark: hierarchical reconciliation on Online Retail (bottom level + total).

Run: ``OMP_NUM_THREADS=1 python benchmarks/forecast_reconcile.py [--level StockCode|Country]
[--horizon 8]``. Prints one JSON object: the MAE of the total and the mean MASE of the bottom
series over the held-out weeks, for the base forecasts (``auto``, fitted per level), bottom-up
and MinT-shrink. Weeks, returns and gaps as in ``forecast_vs_statsforecast.py``.

``coverage_80``: the share of held-out weeks inside the reconciled 80 % intervals, for the
bottom series and the total, two ways: ``shifted`` (the base interval moved with the
reconciled mean, the old way) and ``paths`` (quantiles of 200 reconciled sample paths per
series, independent across series) and ``paths_schaake`` (the same paths made to move
together as the series did in their last 52 training weeks: what ``forecast build
--reconcile`` does now).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insightloop.models.forecast import PanelForecaster, to_panel
from insightloop.models.forecast.holdout import long_frame
from insightloop.models.forecast.metrics import mase_scale
from insightloop.models.forecast.reconcile import (
    bottom_up,
    history_template,
    min_trace,
    path_intervals,
    reconcile_paths,
    schaake,
)

DATA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail"
        / "online_retail.csv")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--level", default="StockCode")
    ap.add_argument("--horizon", type=int, default=8)
    ap.add_argument("--loss", default="mae", help="mae | mse: the choice of the models")
    args = ap.parse_args()
    h = args.horizon
    df = pd.read_csv(args.data, usecols=[args.level, "Quantity", "InvoiceDate"],
                     dtype={args.level: str})
    df["ds"] = pd.to_datetime(df["InvoiceDate"]).dt.to_period("W-SUN").dt.start_time
    df = df[(df["ds"] > df["ds"].min()) & (df["ds"] < df["ds"].max())]
    w = df.groupby([args.level, "ds"], as_index=False)["Quantity"].sum()
    w.columns = ["unique_id", "ds", "y"]
    w["y"] = w["y"].clip(lower=0).astype(float)
    panel = to_panel(w, "W", common_end=True)
    panel = panel.subset(np.flatnonzero(panel.lengths >= h + 2))
    bottom_y = np.nan_to_num(panel.y)
    total = pd.DataFrame({"unique_id": "total", "ds": panel.history_dates()[0],
                          "y": bottom_y.sum(axis=0)})
    train_b, train_t = panel.head(h), to_panel(total, "W").head(h)
    actual_b, actual_t = bottom_y[:, -h:], bottom_y.sum(axis=0)[-h:]
    t0 = time.perf_counter()
    fb = PanelForecaster("auto", horizon=h, loss=args.loss).fit(long_frame(train_b), "W", 52,
                                                                common_end=True)
    ft = PanelForecaster("auto", horizon=h, loss=args.loss).fit(long_frame(train_t), "W", 52)
    base = np.vstack([ft.point(h), fb.point(h)])
    agg = sp.csr_matrix(np.ones((1, panel.n)))
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    mint = min_trace(base, agg, np.vstack([ft.residuals, fb.residuals]))
    mint_s = time.perf_counter() - t0
    bu = bottom_up(base[1:], agg)
    scale = mase_scale(train_b.y, 1)
    ok = ~np.isnan(scale)

    def score(stacked: np.ndarray) -> dict[str, float]:
        mase = np.abs(stacked[1:] - actual_b).mean(axis=1)[ok] / scale[ok]
        return {"total_mae": round(float(np.abs(stacked[0] - actual_t).mean()), 1),
                "bottom_mase": round(float(mase.mean()), 4)}

    resid = np.vstack([ft.residuals, fb.residuals])
    lo_b = np.vstack([ft.forecast(h)["lo-80"].to_numpy().reshape(1, h),
                      fb.forecast(h)["lo-80"].to_numpy().reshape(-1, h)])
    hi_b = np.vstack([ft.forecast(h)["hi-80"].to_numpy().reshape(1, h),
                      fb.forecast(h)["hi-80"].to_numpy().reshape(-1, h)])
    paths = np.concatenate([ft.sample_paths(h, 200, seed=1), fb.sample_paths(h, 200, seed=2)])
    width = min(train_t.y.shape[1], train_b.y.shape[1])
    hist = np.vstack([train_t.y[:, -width:], train_b.y[:, -width:]])
    joint = schaake(paths, history_template(hist, 200, h, seed=3))
    actual = np.vstack([actual_t[None, :], actual_b])

    def cover(lo: np.ndarray, hi: np.ndarray) -> dict[str, float]:
        inside = (actual >= lo) & (actual <= hi)
        return {"bottom": round(float(inside[1:].mean()), 4),
                "total": round(float(inside[0].mean()), 4),
                "total_width": round(float((hi[0] - lo[0]).mean()), 1)}

    coverage = {"base": cover(lo_b, hi_b)}
    for name, rec in (("bottom_up", bu), ("mint", bottom_up(np.maximum(mint[1:], 0), agg))):
        shift = rec - base
        band = path_intervals(reconcile_paths(paths, agg, name, resid, nonneg=True))
        tied = path_intervals(reconcile_paths(joint, agg, name, resid, nonneg=True))
        coverage[name] = {
            "shifted": cover(np.maximum(lo_b + shift, 0), np.maximum(hi_b + shift, 0)),
            "paths": cover(np.minimum(band["lo-80"], rec), np.maximum(band["hi-80"], rec)),
            "paths_schaake": cover(np.minimum(tied["lo-80"], rec),
                                   np.maximum(tied["hi-80"], rec))}

    print(json.dumps({"level": args.level, "loss": args.loss, "series": int(panel.n), "horizon": h,
                      "coverage_80": coverage,
                      "base": score(base), "bottom_up": score(bu), "mint_shrink": score(mint),
                      "mint_nonneg_bottom_up": score(bottom_up(np.maximum(mint[1:], 0), agg)),
                      "fit_seconds": round(fit_s, 2), "mint_seconds": round(mint_s, 3)}))


if __name__ == "__main__":
    main()
