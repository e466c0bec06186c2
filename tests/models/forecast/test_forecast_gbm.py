"""The global LightGBM model: learns a campaign lift from known future inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insightloop.models.forecast import PanelForecaster


def test_gbm_uses_known_future_campaign_weeks() -> None:
    rng = np.random.default_rng(0)
    n, t, h = 60, 80, 8
    ds = pd.date_range("2021-01-04", periods=t + h, freq="7D")
    campaign = (rng.random(t + h) < 0.25).astype(float)
    campaign[t:t + h] = [1, 0, 0, 1, 0, 1, 0, 0]
    level = rng.uniform(10, 40, n)[:, None]
    y = rng.poisson(level * (1 + 1.5 * campaign[None, :])).astype(float)
    frame = pd.DataFrame({"unique_id": np.repeat(np.arange(n), t), "ds": np.tile(ds[:t], n),
                          "y": y[:, :t].ravel()})
    inputs = pd.DataFrame({"campaign_days": campaign * 7}, index=ds)
    truth = y[:, t:]
    with_inputs = PanelForecaster("gbm", horizon=h, windows=1).fit(frame, "W", 52,
                                                                   inputs=inputs).point(h)
    without = PanelForecaster("gbm", horizon=h, windows=1).fit(frame, "W", 52).point(h)
    err_with = np.abs(with_inputs - truth).mean()
    err_without = np.abs(without - truth).mean()
    assert err_with < 0.6 * err_without
    lifted = with_inputs[:, [0, 3, 5]].mean() / with_inputs[:, [1, 2]].mean()
    assert 2.0 < lifted < 3.0  # the true lift is 2.5
