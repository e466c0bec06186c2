"""``insightloop evaluate forecast``: hold out the last periods of every series in a file.

The file is read with :func:`~insightloop.storage.user_table.read_user_table`. Rules
(``docs/forecasting.md``): rows of one series in one period are summed (transactions
become period totals; counted as ``duplicate_periods``); periods without a row are zero
(``gap_periods``), up to the file's last period for every series; a period whose net
total is negative (more returns than sales) is floored at zero (``negative_floored``);
when the times are not period labels (transactions) and the latest falls before the end
of its period, that incomplete period is left out (``dropped_last_period``);
a missing or non-numeric target, or a time that cannot be read, is an error naming the
line; series with fewer than ``horizon + 2`` periods are left out (``series_skipped``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from insightloop.errors import ConfigError, InputFileError, SchemaError
from insightloop.models.forecast.holdout import holdout
from insightloop.models.forecast.panel import period_freq
from insightloop.services.context import Context
from insightloop.services.forecast.covariates import SEP, bad_line, read_covariates, series_key
from insightloop.services.results.forecast import ForecastEvaluation
from insightloop.storage.user_table import read_user_table

__all__ = ["evaluate_forecast_file"]

def _series(path: Path, ids: Sequence[str], time: str, target: str
            ) -> tuple[pd.DataFrame, int]:
    if not ids:
        raise ConfigError("--id needs at least one column")
    cols = list(dict.fromkeys([*ids, time, target]))
    if len(cols) < len(ids) + 2:
        raise ConfigError(f"--time {time!r} and --target {target!r} must differ from each "
                          f"other and from --id {list(ids)}")
    frame = read_user_table(path, columns=cols, text_columns=[*ids, time])
    if frame.empty:
        raise InputFileError(f"{path}: no rows to forecast")
    raw_time = frame[time]
    ds = pd.to_datetime(raw_time, errors="coerce", format="mixed")
    bad_line(path, ds.isna().to_numpy(), time, raw_time, "not a date or time")
    raw_y = frame[target]
    y = pd.to_numeric(raw_y, errors="coerce")
    bad_line(path, y.isna().to_numpy(), target, raw_y, "not a number")
    for col in ids:
        bad_line(path, frame[col].isna().to_numpy(), col, frame[col], "missing id")
    long = pd.DataFrame({"unique_id": series_key(frame, ids), "ds": ds.dt.tz_localize(None)
                         if ds.dt.tz is not None else ds, "y": y.astype(float).to_numpy()})
    return long, len(frame)


def _drop_incomplete(long: pd.DataFrame, freq: str) -> tuple[pd.DataFrame, str | None]:
    """Leave out the last period when the file's times are not period labels and the
    latest one falls before that period's last day (a half week is not a collapse)."""
    if freq == "D":
        return long, None
    pfreq = period_freq(long["ds"], freq)
    period = long["ds"].dt.to_period(pfreq)
    labelled = bool((period.dt.start_time == long["ds"]).all())
    last = period.max()
    if labelled or long["ds"].max().normalize() >= last.end_time.normalize():
        return long, None
    return long[period < last].reset_index(drop=True), str(last.start_time.date())


def _floor(long: pd.DataFrame, freq: str) -> tuple[pd.DataFrame, int]:
    """Net per series and period; negative nets floored at zero (returns)."""
    if not (long["y"] < 0).any():
        return long, 0
    period = long["ds"].dt.to_period(period_freq(long["ds"], freq))
    net = long.groupby([long["unique_id"], period])["y"].transform("sum")
    negative = net < 0
    first = ~long.assign(p=period).duplicated(["unique_id", "p"])
    floored = int((negative & first).sum())
    out = long.copy()
    # a negative period keeps one row holding 0: its lines are replaced by their floored net
    out.loc[negative, "y"] = 0.0
    return out, floored


def _write(out: pd.DataFrame, dest: Path) -> None:
    """Write atomically (a temporary file renamed over ``dest``): CSV, or Parquet by suffix."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if dest.suffix.lower() == ".parquet":
            out.to_parquet(tmp, index=False)
        else:
            out.to_csv(tmp, index=False)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def evaluate_forecast_file(ctx: Context, data: Path | str, ids: Sequence[str], time: str,
                           target: str, horizon: int, freq: str = "W", model: str = "auto",
                           season_length: int | None = None, output: Path | str | None = None,
                           windows: int = 3, loss: str = "mae",
                           covariates: Path | str | None = None) -> ForecastEvaluation:
    """Hold out the last ``horizon`` periods of every series in ``data`` and score them;
    ``covariates``: a file of known inputs per series and period (``covariates.py``) that
    covers the held-out periods too."""
    path = Path(data)
    if horizon < 1:
        raise ConfigError(f"--horizon must be at least 1, got {horizon}")
    if freq not in ("D", "W", "M"):
        raise ConfigError(f"--freq {freq!r} is not supported: use D, W or M")
    long, rows = _series(path, ids, time, target)
    long, dropped = _drop_incomplete(long, freq)
    long, floored = _floor(long, freq)
    cov = read_covariates(covariates, ids, time) if covariates is not None else None
    try:
        result, out = holdout(long, horizon, freq, model=model, season_length=season_length,
                              windows=windows, loss=loss, covariates=cov)
    except SchemaError as exc:
        if cov is None:
            raise
        raise InputFileError(f"{covariates}: {str(exc).replace(SEP, ',')}") from None
    if output is not None:
        parts = out["unique_id"].astype(str).str.split(SEP, expand=True, regex=False)
        frame = pd.DataFrame({col: parts[i] for i, col in enumerate(ids)})
        frame[time] = out["ds"].to_numpy()
        for col in ("mean", "lo-80", "hi-80", "actual", "model"):
            if col in out.columns:
                frame[col] = out[col].to_numpy()
        _write(frame, Path(output))
    return ForecastEvaluation(
        series=result["series"], horizon=horizon, mase=result["mase"], wape=result["wape"],
        smape=result["smape"], rmse=result["rmse"], coverage_80=result["coverage_80"],
        model=result["model"], seasonal_naive_mase=result["seasonal_naive_mase"],
        fit_seconds=result["fit_seconds"], season_length=result["season_length"],
        mase_lag=result["mase_lag"], series_skipped=result["series_skipped"],
        series_unscaled=result["series_unscaled"],
        duplicate_periods=result["duplicate_periods"], gap_periods=result["gap_periods"],
        negative_floored=floored, dropped_last_period=dropped, rows=rows,
        output=str(output) if output else None)
