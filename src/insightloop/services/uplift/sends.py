"""The sends an uplift model is fitted on: point-in-time features and the outcome, in DuckDB.

Each customer's *first* send (one campaign, or all) is the experiment unit; its ``variant``
is the arm. Features come from the customer's orders *before* the send (recency, frequency,
monetary value, average order, tenure); the outcome from orders *after* it, within
``window_days``:

* ``conversion``: any order (0/1);
* ``revenue``: their net value;
* ``clv``: the customer's **predicted lifetime value at the end of the window**. The
  registered CLV model (``insightloop clv build``: a purchase model and Gamma-Gamma) is
  applied to each customer's purchase history up to that day (the ``clv`` build's
  conventions: orders netted per day, a day of returns only is not a purchase, weekly
  time, the first purchase day is the trial), so a contact that brings a purchase, or a
  larger one, shows as the value it adds over the model's horizon, not only within the
  window. A customer with no purchase by the window's end has a predicted value of 0.

Cancelled orders never count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import InputFileError, NotFoundError, WarehouseError
from insightloop.models.clv.lifetime_value import WEEK_DAYS, customer_lifetime_value
from insightloop.storage.sql import literal

OUTCOMES = ("conversion", "revenue", "clv")
FEATURES = ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_days")

_HISTORY = """
SELECT a.customer_id,
       date_diff('day', max(o.order_time), a.anchor_time)::DOUBLE AS recency_days,
       count(DISTINCT o.order_id)::DOUBLE AS frequency,
       coalesce(sum(o.quantity * o.unit_price), 0)::DOUBLE AS monetary,
       (coalesce(sum(o.quantity * o.unit_price), 0)
        / nullif(count(DISTINCT o.order_id), 0))::DOUBLE AS avg_order_value,
       date_diff('day', min(o.order_time), a.anchor_time)::DOUBLE AS tenure_days
FROM anchor a LEFT JOIN orders o
  ON o.customer_id = a.customer_id AND o.order_time < a.anchor_time
     AND coalesce(o.status, '') <> 'cancelled'
GROUP BY a.customer_id, a.anchor_time
"""

#: each customer's purchase summary at the end of the outcome window (lifetimes
#: convention, weeks): the CLV model's inputs
_CLV_SUMMARY = """
days AS (
  SELECT s.customer_id, date_trunc('day', o.order_time) AS day,
         sum(o.quantity * o.unit_price) AS net
  FROM first_send s JOIN orders o
    ON o.customer_id = s.customer_id AND o.order_time < s.anchor_time + INTERVAL {w} DAY
       AND (o.status IS NULL OR lower(o.status) <> 'cancelled')
  GROUP BY 1, 2 HAVING sum(o.quantity * o.unit_price) > 0),
after AS (
  SELECT s.customer_id,
         (count(d.day) - 1)::DOUBLE AS x,
         (date_diff('day', min(d.day), max(d.day)) / {unit})::DOUBLE AS t_x,
         (date_diff('day', min(d.day),
                    date_trunc('day', s.anchor_time + INTERVAL {w} DAY)) / {unit})::DOUBLE AS t,
         ((sum(d.net) - arg_min(d.net, d.day)) / nullif(count(d.day) - 1, 0))::DOUBLE AS m
  FROM first_send s LEFT JOIN days d USING (customer_id)
  GROUP BY s.customer_id, s.anchor_time)"""


def sends_frame(con: Any, campaign_id: str | None, window_days: int, outcome: str
                ) -> pd.DataFrame:
    """One row per customer sent to: ``customer_id, variant``, :data:`FEATURES` and the
    outcome ``y``; for ``clv`` the purchase summary ``x, t_x, t, m`` instead of ``y``
    (:func:`clv_outcome` turns it into the outcome)."""
    where = f"AND campaign_id = {literal(campaign_id)}" if campaign_id else ""
    w = int(window_days)
    if outcome == "clv":
        after = _CLV_SUMMARY.format(w=w, unit=WEEK_DAYS)
        columns = "a.x, a.t_x, a.t, a.m"
    else:
        value = ("(count(DISTINCT o.order_id) > 0)::DOUBLE" if outcome == "conversion"
                 else "coalesce(sum(o.quantity * o.unit_price), 0)::DOUBLE")
        after = f"""
    after AS (
      SELECT s.customer_id, {value} AS y FROM first_send s LEFT JOIN orders o
        ON o.customer_id = s.customer_id AND o.order_time >= s.anchor_time
           AND o.order_time < s.anchor_time + INTERVAL {w} DAY
           AND coalesce(o.status, '') <> 'cancelled'
      GROUP BY s.customer_id)"""
        columns = "a.y"
    sql = f"""
    WITH first_send AS (
      SELECT customer_id, variant, send_time AS anchor_time FROM sends
      WHERE customer_id IS NOT NULL {where}
      QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY send_time, send_id) = 1),
    anchor AS (SELECT customer_id, anchor_time FROM first_send),
    history AS ({_HISTORY}),
    {after.strip()}
    SELECT s.customer_id, s.variant, h.* EXCLUDE (customer_id), {columns}
    FROM first_send s JOIN history h USING (customer_id) JOIN after a USING (customer_id)
    ORDER BY s.customer_id"""
    return con.execute(sql).df()


def clv_outcome(frame: pd.DataFrame, models: Any, horizon_months: int = 12,
                discount_rate: float = 0.01) -> np.ndarray:
    """Predicted CLV at the end of each customer's outcome window from the summary columns
    of :func:`sends_frame` and the registered CLV model (``models``: the registry's
    ``load``): 0 for a customer with no purchase by then."""
    try:
        fitted, meta = models.load("clv")
    except (NotFoundError, InputFileError) as exc:
        raise WarehouseError(f"outcome 'clv' needs a CLV model: run `insightloop clv build` "
                             f"first ({exc})") from None
    if not isinstance(fitted, dict) or not {"purchase", "spend"} <= set(fitted):
        raise WarehouseError(f"model clv:v{meta.get('version')} is not a purchase + spend "
                             "model; rebuild it with `insightloop clv build`")
    y = np.zeros(len(frame))
    bought = frame["x"].to_numpy(np.float64) >= 0  # x = -1: no purchase day by then
    if bought.any():
        part = frame.loc[bought]
        x = part["x"].to_numpy(np.float64)
        y[bought] = customer_lifetime_value(
            fitted["purchase"], fitted["spend"], x, part["t_x"].to_numpy(np.float64),
            part["t"].to_numpy(np.float64), part["m"].fillna(0.0).to_numpy(np.float64),
            horizon_months, discount_rate, WEEK_DAYS)
    return y


def customers_now(con: Any) -> pd.DataFrame:
    """Every customer with an order or a send, with :data:`FEATURES` as of just after the
    last order in the warehouse (what the fitted model scores)."""
    sql = f"""
    WITH anchor AS (
      SELECT customer_id,
             (SELECT max(order_time) FROM orders) + INTERVAL 1 SECOND AS anchor_time
      FROM (SELECT customer_id FROM orders WHERE customer_id IS NOT NULL
            UNION SELECT customer_id FROM sends WHERE customer_id IS NOT NULL))
    {_HISTORY} ORDER BY a.customer_id"""
    return con.execute(sql).df()
