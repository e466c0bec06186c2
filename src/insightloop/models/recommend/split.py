"""Train/test splitters over a long interaction frame (columns user, item[, weight, time]).

* ``stratified`` — the Microsoft Recommenders protocol: each user's interactions are
  shuffled with the seed and the first ``round((1 - test_ratio) * n)`` go to training
  (users with one interaction stay in training only);
* ``temporal`` — a global time cut: the last ``test_ratio`` share of interactions by time
  is the test set;
* ``leave-last`` — each user's latest interaction (ties broken by row order) is the test
  set, for users with at least two.

All are vectorised (group ranks), deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError

SPLITS = ("stratified", "temporal", "leave-last")


def split_interactions(frame: pd.DataFrame, how: str = "stratified", test_ratio: float = 0.25,
                       seed: int = 42, time: str = "time") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into ``(train, test)``; see the module docstring for the rules."""
    if how not in SPLITS:
        raise ConfigError(f"unknown split {how!r}; choose one of {list(SPLITS)}")
    if not 0.0 < test_ratio < 1.0:
        raise ConfigError(f"test ratio must be in (0, 1), got {test_ratio}")
    frame = frame.reset_index(drop=True)
    if how == "stratified":
        rng = np.random.default_rng(seed)
        key = rng.random(len(frame))
        order = pd.DataFrame({"u": frame["user"].to_numpy(), "k": key})
        pos = order.groupby("u", sort=False)["k"].rank(method="first").to_numpy() - 1
        size = order.groupby("u", sort=False)["k"].transform("size").to_numpy()
        test = pos >= np.round((1.0 - test_ratio) * size)
    else:
        if time not in frame:
            raise ConfigError(f"split {how!r} needs a time column (--time)")
        t = frame[time]
        if how == "temporal":
            cut = t.quantile(1.0 - test_ratio, interpolation="lower")
            test = (t > cut).to_numpy()
            if not test.any():
                test = (t >= cut).to_numpy()
        else:
            order = pd.DataFrame({"u": frame["user"].to_numpy(), "t": t.to_numpy(),
                                  "r": np.arange(len(frame))})
            last = order.sort_values(["u", "t", "r"]).groupby("u", sort=False).tail(1)
            size = order.groupby("u")["r"].transform("size").to_numpy()
            test = np.zeros(len(frame), dtype=bool)
            test[last["r"].to_numpy()] = True
            test &= size >= 2
    return frame.loc[~test].reset_index(drop=True), frame.loc[test].reset_index(drop=True)
