"""CLV services: backtest a purchase model on any transaction file; build the ``clv`` table.

Thin orchestration over :mod:`insightloop.models.clv`: file reading and
warehouse I/O live here, the statistics live in the models.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import InputFileError, ModelFitError, SchemaError, WarehouseError
from insightloop.models.clv.data import summary_from_transactions
from insightloop.models.clv.diagnostics import roc_auc
from insightloop.models.clv.gamma_gamma import GammaGammaModel
from insightloop.models.clv.lifetime_value import WEEK_DAYS, customer_lifetime_value
from insightloop.models.clv.selection import (
    CANDIDATES,
    PRIOR_GRID,
    Selection,
    select_purchase_model,
)
from insightloop.services.context import Context
from insightloop.services.profiles import refresh_customer_360
from insightloop.services.results import ClvBacktest, ClvBuilt
from insightloop.storage.lake import is_lake
from insightloop.storage.user_table import day_first, read_user_table
from insightloop.storage.warehouse import has_table, write_frame

MODELS = ("auto", *CANDIDATES)
#: the fitted purchase + spend models are registered under this name (metadata: the
#: choice, its reason, warnings and the parameters with standard errors)
MODEL_NAME = "clv"


def _select(df: pd.DataFrame, customer_col: str, time_col: str, cal: pd.Timestamp,
            summ: pd.DataFrame, model: str, dropout_prior: float | str | None) -> Selection:
    """The purchase model: ``model`` "auto" or a family; ``dropout_prior`` "auto" (chosen
    on the calibration period), a number, or None ("auto" for model "auto", else 0: the
    plain maximum-likelihood fit of the family asked for). A degenerate fit is refused."""
    families, priors = _grid(model, dropout_prior)
    try:
        return select_purchase_model(df, customer_col, time_col, cal, full_summary=summ,
                                     candidates=families, priors=priors,
                                     time_unit_days=WEEK_DAYS)
    except ModelFitError as exc:
        raise _hint(exc, families, priors) from None


def _grid(model: str, dropout_prior: float | str | None
          ) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The purchase model families and dropout priors to choose from (see :func:`_select`)."""
    if model not in MODELS:
        raise SchemaError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    prior = dropout_prior if dropout_prior is not None else ("auto" if model == "auto" else 0.0)
    if prior == "auto":
        priors = PRIOR_GRID
    else:
        try:
            priors = (float(prior),)
        except ValueError:
            raise SchemaError(f"dropout prior must be 'auto' or a number >= 0, got {prior!r}"
                              ) from None
        if not np.isfinite(priors[0]) or priors[0] < 0:
            raise SchemaError(f"dropout prior must be 'auto' or a number >= 0, got {prior!r}")
    return (tuple(CANDIDATES) if model == "auto" else (model,)), priors


def _hint(exc: ModelFitError, families: tuple[str, ...], priors: tuple[float, ...]
          ) -> ModelFitError:
    """``exc``, with the options to try when the choice was narrowed."""
    if families == tuple(CANDIDATES) and priors == PRIOR_GRID:
        return exc
    return ModelFitError(f"{exc}; try --model auto --dropout-prior auto")


# -- file reading ----------------------------------------------------------------------------
def read_transactions(path: Path | str, columns: list[str], *, sep: str | None = None,
                      time_col: str | None = None, date_format: str | None = None
                      ) -> pd.DataFrame:
    """Read a transaction file (CSV/TSV, whitespace-separated, JSON lines, Parquet; see
    :func:`~insightloop.storage.user_table.read_user_table`): only ``columns``.

    ``sep`` None sniffs the delimiter (``,`` ``;`` tab ``|`` or whitespace);
    "whitespace" (or ``\\s+``) reads whitespace-separated files like CDNOW.
    The time column is read as text and parsed with ``date_format`` (e.g. ``%Y%m%d``)
    when given; without it, ``nn/nn/yyyy`` dates are read day-first or month-first as
    the values decide, and refused when none does
    (:func:`~insightloop.storage.user_table.day_first`).
    """
    p = Path(path)
    df = read_user_table(p, columns=columns, delimiter=sep,
                         text_columns=[time_col] if time_col else ())
    if time_col:
        raw = df[time_col]
        try:
            dayfirst = date_format is None and day_first(raw, p, time_col)
            parsed = pd.to_datetime(raw.astype(str).str.strip() if raw.dtype == object else raw,
                                    format=date_format, errors="coerce", dayfirst=dayfirst)
        except (ValueError, TypeError) as exc:
            raise InputFileError(f"cannot parse {time_col!r} in {p}: {exc}") from None
        bad = parsed.isna() & raw.notna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFileError(
                f"{int(bad.sum())} values of {time_col!r} in {p} are not dates "
                f"(first: {raw.iloc[first]!r} at data row {first + 1})"
                + ("" if date_format else "; pass --date-format, e.g. %Y%m%d")
            )
        df[time_col] = parsed
    return df


# -- backtest ------------------------------------------------------------------------------
def evaluate_clv_frame(
    df: pd.DataFrame,
    customer_col: str,
    time_col: str,
    amount_col: str | None,
    calibration_end: Any,
    holdout_end: Any = None,
    model: str = "auto",
    dropout_prior: float | str | None = None,
) -> ClvBacktest:
    """Backtest on a parsed transaction frame (see :func:`evaluate_clv_file`)."""
    if model not in MODELS:
        raise SchemaError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    no_customer = df[customer_col].isna().to_numpy()
    if no_customer.all():
        raise ValueError(f"all {len(df):,} rows lack a {customer_col!r}: nothing to fit")
    df = df[~no_customer]
    times = pd.to_datetime(df[time_col])
    cal = pd.Timestamp(calibration_end)
    if holdout_end is None:
        # A default holdout runs to the last transaction: a future-dated row (a typo, a
        # timezone slip) would silently stretch it, so refuse and say where it is.
        future = (times > pd.Timestamp.now()).to_numpy()
        if future.any():
            first = int(np.flatnonzero(future)[0])
            raise ValueError(
                f"{int(future.sum())} transactions are dated in the future (first: "
                f"{times.iloc[first]} at data row {first + 1}); fix them or pass --holdout-end"
            )
    last = times.max().floor("D")
    hold = pd.Timestamp(holdout_end) if holdout_end is not None else last
    if cal >= last:
        raise ValueError(f"calibration_end {cal.date()} leaves no holdout: the last "
                         f"transaction is on {last.date()}")
    summ = summary_from_transactions(df, customer_col, time_col, amount_col, cal, hold,
                                     time_unit_days=WEEK_DAYS)
    horizon = float(summ["duration_holdout"].iloc[0])
    x, t_x, t_big = summ["frequency"], summ["recency"], summ["T"]
    sel = _select(df, customer_col, time_col, cal, summ, model, dropout_prior)
    fitted = sel.model
    pred = np.asarray(fitted.expected_purchases(horizon, x, t_x, t_big), dtype=np.float64)
    alive = np.asarray(fitted.probability_alive(x, t_x, t_big), dtype=np.float64)
    actual = summ["frequency_holdout"].to_numpy(np.float64)
    t_arr = t_big.to_numpy(np.float64)
    rate = np.divide(x.to_numpy(np.float64), t_arr, out=np.zeros_like(t_arr), where=t_arr > 0)
    naive = rate * horizon
    err = pred - actual
    corr = float(np.corrcoef(pred, actual)[0, 1]) if pred.std() > 0 and actual.std() > 0 else 0.0
    silent = actual == 0  # no repeat purchase in the holdout
    return {
        "customers": len(summ),
        "rows_without_customer": int(no_customer.sum()),
        "actual_total": float(actual.sum()),
        "predicted_total": float(pred.sum()),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "corr": corr,
        "naive_mae": float(np.mean(np.abs(naive - actual))),
        "predicted_vs_actual_pct": float(100.0 * (pred.sum() / actual.sum() - 1.0))
        if actual.sum() > 0 else None,
        "model": sel.name,
        "params": {k: float(v) for k, v in fitted.params_.items()},
        "param_summary": fitted.summary(),
        "dropout_prior": sel.prior,
        "selection": sel.reason,
        "warnings": sel.warnings,
        "validation_mae": sel.validation_mae,
        "validation_auc": sel.validation_auc,
        "validation_loglik": sel.validation_loglik,
        "holdout_no_purchase_share": float(silent.mean()),
        "p_alive_auc": roc_auc(silent, 1.0 - alive),
        "recency_auc": roc_auc(silent, t_arr - t_x.to_numpy(np.float64)),
        "frequency_auc": roc_auc(silent, -x.to_numpy(np.float64)),
        "calibration_end": cal.date().isoformat(),
        "holdout_end": hold.date().isoformat(),
        "holdout_weeks": horizon,
    }


def evaluate_clv_file(
    path: Path | str,
    customer_col: str,
    time_col: str,
    amount_col: str | None,
    calibration_end: Any,
    holdout_end: Any = None,
    model: str = "auto",
    *,
    sep: str | None = None,
    date_format: str | None = None,
    dropout_prior: float | str | None = None,
) -> ClvBacktest:
    """Fit on transactions up to ``calibration_end``; score repeat purchases in the holdout.

    Holdout purchases are repeat transaction days in ``(calibration_end,
    holdout_end]`` of customers first seen by ``calibration_end``; the default
    ``holdout_end`` is the last date in the file. ``model="auto"`` chooses the
    family (MBG/NBD, BG/NBD, Pareto/NBD) and the strength of the prior on its dropout
    parameters by validation inside the calibration period
    (:mod:`insightloop.models.clv.selection`); a named family is fitted by plain maximum
    likelihood unless ``dropout_prior`` is given ("auto" or a number). A degenerate fit
    is refused (:class:`~insightloop.errors.ModelFitError`). ``naive_mae`` extrapolates
    each customer's calibration rate ``frequency / T`` over the holdout; ``p_alive_auc``
    is the ROC AUC of 1 - P(alive) for "no repeat purchase in the holdout", beside the
    recency-only (``recency_auc``) and frequency-only (``frequency_auc``) rankings. Rows
    without a customer id are dropped and counted (``rows_without_customer``). Time
    unit: weeks.
    """
    cols = [customer_col, time_col] + ([amount_col] if amount_col else [])
    df = read_transactions(path, cols, sep=sep, time_col=time_col, date_format=date_format)
    try:
        return evaluate_clv_frame(df, customer_col, time_col, amount_col, calibration_end,
                                  holdout_end, model, dropout_prior)
    except SchemaError:
        raise
    except ValueError as exc:
        if isinstance(exc, ModelFitError):
            raise
        raise InputFileError(f"{path}: {exc}") from None


# -- warehouse table ------------------------------------------------------------------------
_ORDERS_SQL = """
SELECT customer_id, CAST(date_trunc('day', order_time) AS TIMESTAMP) AS day,
       SUM(quantity * unit_price) AS net
FROM orders
WHERE customer_id IS NOT NULL
  AND (status IS NULL OR lower(status) <> 'cancelled')
  AND order_time <= ?
GROUP BY 1, 2
"""


def _fit_with_fallback(make: Any, *args: Any) -> Any:
    try:
        return make(0.0).fit(*args)
    except ModelFitError:
        return make(0.01).fit(*args)


def build_clv(
    ctx: Context,
    as_of: Any = None,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    model: str = "auto",
    dropout_prior: float | str | None = None,
) -> ClvBuilt:
    """Fit the purchase model + Gamma-Gamma on ``orders`` and write table ``clv``.

    Orders: known customer, status not cancelled, amounts netted per customer
    per day (``quantity * unit_price``, returns are negative lines); a day whose
    net is <= 0 (only returns) is not a purchase: the models count purchase *days*.
    ``as_of`` (default: the last order time) ends the calibration period; later orders
    are ignored. ``model`` "auto" (default) chooses the family (MBG/NBD, BG/NBD,
    Pareto/NBD) and the strength of the prior on its dropout parameters on the
    calibration period (:mod:`insightloop.models.clv.selection`); a named family is
    fitted by plain maximum likelihood unless ``dropout_prior`` is given. A degenerate
    fit (nobody drops out, customers silent for a year still "alive") is refused with
    the reason. The result records the model chosen, why, warnings, and the
    parameters with standard errors. Weekly time unit; monthly ``discount_rate``. The
    table is replaced in one transaction. Customers with no repeat purchase get the
    population mean spend. The warehouse is the context's (its memory limit and
    read-only flag hold).
    """
    wh = ctx.warehouse
    if model not in MODELS:
        raise SchemaError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if ctx.engine.is_spark and is_lake(ctx.settings.warehouse):
        # lazy: pyspark (the optional [spark] extra) only for engine 'spark' over a lake
        from insightloop.services.spark import clv as spark_clv

        families, priors = _grid(model, dropout_prior)
        try:
            return spark_clv.build_clv(ctx, as_of, horizon_months, discount_rate,
                                       families=families, priors=priors)
        except ModelFitError as exc:
            raise _hint(exc, families, priors) from None
    with wh.connect(read_only=isinstance(wh.path, Path)) as con:
        if not has_table(con, "orders"):
            raise WarehouseError(f"warehouse {wh.path} has no orders table; ingest orders first")
        if as_of is None:
            row = con.execute("SELECT max(order_time) FROM orders WHERE customer_id IS NOT NULL"
                              ).fetchone()
            if row is None or row[0] is None:
                raise WarehouseError(f"warehouse {wh.path} has no orders with a customer_id")
            cutoff = pd.Timestamp(row[0])
        else:
            cutoff = pd.Timestamp(as_of)
        daily = con.execute(_ORDERS_SQL, [cutoff.to_pydatetime()]).df()
    daily = daily[daily["net"] > 0]
    if daily.empty:
        raise WarehouseError(f"no completed customer orders on or before {cutoff} in {wh.path}")
    summ = summary_from_transactions(daily, "customer_id", "day", "net", cutoff.floor("D"),
                                     time_unit_days=WEEK_DAYS)
    x, t_x, t_big, m = summ["frequency"], summ["recency"], summ["T"], summ["monetary_value"]
    sel = _select(daily, "customer_id", "day", cutoff.floor("D"), summ, model, dropout_prior)
    purchase, chosen = sel.model, sel.name
    spend = _fit_with_fallback(lambda pen: GammaGammaModel(penalizer=pen), x, m)
    if spend.q_ <= 1:
        spend = GammaGammaModel(penalizer=0.01).fit(x, m)
    p_alive = purchase.probability_alive(x, t_x, t_big)
    weeks = horizon_months * 365.25 / 12.0 / WEEK_DAYS
    expected = purchase.expected_purchases(weeks, x, t_x, t_big)
    value = spend.conditional_expected_average_profit(x, m)
    clv = customer_lifetime_value(purchase, spend, x, t_x, t_big, m, horizon_months,
                                  discount_rate, WEEK_DAYS)
    fitted_at = datetime.now().replace(microsecond=0)
    exp_col = f"expected_purchases_{horizon_months}m"
    frame = pd.DataFrame({
        "customer_id": summ.index.astype(str),
        "frequency": x.to_numpy(np.int64),
        "recency": t_x.to_numpy(np.float64),
        "T": t_big.to_numpy(np.float64),
        "monetary_value": m.to_numpy(np.float64),
        "p_alive": p_alive,
        exp_col: expected,
        "expected_avg_value": value,
        "clv": clv,
        "model": f"{chosen}+gamma_gamma",
        "fitted_at": pd.Timestamp(fitted_at),
    })
    with wh.transaction() as con:
        write_frame(con, "clv", frame, replace=True)
        refresh_customer_360(con)
    p_summary, s_summary = purchase.summary(), spend.summary()
    info = ctx.models.save(MODEL_NAME, {"purchase": purchase, "spend": spend}, {
        "task": "clv", "model": f"{chosen}+gamma_gamma", "as_of": cutoff.isoformat(),
        "metrics": {"rows": len(frame)}, "purchase_summary": p_summary,
        "dropout_prior": sel.prior, "selection": sel.reason, "warnings": sel.warnings,
        "validation_auc": sel.validation_auc, "validation_loglik": sel.validation_loglik,
        "p_alive_mean": float(np.mean(p_alive)),
        "spend_summary": s_summary})
    return {
        "table": "clv",
        "customers": len(frame),
        "repeat_buyers": int((x > 0).sum()),
        "as_of": cutoff.isoformat(),
        "model": f"{chosen}+gamma_gamma",
        "purchase_params": {k: float(v) for k, v in purchase.params_.items()},
        "spend_params": {k: float(v) for k, v in spend.params_.items()},
        "purchase_summary": p_summary,
        "dropout_prior": sel.prior,
        "selection": sel.reason,
        "warnings": sel.warnings,
        "validation_auc": sel.validation_auc,
        "validation_loglik": sel.validation_loglik,
        "p_alive_mean": float(np.mean(p_alive)),
        "spend_summary": s_summary,
        "model_ref": f"{MODEL_NAME}:v{info['version']}",
        "horizon_months": horizon_months,
        "discount_rate": discount_rate,
        "expected_purchases_column": exp_col,
        "total_clv": float(np.sum(clv)),
        "mean_clv": float(np.mean(clv)),
        "median_clv": float(np.median(clv)),
        "fitted_at": fitted_at.isoformat(),
    }
