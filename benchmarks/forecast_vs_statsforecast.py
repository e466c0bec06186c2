"""Benchmark: insightloop's forecaster against statsforecast AutoETS on the same series.

Run: ``OMP_NUM_THREADS=1 python benchmarks/forecast_vs_statsforecast.py [--data CSV]
[--horizon 8] [--generate N] [--cdnow]``. Prints one JSON object.

``--cdnow``: the CDNOW 1997Q1 cohort's weekly CD purchases (``../shared/data/cdnow``,
78 weeks), as 50 series of customer groups (``customer_id mod 50``: about 470 customers
each); nobody tuned anything on it. Its MASE scale and seasonal naive use lag 52 (the
training weeks are longer than a year).

Series: Online Retail product-weekly (``../shared/data/online_retail``; Monday weeks, the
first and last partial weeks left out, net quantity floored at 0, every product runs to the
last week) when present, else ``--generate N`` simulated weekly series. The last
``--horizon`` weeks of every series are held out; both forecast them from the same
training weeks; MASE uses the same scale (in-sample lag-1 MAE of the training weeks, the
season of 52 being longer than the history). Each method runs in its own process (one
core, ``n_jobs=1``) so that its peak memory (max RSS) is its own; statsforecast's numba
compilation is timed apart (a warm-up on 2 series) and left out of its fit time. Series
with fewer than ``--min-train`` (10) training weeks are left out for both (statsforecast's
ETS refuses "tiny datasets"; its fallback is the naive forecast).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail"
        / "online_retail.csv")


def online_retail_weekly(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, usecols=["StockCode", "Quantity", "InvoiceDate"],
                     dtype={"StockCode": str})
    df["ds"] = pd.to_datetime(df["InvoiceDate"]).dt.to_period("W-SUN").dt.start_time
    df = df[(df["ds"] > df["ds"].min()) & (df["ds"] < df["ds"].max())]  # full weeks only
    w = df.groupby(["StockCode", "ds"], as_index=False)["Quantity"].sum()
    w.columns = ["unique_id", "ds", "y"]
    w["y"] = w["y"].clip(lower=0).astype(float)
    return w


CDNOW = DATA.parents[1] / "cdnow" / "CDNOW_master.txt"


def cdnow_weekly(path: Path, groups: int = 50) -> pd.DataFrame:
    df = pd.read_csv(path, sep=r"\s+", skiprows=1, names=["cid", "date", "cds", "usd"],
                     dtype={"date": str})
    df["ds"] = pd.to_datetime(df["date"], format="%Y%m%d").dt.to_period("W-SUN").dt.start_time
    df = df[(df["ds"] > df["ds"].min()) & (df["ds"] < df["ds"].max())]  # full weeks only
    df["unique_id"] = "g" + (df["cid"] % groups).astype(str)
    w = df.groupby(["unique_id", "ds"], as_index=False)["cds"].sum()
    w.columns = ["unique_id", "ds", "y"]
    w["y"] = w["y"].astype(float)
    return w


def generated(n: int, t: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    level = rng.gamma(1.0, 20.0, n)[:, None]
    trend = rng.normal(0, 0.01, n)[:, None] * np.arange(t)[None, :]
    y = rng.poisson(level * np.exp(trend))
    ds = pd.date_range("2022-01-03", periods=t, freq="7D")
    return pd.DataFrame({"unique_id": np.repeat(np.arange(n).astype(str), t),
                         "ds": np.tile(ds, n), "y": y.ravel().astype(float)})


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours(train: pd.DataFrame, h: int, q: Any) -> None:
    from insightloop.models.forecast import PanelForecaster

    t0 = time.perf_counter()
    fc = PanelForecaster("auto", horizon=h).fit(train, "W", 52)
    out = fc.forecast(h, (80,))
    q.put({"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb(), "out": out})


def _statsforecast(train: pd.DataFrame, h: int, q: Any) -> None:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive

    ids = train["unique_id"].unique()[:2]
    t0 = time.perf_counter()
    warm = StatsForecast(models=[AutoETS(season_length=1)], freq="W-MON", n_jobs=1)
    warm.forecast(df=train[train["unique_id"].isin(ids)], h=h, level=[80])
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sf = StatsForecast(models=[AutoETS(season_length=1)], freq="W-MON", n_jobs=1,
                       fallback_model=Naive())
    out = sf.forecast(df=train, h=h, level=[80]).reset_index()
    out = out.rename(columns={"AutoETS": "mean", "AutoETS-lo-80": "lo-80",
                              "AutoETS-hi-80": "hi-80"})
    q.put({"seconds": time.perf_counter() - t0, "compile_seconds": compile_s,
           "peak_mb": _peak_mb(), "out": out})


def _run(target: Any, train: pd.DataFrame, h: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=target, args=(train, h, q))
    proc.start()
    while True:
        try:
            res: dict[str, Any] = q.get(timeout=5)
            break
        except Exception:  # queue.Empty: give up when the child died without a result
            if not proc.is_alive():
                raise RuntimeError(f"{target.__name__} failed (exit {proc.exitcode})") from None
    proc.join()
    return res


def _score(out: pd.DataFrame, actual: pd.DataFrame, scale: pd.Series) -> dict[str, float]:
    m = out.merge(actual, on=["unique_id", "ds"], how="inner", validate="one_to_one")
    err = (m["y"] - m["mean"]).abs().groupby(m["unique_id"]).mean()
    mase = (err / scale.reindex(err.index)).dropna()
    return {"mase": round(float(mase.mean()), 4),
            "wape": round(float((m["y"] - m["mean"]).abs().sum() / m["y"].abs().sum()), 4),
            "coverage_80": round(float(((m["y"] >= m["lo-80"]) & (m["y"] <= m["hi-80"])).mean()),
                                 4),
            "points": len(m)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--horizon", type=int, default=8)
    ap.add_argument("--generate", type=int, default=0,
                    help="simulate this many series instead of reading Online Retail")
    ap.add_argument("--cdnow", action="store_true",
                    help="CDNOW weekly CDs by customer group instead of Online Retail")
    ap.add_argument("--min-train", type=int, default=10,
                    help="training weeks a series needs to be in the comparison")
    args = ap.parse_args()
    h = args.horizon
    if args.cdnow:
        source, long = "CDNOW weekly CDs, 50 customer groups", cdnow_weekly(CDNOW)
    elif args.generate or not args.data.exists():
        source, long = f"generated ({args.generate or 4000})", generated(args.generate or 4000)
    else:
        source, long = "Online Retail product-weekly", online_retail_weekly(args.data)
    # every series runs to the last week (zeros), as the warehouse series do
    from insightloop.models.forecast import to_panel
    from insightloop.models.forecast.holdout import long_frame

    panel = to_panel(long, "W", common_end=True)
    # statsforecast's ETS refuses very short series ("tiny datasets"): both get the series
    # with at least MIN_TRAIN training weeks
    panel = panel.subset(np.flatnonzero(panel.lengths >= h + args.min_train))
    full = long_frame(panel)
    last = full.groupby("unique_id")["ds"].transform("max")
    is_test = full["ds"] > last - pd.Timedelta(weeks=h)
    train, test = full[~is_test].reset_index(drop=True), full[is_test]
    lag = 52 if panel.y.shape[1] - h > 52 else 1  # lag 52 only with over a year of training
    ordered = train.sort_values(["unique_id", "ds"])
    diff = ordered.groupby("unique_id")["y"].diff(lag).abs()
    scale = diff.groupby(ordered["unique_id"]).mean()
    scale = scale[scale > 0]
    naive = train.sort_values("ds").groupby("unique_id").tail(1)[["unique_id", "y"]]
    naive_out = test[["unique_id", "ds"]].merge(naive.rename(columns={"y": "mean"}),
                                                on="unique_id")
    naive_out["lo-80"] = naive_out["hi-80"] = naive_out["mean"]
    snaive_out = test[["unique_id", "ds"]].copy()
    snaive_out["ds_back"] = snaive_out["ds"] - pd.Timedelta(weeks=lag)
    snaive_out = snaive_out.merge(
        train.rename(columns={"ds": "ds_back", "y": "mean"}), on=["unique_id", "ds_back"],
        how="left").fillna({"mean": 0.0})
    if lag == 1:  # lag 1: the last training week repeated
        snaive_out["mean"] = naive_out.set_index(["unique_id", "ds"]).loc[
            pd.MultiIndex.from_frame(snaive_out[["unique_id", "ds"]]), "mean"].to_numpy()
    snaive_out["lo-80"] = snaive_out["hi-80"] = snaive_out["mean"]
    ours = _run(_ours, train, h)
    sf = _run(_statsforecast, train, h)
    result = {
        "data": source, "series": int(panel.n), "horizon": h,
        "train_rows": len(train),
        "insightloop_auto": {**_score(ours["out"], test, scale),
                             "fit_seconds": round(ours["seconds"], 2),
                             "peak_mb": round(ours["peak_mb"])},
        "statsforecast_autoets": {**_score(sf["out"], test, scale),
                                  "fit_seconds": round(sf["seconds"], 2),
                                  "numba_compile_seconds": round(sf["compile_seconds"], 2),
                                  "peak_mb": round(sf["peak_mb"])},
        "naive_mase": _score(naive_out, test, scale)["mase"],
        "seasonal_naive_mase": _score(snaive_out.drop(columns="ds_back"), test, scale)["mase"],
        "mase_lag": lag,
    }
    result["speedup"] = round(sf["seconds"] / ours["seconds"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
