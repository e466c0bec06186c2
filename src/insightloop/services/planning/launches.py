"""New-product ramp curves: weekly sales by weeks since launch, the median launch and each
new product against it (:func:`insightloop.models.planning.trends.ramp_index`).

A product counts as new when its first sale comes at least :data:`SETTLE_WEEKS` complete
weeks after the data starts (a product already selling then may be old) and it has been
on sale for at least :data:`MIN_WEEKS` weeks. Weeks are followed up to :data:`RAMP_WEEKS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insightloop.models.planning.trends import ramp_index
from insightloop.services.context import Context
from insightloop.services.planning.series import item_names, load_panel

SETTLE_WEEKS = 8
MIN_WEEKS = 4
RAMP_WEEKS = 26


def ramp_tables(ctx: Context, measure: str = "units", exclude: tuple[str, ...] | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``ramps`` (product_id, name, launch, weeks_observed, sales, index) and
    ``ramp_curve`` (week, median_sales, products)."""
    panel = load_panel(ctx, "product", measure, "W", exclude=exclude)
    y = panel.values
    weeks = y.shape[1]
    sold = y > 0
    launch = np.where(sold.any(axis=1), sold.argmax(axis=1), weeks)
    observed = np.minimum(weeks - launch, RAMP_WEEKS)
    new = (launch >= SETTLE_WEEKS) & (observed >= MIN_WEEKS)
    idx = launch[new, None] + np.arange(RAMP_WEEKS)[None, :]
    since = np.take_along_axis(y[new], np.minimum(idx, weeks - 1), axis=1)
    since = np.where(idx < weeks, since, 0.0)
    if not new.any():
        return (pd.DataFrame({"product_id": pd.Series(dtype="object"),
                              "name": pd.Series(dtype="object"),
                              "launch": pd.Series(dtype="datetime64[ns]"),
                              "weeks_observed": pd.Series(dtype="int64"),
                              "sales": pd.Series(dtype="float64"),
                              "index": pd.Series(dtype="float64")}),
                pd.DataFrame({"week": pd.Series(dtype="int64"),
                              "median_sales": pd.Series(dtype="float64"),
                              "products": pd.Series(dtype="int64")}))
    curve, index = ramp_index(since, observed[new])
    items = panel.items[new]
    ramps = pd.DataFrame({
        "product_id": items.astype(str), "name": item_names(ctx, "product", items),
        "launch": panel.periods[launch[new]].to_numpy(),
        "weeks_observed": observed[new].astype(np.int64),
        "sales": np.where(np.arange(RAMP_WEEKS)[None, :] < observed[new, None], since,
                          0.0).sum(axis=1),
        "index": index})
    counts = (np.arange(RAMP_WEEKS)[None, :] < observed[new, None]).sum(axis=0)
    curve_frame = pd.DataFrame({"week": np.arange(1, RAMP_WEEKS + 1), "median_sales": curve,
                                "products": counts.astype(np.int64)})
    return (ramps.sort_values("index", ascending=False, na_position="last"),
            curve_frame[curve_frame["products"] > 0])
