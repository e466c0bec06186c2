"""The forecaster contract and its implementation: per-series model choice by rolling-origin
validation on history only, a median ensemble, and conformal intervals.

``PanelForecaster(model).fit(frame, freq, season_length)`` then ``forecast(h, levels)`` gives
``unique_id, ds, mean, lo-80, hi-80, ..., model`` and ``sample_paths(h, n)`` gives
``(series, n, h)`` simulated future paths (for lead-time demand quantiles: sum a path over
the lead time).

How it works (``docs/forecasting.md``):

1. **Rolling origin.** The last ``windows`` blocks of ``horizon`` periods are each held
   out in turn; every candidate model is fitted on the periods before the block and
   forecasts it. Only history is used.
2. **Choice.** The ensemble is the mean of the three non-naive candidates with the lowest
   mean scaled validation error over all series. ``model="auto"`` picks, per series, the
   candidate or the ensemble with the lowest mean scaled validation error over the series of
   its demand pattern (``selection="pattern"``, the default; ``"series"``: its own error
   only, noisier; ``"blend"``: the sum of both); a series too short to validate gets the
   option that is best over all series.
3. **Intervals.** The chosen model's validation errors, divided by the series' scale (the
   in-sample seasonal-naive MAE, times ``sqrt(0.5 + 0.5 forecast / recent level)``: count-
   like noise grows with the forecast), are pooled over the series of the same demand pattern
   (ADI/CV² class; all series when a class has fewer than 50 errors) per horizon step; an
   interval is the forecast plus the scale times the pooled error quantiles (split
   conformal). Steps past the validated horizon widen with the square root of the step.
4. **Sample paths** redraw whole validation error vectors (so errors stay correlated
   across steps), rescaled to the series, added to the forecast.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Protocol, Self

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, ModelFitError, NotFittedError
from insightloop.models.forecast.covariates import align, require_future
from insightloop.models.forecast.gbm import gbm
from insightloop.models.forecast.intermittent import adida, croston, demand_pattern, sba, tsb
from insightloop.models.forecast.methods import (
    ets,
    naive,
    seasonal_level,
    seasonal_naive,
    theta,
    window_average,
    window_median,
)
from insightloop.models.forecast.metrics import mase_scale
from insightloop.models.forecast.panel import SEASON, Panel, to_panel

__all__ = ["AUTO_CANDIDATES", "DEFAULT_HORIZON", "MODELS", "Forecaster", "PanelForecaster",
           "forecast"]

ModelFn = Callable[[Panel, int, int], np.ndarray]


def _local(fn: Callable[[np.ndarray, int, int], np.ndarray]) -> ModelFn:
    return lambda panel, h, m: fn(panel.y, h, m)


MODELS: dict[str, ModelFn] = {
    "naive": _local(naive),
    "seasonal_naive": _local(seasonal_naive),
    "window_average": _local(window_average),
    "window_median": _local(window_median),
    "seasonal_level": _local(seasonal_level),
    "ets": _local(ets),
    "theta": _local(theta),
    "croston": _local(croston),
    "sba": _local(sba),
    "tsb": _local(tsb),
    "adida": _local(adida),
    "gbm": gbm,
}
#: the global LightGBM model is not a default candidate: on Online Retail weekly products its
#: validation MASE was 2.9 against 1.25 for the window average, at 10x the fit time
#: (docs/forecasting.md); ask for it with model="gbm" or candidates=(..., "gbm").
AUTO_CANDIDATES = ("seasonal_naive", "seasonal_level", "window_average", "window_median", "ets",
                   "theta", "sba", "tsb", "adida")
_NAIVE = frozenset({"naive", "seasonal_naive"})
_MEDIAN = frozenset({"window_median"})
ENSEMBLE = "ensemble"
DEFAULT_HORIZON = {"D": 14, "W": 8, "M": 6}
MIN_SERIES_GBM = 20  # a global model needs many series
_MIN_POOL = 50
SELECTIONS = ("series", "pattern", "blend")


class Forecaster(Protocol):
    """What every forecaster offers (``PanelForecaster`` is the implementation)."""

    def fit(self, y: pd.DataFrame, freq: str, season_length: int | None = None) -> Self:
        """Fit on a long frame ``unique_id, ds, y``."""
        ...

    def forecast(self, h: int, levels: Sequence[int] = (80,)) -> pd.DataFrame:
        """``unique_id, ds, mean, lo-<level>, hi-<level>, ..., model`` for ``h`` periods."""
        ...

    def sample_paths(self, h: int, n: int, seed: int = 0) -> np.ndarray:
        """``(series, n, h)`` simulated future paths, series in ``ids`` order."""
        ...


class PanelForecaster:
    """Forecast many series at once with one model, a median ensemble or ``"auto"``."""

    def __init__(self, model: str = "auto", *, horizon: int | None = None, windows: int = 3,
                 candidates: Sequence[str] | None = None, selection: str = "pattern",
                 ensemble_size: int = 3, loss: str = "mae") -> None:
        if model not in (*MODELS, ENSEMBLE, "auto"):
            raise ConfigError(f"unknown forecast model {model!r}: use auto, {ENSEMBLE} or one "
                              f"of {', '.join(MODELS)}")
        if windows < 1:
            raise ConfigError(f"windows must be at least 1, got {windows}")
        if selection not in SELECTIONS:
            raise ConfigError(f"unknown selection {selection!r}: use {', '.join(SELECTIONS)}")
        self.selection = selection
        self.ensemble_size = ensemble_size
        if loss not in ("mae", "mse"):
            raise ConfigError(f"unknown loss {loss!r}: use mae or mse")
        self.loss = loss
        self.model = model
        self.horizon = horizon
        self.windows = windows
        self.candidates = tuple(candidates or AUTO_CANDIDATES)
        unknown = [c for c in self.candidates if c not in MODELS]
        if unknown:
            raise ConfigError(f"unknown candidate model(s) {unknown}: use {', '.join(MODELS)}")
        self._panel: Panel | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, y: pd.DataFrame, freq: str, season_length: int | None = None,
            horizon: int | None = None, common_end: bool = False,
            inputs: pd.DataFrame | None = None, covariates: pd.DataFrame | None = None
            ) -> Self:
        """Fit on ``y`` (``unique_id, ds, y``); ``inputs`` are known inputs per period
        (index: period starts covering history and future), ``covariates`` known inputs per
        series and period (``unique_id, ds, price, ...``: ``covariates.py``; they must
        cover the periods forecast later); both are used by the global model, which
        ``auto`` then tries too."""
        panel = to_panel(y, freq, common_end=common_end)
        panel.inputs = inputs
        if covariates is not None:
            panel.covariates = align(covariates, panel.pfreq)
            if self.horizon:  # fail before fitting when the known future is incomplete
                require_future(panel.covariates, panel.ids,
                               panel.dates(np.arange(1, self.horizon + 1)))
        self.freq = freq
        self.m = int(season_length if season_length is not None else SEASON[freq])
        if self.m < 1:
            raise ConfigError(f"season_length must be at least 1, got {self.m}")
        hcv = int(horizon or self.horizon or DEFAULT_HORIZON[freq])
        if hcv < 1:
            raise ConfigError(f"horizon must be at least 1, got {hcv}")
        self.hcv = hcv
        longest = int(panel.lengths.max())
        if longest < hcv + 2:
            raise ConfigError(
                f"the longest series has {longest} periods: rolling-origin validation needs at "
                f"least horizon + 2 = {hcv + 2}; use a shorter horizon or a finer frequency")
        names = self._names(panel)
        preds, actual = self._validate(panel, names)
        scale = mase_scale(panel.y, self.m)
        fallback = np.nanmean(np.abs(panel.y), axis=1)
        scale = np.where(np.isnan(scale), np.where(fallback > 0, fallback, 1.0), scale)
        self.members = self._members(preds, actual, scale)
        if self.members:
            preds[ENSEMBLE] = np.mean(np.stack([preds[k] for k in self.members]), axis=0)
        errors = {k: actual - v for k, v in preds.items()}
        options = list(errors)
        self.pattern = demand_pattern(panel.y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # series without a window: NaN
            mae = np.stack([self._loss(errors[k]) for k in options], axis=1) / scale[:, None]
            overall = np.nanmean(mae, axis=0)
        best_overall = int(np.nanargmin(overall)) if np.isfinite(overall).any() else 0
        if self.model == "auto":
            choice = self._choose(mae, best_overall)
        else:
            choice = np.full(panel.n, options.index(self.model if self.model in options
                                                    else ENSEMBLE))
        self.options = options
        self.choice = choice
        rows = np.arange(panel.n)
        chosen_err = np.stack([errors[k] for k in options], axis=0)[choice, rows]
        chosen_pred = np.stack([preds[k] for k in options], axis=0)[choice, rows]
        self.scale = scale
        recent = np.nanmean(np.abs(panel.y[:, -26:]), axis=1)
        self.level = np.where(np.isfinite(recent) & (recent > 0), recent, 1.0)
        self.raw_errors = chosen_err
        self.bank = chosen_err / self._spread(chosen_pred, rows)
        self.nonneg = bool(np.nanmin(panel.y) >= 0)
        # mean scaled validation error of each option (MASE; scaled RMSE with loss="mse")
        self.validation_mase = {k: float(v) for k, v in zip(options, overall, strict=True)}
        self._panel = panel
        return self

    def _choose(self, mae: np.ndarray, best_overall: int) -> np.ndarray:
        """Per series: its demand pattern's mean validation error ("pattern", the default:
        one series' few windows are a noisy guide), its own ("series") or both ("blend")."""
        group = np.zeros_like(mae)
        for c in np.unique(self.pattern):  # five patterns at most
            rows = self.pattern == c
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                group[rows] = np.nanmean(mae[rows], axis=0)
        if self.selection == "series":
            score = mae
        elif self.selection == "pattern":
            score = group
        else:
            score = np.where(np.isnan(mae), np.nan, mae + group)
        score = np.where(np.isnan(score), np.inf, score)
        return np.where(np.isfinite(score).any(axis=1), np.argmin(score, axis=1), best_overall)

    def _loss(self, err: np.ndarray) -> np.ndarray:
        """Per-series validation loss: mean absolute error, or root mean squared error."""
        if self.loss == "mse":
            return np.sqrt(np.nanmean(err * err, axis=(1, 2)))
        return np.nanmean(np.abs(err), axis=(1, 2))

    def _members(self, preds: dict[str, np.ndarray], actual: np.ndarray, scale: np.ndarray
                 ) -> list[str]:
        """The ensemble: the ``ensemble_size`` non-naive candidates with the lowest mean
        scaled validation error over all series (chosen on history only)."""
        if self.model not in ("auto", ENSEMBLE):
            return []
        names = [k for k in preds if k not in _NAIVE]
        if len(names) < 2:
            return []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            score = [float(np.nanmean(self._loss(actual - preds[k]) / scale)) for k in names]
        order = np.argsort(np.where(np.isfinite(score), score, np.inf), kind="stable")
        return [names[i] for i in order[:self.ensemble_size]]

    def _names(self, panel: Panel) -> list[str]:
        if self.model not in ("auto", ENSEMBLE):
            return [self.model]
        names = list(self.candidates)
        if panel.covariates is not None and "gbm" not in names:
            names.append("gbm")  # the model that uses the per-series known inputs
        if panel.n < MIN_SERIES_GBM and "gbm" in names:
            names.remove("gbm")
        if self.loss == "mse":  # mean forecasts only: a median of sparse demand is mostly 0
            names = [k for k in names if k not in _MEDIAN]
        return names

    def _validate(self, panel: Panel, names: list[str]
                  ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Rolling-origin forecasts ``(n, windows, hcv)`` per model, and the actuals."""
        h, t = self.hcv, panel.y.shape[1]
        windows = [w for w in range(1, self.windows + 1) if t - w * h >= 2]
        shape = (panel.n, len(windows), h)
        actual = np.full(shape, np.nan)
        preds = {k: np.full(shape, np.nan) for k in names}
        for i, w in enumerate(windows):
            cut = w * h
            train = panel.head(cut)
            actual[:, i, :] = panel.y[:, t - cut:t - cut + h]
            rows = np.flatnonzero(train.lengths >= 2)
            if rows.size == 0:
                continue
            sub = train.subset(rows)
            for k in names:
                preds[k][rows, i, :] = MODELS[k](sub, h, self.m)
        return preds, actual

    # ------------------------------------------------------------- forecast
    def _fitted(self) -> Panel:
        if self._panel is None:
            raise NotFittedError("PanelForecaster is not fitted: call fit(frame, freq) first")
        return self._panel

    @property
    def ids(self) -> np.ndarray:
        """The series, in the order of ``sample_paths`` rows."""
        return self._fitted().ids

    @property
    def chosen(self) -> pd.Series:
        """The model chosen for each series."""
        return pd.Series(np.asarray(self.options, dtype=object)[self.choice],
                         index=self._fitted().ids, name="model")

    def _spread(self, mean: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
        """Error scale of a forecast: the series' scale, growing with the square root of the
        forecast relative to the series' recent level (count-like noise: a peak-season
        forecast is less certain in units than an off-season one)."""
        shape = (-1,) + (1,) * (mean.ndim - 1)
        rel = np.maximum(np.nan_to_num(mean), 0.0) / self.level[rows].reshape(shape)
        return self.scale[rows].reshape(shape) * np.sqrt(0.5 + 0.5 * rel)

    @property
    def history(self) -> np.ndarray:
        """``(n, T)`` the fitted series, right-aligned (NaN before a series starts)."""
        return self._fitted().y

    @property
    def residuals(self) -> np.ndarray:
        """``(n, windows * horizon)`` validation errors of each series' chosen model (NaN
        where a series was too short for a window), in ``ids`` order."""
        return self.raw_errors.reshape(self._fitted().n, -1)

    def point(self, h: int) -> np.ndarray:
        """``(n, h)`` point forecasts of each series' chosen model."""
        panel = self._fitted()
        if h < 1:
            raise ConfigError(f"horizon must be at least 1, got {h}")
        if panel.covariates is not None:
            require_future(panel.covariates, panel.ids, panel.dates(np.arange(1, h + 1)))
        needed = {self.options[c] for c in np.unique(self.choice)}
        if ENSEMBLE in needed:
            needed |= set(self.members)
        fc = {k: MODELS[k](panel, h, self.m) for k in needed if k != ENSEMBLE}
        if ENSEMBLE in needed:
            fc[ENSEMBLE] = np.mean(np.stack([fc[k] for k in self.members]), axis=0)
        out = np.empty((panel.n, h))
        for c in np.unique(self.choice):
            rows = self.choice == c
            out[rows] = fc[self.options[c]][rows]
        return np.maximum(out, 0.0) if self.nonneg else out

    def _pools(self) -> dict[str, np.ndarray]:
        """Scaled validation error vectors (rows without NaN) per demand pattern."""
        flat = self.bank.reshape(-1, self.hcv)
        cls = np.repeat(self.pattern, self.bank.shape[1])
        complete = ~np.isnan(flat).any(axis=1)
        pools = {"*": flat[complete]}
        if pools["*"].shape[0] == 0:
            raise ModelFitError("no series is long enough for a validation window: intervals "
                                "need at least horizon + 2 periods of history")
        for c in np.unique(cls):
            rows = complete & (cls == c)
            if rows.sum() >= _MIN_POOL:
                pools[str(c)] = flat[rows]
        return pools

    def _pool_of(self, pools: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray([c if c in pools else "*" for c in self.pattern], dtype=object)

    def forecast(self, h: int, levels: Sequence[int] = (80,)) -> pd.DataFrame:
        panel = self._fitted()
        bad = [lv for lv in levels if not 0 < lv < 100]
        if bad:
            raise ConfigError(f"interval levels must be between 0 and 100, got {bad}")
        mean = self.point(h)
        pools = self._pools()
        which = self._pool_of(pools)
        steps = np.minimum(np.arange(h), self.hcv - 1)
        widen = np.sqrt(np.maximum(np.arange(1, h + 1) / self.hcv, 1.0))
        values: dict[str, np.ndarray] = {"mean": mean}
        for lv in levels:
            lo = np.empty((panel.n, h))
            hi = np.empty((panel.n, h))
            tail = (100 - lv) / 200
            for key, pool in pools.items():
                rows = which == key
                if not rows.any():
                    continue
                q = np.quantile(pool, [tail, 1 - tail], axis=0, method="higher")
                spread = self._spread(mean[rows], rows) * widen
                lo[rows] = mean[rows] + spread * q[0][steps]
                hi[rows] = mean[rows] + spread * q[1][steps]
            if self.nonneg:
                lo, hi = np.maximum(lo, 0.0), np.maximum(hi, 0.0)
            values[f"lo-{lv}"] = np.minimum(lo, mean)
            values[f"hi-{lv}"] = np.maximum(hi, mean)
        out = panel.frame(values, h)
        out["model"] = np.repeat(self.chosen.to_numpy(), h)
        return out

    def sample_paths(self, h: int, n: int, seed: int = 0) -> np.ndarray:
        panel = self._fitted()
        if n < 1:
            raise ConfigError(f"the number of paths must be at least 1, got {n}")
        mean = self.point(h)
        pools = self._pools()
        which = self._pool_of(pools)
        rng = np.random.default_rng(seed)
        blocks = -(-h // self.hcv)
        out = np.empty((panel.n, n, h))
        for key, pool in pools.items():
            rows = np.flatnonzero(which == key)
            if rows.size == 0:
                continue
            pick = rng.integers(0, pool.shape[0], size=(rows.size, n, blocks))
            err = pool[pick].reshape(rows.size, n, blocks * self.hcv)[:, :, :h]
            out[rows] = mean[rows, None, :] + self._spread(mean[rows], rows)[:, None, :] * err
        return np.maximum(out, 0.0) if self.nonneg else out


def forecast(y: pd.DataFrame, h: int, freq: str, model: str = "auto",
             season_length: int | None = None, levels: Sequence[int] = (80,)) -> pd.DataFrame:
    """Fit ``model`` on ``y`` (``unique_id, ds, y``) and forecast ``h`` periods."""
    return PanelForecaster(model, horizon=h).fit(y, freq, season_length).forecast(h, levels)
