"""``insightloop evaluate sendtime``: a backtest of send-time prediction on any history.

The last ``test_days`` of the file are held out. Each customer's hour is predicted from the
earlier events only (the empirical-Bayes profile; customers without earlier events get the
population's hour) and compared with the hours at which they engaged in the held-out
period, against three baselines: the population's most common hour, each customer's own
most common hour without shrinkage, and a seeded random hour. Metrics are per customer
(the share of their held-out events in the predicted hour, within one hour, and the mean
circular distance in hours), averaged over customers with a held-out event. Times are
used as they are in the file (local time, as Online Retail's invoices are).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, InputFileError
from insightloop.models import sendtime as model
from insightloop.services.results.engagement import SendTimeEvaluation
from insightloop.storage.user_table import read_user_table


def evaluate_sendtime_file(path: Path | str, customer: str, time: str, test_days: int = 90,
                           seed: int = 42) -> SendTimeEvaluation:
    """Hit rate, within-one-hour rate and mean absolute hour error of the prediction and
    of the baselines on the last ``test_days`` of the file."""
    if test_days < 1:
        raise ConfigError(f"--test-days {test_days}: give at least 1 day")
    frame = read_user_table(path, columns=[customer, time])
    ts = pd.to_datetime(frame[time], errors="coerce")
    bad = ts.isna() & frame[time].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(f"{path}: row {row + 2}, column {time!r}: "
                             f"{str(frame[time].iloc[row])[:40]!r} is not a date-time")
    data = pd.DataFrame({"customer": frame[customer].astype("string").str.strip(),
                         "ts": ts}).dropna().drop_duplicates()
    if data.empty:
        raise InputFileError(f"{path}: no row has both {customer!r} and {time!r}")
    split = data["ts"].max() - pd.Timedelta(days=test_days)
    train, test = data[data["ts"] <= split], data[data["ts"] > split]
    if train.empty or test.empty:
        raise ConfigError(f"--test-days {test_days} leaves no events on one side of "
                          f"{split} ({data['ts'].min()} to {data['ts'].max()})")
    ids = pd.Index(test["customer"].unique())
    tr = train[train["customer"].isin(ids)]
    counts = model.counts_matrix(ids.get_indexer(tr["customer"]),
                                 tr["ts"].dt.hour.to_numpy(), len(ids))
    # The population profile comes from every customer's earlier events.
    population = model.counts_matrix(np.zeros(len(train), dtype=np.int64),
                                     train["ts"].dt.hour.to_numpy(), 1)[0]
    fitted = model.fit(np.vstack([counts, population - counts.sum(axis=0)]))
    eb = fitted.best[:-1]
    pop_hour = fitted.population_best
    own = np.where(counts.sum(axis=1) > 0, np.argmax(model.smooth(counts), axis=1), pop_hour)
    rng = np.random.default_rng(seed)
    guesses = {"model": eb, "own_mode": own, "population": np.full(len(ids), pop_hour),
               "random": rng.integers(0, model.HOURS, len(ids))}
    who = ids.get_indexer(test["customer"])
    actual = test["ts"].dt.hour.to_numpy()
    hit, near, err = {}, {}, {}
    for name, guess in guesses.items():  # four predictors, not customers
        dist = model.circular_distance(guess[who], actual)
        hit[name] = _mean(who, dist == 0, len(ids))
        near[name] = _mean(who, dist <= 1, len(ids))
        err[name] = _mean(who, dist, len(ids))
    return {"customers": len(ids), "train_events": len(train), "test_events": len(test),
            "split_time": str(split), "prior_strength": fitted.prior_strength,
            "hit_rate": hit, "within_1h": near, "mean_abs_hour_error": err,
            "population_hour": pop_hour, "seed": seed}


def _mean(who: np.ndarray, values: np.ndarray, n: int) -> float:
    return round(float(np.nanmean(model.per_customer_mean(who, values, n))), 4)
