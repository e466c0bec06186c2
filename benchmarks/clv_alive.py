"""Benchmark: does 1 - P(alive) rank "no order in the next 90 days" on Online Retail?

Run: ``python benchmarks/clv_alive.py [--data PATH] [--as-of 2011-09-01]``. Prints one JSON
object: the ROC AUC of 1 - P(alive) of the model chosen on the calibration period (family
and dropout prior) against the customers who placed no order in the 90 days after the
as-of date, beside the plain maximum-likelihood fits (the previous behaviour), the
recency-only and frequency-only baselines, the reference library (lifetimes, when
installed) and P(alive) on the full data. Purchases as ``clv build`` counts them: days
with a positive net amount (cancellations excluded), weekly time unit.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insightloop.models.clv import (
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    summary_from_transactions,
)
from insightloop.models.clv.diagnostics import degenerate_reasons, roc_auc
from insightloop.models.clv.selection import select_purchase_model

DATA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail"
        / "online_retail.csv")


def purchase_days(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(days with a positive net amount per customer, purchase lines) from the raw export."""
    raw = pd.read_csv(path, usecols=["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice",
                                     "CustomerID"], dtype={"InvoiceNo": str})
    raw = raw[raw["CustomerID"].notna() & ~raw["InvoiceNo"].str.upper().str.startswith("C")]
    raw = raw.assign(customer=raw["CustomerID"].astype(np.int64).astype(str),
                     time=pd.to_datetime(raw["InvoiceDate"]),
                     net=raw["Quantity"] * raw["UnitPrice"])
    days = (raw.assign(day=raw["time"].dt.floor("D"))
            .groupby(["customer", "day"], as_index=False)["net"].sum())
    return days[days["net"] > 0], raw[raw["Quantity"] > 0]


def _alive_auc(model: Any, summ: pd.DataFrame, churned: np.ndarray) -> float | None:
    alive = model.probability_alive(summ["frequency"], summ["recency"], summ["T"])
    return roc_auc(churned, 1.0 - np.asarray(alive))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--as-of", default="2011-09-01")
    ap.add_argument("--horizon-days", type=int, default=90)
    args = ap.parse_args()
    as_of = pd.Timestamp(args.as_of)
    days, lines = purchase_days(args.data)
    cal = days[days["day"] < as_of]
    summ = summary_from_transactions(cal, "customer", "day", "net", as_of, time_unit_days=7.0)
    end = as_of + pd.Timedelta(days=args.horizon_days)
    future = set(lines.loc[(lines["time"] >= as_of) & (lines["time"] < end), "customer"])
    churned = (~summ.index.isin(future)).astype(np.float64)
    x, t_x, t_big = (summ[c].to_numpy(np.float64) for c in ("frequency", "recency", "T"))

    t0 = time.perf_counter()
    sel = select_purchase_model(cal, "customer", "day", as_of, full_summary=summ,
                                time_unit_days=7.0)
    fit_s = time.perf_counter() - t0
    alive = np.asarray(sel.model.probability_alive(x, t_x, t_big))
    out: dict[str, Any] = {
        "as_of": as_of.date().isoformat(), "customers": len(summ),
        "churn_rate": float(churned.mean()),
        "chosen": {"model": sel.name, "dropout_prior": sel.prior, "reason": sel.reason,
                   "warnings": sel.warnings, "summary": sel.model.summary(),
                   "validation_auc": sel.validation_auc,
                   "validation_loglik": sel.validation_loglik,
                   "select_and_fit_seconds": fit_s},
        "auc_1_minus_p_alive": roc_auc(churned, 1.0 - alive),
        "auc_recency_only": roc_auc(churned, (t_big - t_x)),
        "auc_frequency_only": roc_auc(churned, -x),
        "p_alive_mean": float(alive.mean()),
        "p_alive_quantiles": dict(zip(("5%", "25%", "50%", "75%", "95%"),
                                      np.quantile(alive, [.05, .25, .5, .75, .95]).round(4)
                                      .tolist(), strict=True)),
    }
    plain: dict[str, Any] = {}
    for name, cls in (("bgnbd", BetaGeoModel), ("mbgnbd", ModifiedBetaGeoModel),
                      ("paretonbd", ParetoNBDModel)):
        t0 = time.perf_counter()
        try:
            m = cls().fit(x, t_x, t_big)
        except Exception as exc:  # a benchmark reports every failure
            plain[name] = {"error": str(exc)}
            continue
        plain[name] = {"params": m.params_, "auc": _alive_auc(m, summ, churned),
                       "degenerate": degenerate_reasons(m, x, t_x, t_big, 7.0),
                       "fit_seconds": time.perf_counter() - t0}
    out["plain_mle_before"] = plain
    out["lifetimes"] = _lifetimes(x, t_x, t_big, churned)
    whole = summary_from_transactions(days, "customer", "day", "net", days["day"].max(),
                                      time_unit_days=7.0)
    sel_all = select_purchase_model(days, "customer", "day", days["day"].max(),
                                    full_summary=whole, time_unit_days=7.0)
    alive_all = np.asarray(sel_all.model.probability_alive(
        whole["frequency"], whole["recency"], whole["T"]))
    out["full_data"] = {"as_of": days["day"].max().date().isoformat(), "model": sel_all.name,
                        "dropout_prior": sel_all.prior, "p_alive_mean": float(alive_all.mean()),
                        "p_alive_quantiles": np.quantile(alive_all, [.05, .25, .5, .75, .95])
                        .round(4).tolist()}
    print(json.dumps(out, indent=1, default=float))


def _lifetimes(x: np.ndarray, t_x: np.ndarray, t_big: np.ndarray, churned: np.ndarray
               ) -> dict[str, Any]:
    try:
        import lifetimes  # the reference library, when installed
    except ImportError:
        return {"error": "lifetimes is not installed"}
    ref: dict[str, Any] = {}
    for name in ("BetaGeoFitter", "ModifiedBetaGeoFitter", "ParetoNBDFitter"):
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # it prints its optimiser state
                m = getattr(lifetimes, name)().fit(x, t_x, t_big)
            alive = m.conditional_probability_alive(x, t_x, t_big)
            ref[name] = {"params": {k: float(v) for k, v in m.params_.items()},
                         "auc": roc_auc(churned, 1.0 - np.asarray(alive))}
        except Exception as exc:  # the reference refusing is a result
            ref[name] = {"error": " ".join(str(exc).split())[:160]}
    return ref


if __name__ == "__main__":
    main()
