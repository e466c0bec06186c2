"""Benchmark: price as a known input on Online Retail's weekly product series.

Run: ``OMP_NUM_THREADS=1 python benchmarks/forecast_covariates.py [--horizon 8]``. Prints
one JSON object: the holdout (last ``--horizon`` weeks of every product) of the global
LightGBM model and of ``auto``, each with and without the weekly price as a known input.

Weeks, returns and gaps as in ``forecast_vs_statsforecast.py``. A product's price in a week
is its average unit price over that week's sales lines (revenue over units, lines with a
positive quantity and price); a week without sales carries the last price forward (the
first weeks take the first price). The held-out weeks get their *realised* prices: the
planned price a retailer knows in advance, which this data does not record separately.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from insightloop.models.forecast import to_panel
from insightloop.models.forecast.holdout import holdout

DATA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail"
        / "online_retail.csv")


def weekly(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.read_csv(path, usecols=["StockCode", "Quantity", "InvoiceDate", "UnitPrice"],
                     dtype={"StockCode": str})
    df["ds"] = pd.to_datetime(df["InvoiceDate"]).dt.to_period("W-SUN").dt.start_time
    df = df[(df["ds"] > df["ds"].min()) & (df["ds"] < df["ds"].max())]  # full weeks only
    sales = df.groupby(["StockCode", "ds"], as_index=False)["Quantity"].sum()
    sales.columns = ["unique_id", "ds", "y"]
    sales["y"] = sales["y"].clip(lower=0).astype(float)
    sold = df[(df["Quantity"] > 0) & (df["UnitPrice"] > 0)].assign(
        revenue=lambda f: f["Quantity"] * f["UnitPrice"])
    price = sold.groupby(["StockCode", "ds"])[["revenue", "Quantity"]].sum()
    price = (price["revenue"] / price["Quantity"]).rename("price")
    panel = to_panel(sales, "W", common_end=True)
    dates = pd.DatetimeIndex(panel.history_dates()[0])
    grid = price.unstack("ds").reindex(index=panel.ids, columns=dates)
    grid = grid.ffill(axis=1).bfill(axis=1).fillna(1.0)  # never priced: a constant
    cov = pd.DataFrame({"unique_id": np.repeat(panel.ids, len(dates)),
                        "ds": np.tile(dates, panel.n), "price": grid.to_numpy().ravel()})
    return sales, cov


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--horizon", type=int, default=8)
    args = ap.parse_args()
    sales, cov = weekly(args.data)
    out: dict[str, object] = {"data": "Online Retail product-weekly", "horizon": args.horizon}
    for model in ("gbm", "auto"):
        for name, c in (("without_price", None), ("with_price", cov)):
            res, _ = holdout(sales, args.horizon, "W", model=model, covariates=c)
            out[f"{model}_{name}"] = {k: (round(v, 4) if isinstance(v, float) else v)
                                      for k, v in res.items()
                                      if k in ("series", "mase", "seasonal_naive_mase",
                                               "coverage_80", "wape", "fit_seconds", "model")}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
