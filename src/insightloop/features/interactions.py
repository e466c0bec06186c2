"""User-item interactions for recommendation: a compact sparse matrix plus id maps.

Two ways in:

* :func:`interactions_from_frame` turns any (user, item[, weight][, time]) frame into
  :class:`Interactions` (ids of any type become strings; duplicate pairs are summed);
* :func:`warehouse_interactions_sql` is the DuckDB query that derives weighted
  (customer_id, product_id) pairs from the warehouse tables ``orders`` (purchases:
  ``quantity > 0``, status not ``cancelled``, known customer — quarantined rows never reach
  ``orders``), ``events`` (``purchase`` > ``cart`` > ``view`` ..., weights configurable)
  and ``reviews`` (star ratings, when present), with optional exponential time decay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insightloop.errors import ModelFitError, SchemaError

#: default weight of one interaction by kind (events use their ``event_type``).
DEFAULT_WEIGHTS: dict[str, float] = {
    "order": 1.0, "purchase": 1.0, "cart": 0.5, "wishlist": 0.4, "click": 0.2, "view": 0.1,
    "rating": 1.0,
}


@dataclass
class Interactions:
    """Users x items weights (CSR, float32) with the id of every row and column.

    ``matrix[u, i] > 0`` means user ``user_ids[u]`` interacted with item ``item_ids[i]``;
    the value is the aggregated (possibly time-decayed) weight.
    """

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    _user_index: dict[str, int] | None = field(default=None, repr=False)
    _item_index: dict[str, int] | None = field(default=None, repr=False)

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    def user_index(self) -> dict[str, int]:
        if self._user_index is None:
            self._user_index = {str(u): i for i, u in enumerate(self.user_ids.tolist())}
        return self._user_index

    def item_index(self) -> dict[str, int]:
        if self._item_index is None:
            self._item_index = {str(u): i for i, u in enumerate(self.item_ids.tolist())}
        return self._item_index

    def binary(self) -> sp.csr_matrix:
        """The same pattern with every stored value 1."""
        out = self.matrix.copy()
        out.data = np.ones_like(out.data)
        return out

    def to_frame(self) -> pd.DataFrame:
        coo = self.matrix.tocoo()
        return pd.DataFrame({"user": self.user_ids[coo.row], "item": self.item_ids[coo.col],
                             "weight": coo.data.astype("float64")})

    def restrict(self, frame: pd.DataFrame) -> Interactions:
        """Interactions of ``frame`` (columns user, item, weight) on this object's id space.

        Pairs whose user or item is unknown here are dropped (they cannot be scored).
        """
        users = pd.Index(self.user_ids).get_indexer(frame["user"].astype(str))
        items = pd.Index(self.item_ids).get_indexer(frame["item"].astype(str))
        keep = (users >= 0) & (items >= 0)
        w = frame["weight"].to_numpy(dtype="float32")[keep] if "weight" in frame else \
            np.ones(int(keep.sum()), dtype="float32")
        mat = sp.csr_matrix((w, (users[keep], items[keep])), shape=self.matrix.shape,
                            dtype=np.float32)
        mat.sum_duplicates()
        return Interactions(mat, self.user_ids, self.item_ids)


def as_str_ids(values: pd.Series) -> pd.Series:
    """Ids of any type as strings; integral floats (17850.0) lose their ``.0``."""
    if pd.api.types.is_float_dtype(values):
        finite = values.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0):
            return values.astype("Int64").astype(str).where(values.notna())
    if pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values.astype(str)
    out = values.astype(object).where(values.notna())
    return out.map(_id_text, na_action="ignore")


def _id_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def interactions_from_frame(frame: pd.DataFrame, user: str = "user", item: str = "item",
                            weight: str | None = None, time: str | None = None,
                            half_life_days: float | None = None,
                            reference_time: pd.Timestamp | None = None) -> Interactions:
    """Aggregate a long frame of interactions into :class:`Interactions`.

    Parameters
    ----------
    frame : DataFrame
        One row per interaction; duplicate (user, item) rows are summed.
    user, item : str
        Id columns (any type; compared as strings, ``17850.0`` == ``17850``).
    weight : str, optional
        Non-negative weight column (ratings, quantities); default 1 per row.
        Rows with weight <= 0 or missing ids are dropped.
    time : str, optional
        Timestamp column (datetime, or numbers = Unix seconds) for time decay.
    half_life_days : float, optional
        Exponential decay: a row ``d`` days before ``reference_time`` (default: the last
        time in the frame) counts ``0.5 ** (d / half_life_days)``.

    Raises
    ------
    SchemaError
        A named column is missing.
    ModelFitError
        No usable interaction is left.
    """
    cols = [str(c) for c in frame.columns]
    for name in (user, item, weight, time):
        if name is not None and name not in cols:
            raise SchemaError(f"column {name!r} is not in the interaction data; columns are {cols}")
    users = as_str_ids(frame[user])
    items = as_str_ids(frame[item])
    w = (pd.to_numeric(frame[weight], errors="coerce").astype("float64") if weight
         else pd.Series(1.0, index=frame.index))
    if half_life_days is not None:
        if half_life_days <= 0:
            raise SchemaError(f"half_life_days must be > 0, got {half_life_days}")
        if time is None:
            raise SchemaError("time decay needs a time column")
        t = to_timestamps(frame[time])
        ref = reference_time if reference_time is not None else t.max()
        age = (ref - t).dt.total_seconds().to_numpy() / 86400.0
        w = w * np.power(0.5, np.clip(age, 0, None) / half_life_days)
    keep = users.notna() & items.notna() & (users != "") & (items != "") & w.notna() & (w > 0)
    long = pd.DataFrame({"user": users[keep], "item": items[keep], "weight": w[keep]})
    if long.empty:
        raise ModelFitError(f"no usable interactions: {len(frame)} rows, none with a user, an "
                            "item and a positive weight")
    u_codes, u_ids = pd.factorize(long["user"], sort=True)
    i_codes, i_ids = pd.factorize(long["item"], sort=True)
    mat = sp.csr_matrix((long["weight"].to_numpy(dtype="float32"), (u_codes, i_codes)),
                        shape=(len(u_ids), len(i_ids)), dtype=np.float32)
    mat.sum_duplicates()
    return Interactions(mat, np.asarray(u_ids, dtype=object), np.asarray(i_ids, dtype=object))


def to_timestamps(values: pd.Series) -> pd.Series:
    """Datetimes from datetime-like text or Unix seconds."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="s", errors="coerce")
    return pd.to_datetime(values, errors="coerce", format="mixed")


def warehouse_interactions_sql(tables: set[str], weights: dict[str, float] | None = None,
                               half_life_days: float | None = None, with_purchased: bool = False
                               ) -> tuple[str, list[Any]]:
    """SQL (and parameters) giving ``customer_id, product_id, weight, last_time`` (and
    ``purchased``: any order line or ``purchase`` event, when ``with_purchased``).

    ``tables`` names the warehouse tables that exist and have rows; orders count
    ``weights["order"]`` per purchase line, events ``weights[event_type]`` (types without a
    weight are ignored), reviews ``weights["rating"] * (rating - 2) / 3`` for ratings >= 3.
    """
    wts = {**DEFAULT_WEIGHTS, **(weights or {})}
    parts: list[str] = []
    params: list[Any] = []
    if "orders" in tables:
        parts.append(
            "SELECT customer_id, product_id, ? AS w, order_time AS t, true AS p FROM orders "
            "WHERE customer_id IS NOT NULL AND product_id IS NOT NULL AND quantity > 0 "
            "AND coalesce(status, 'completed') <> 'cancelled'")
        params.append(wts["order"])
    if "events" in tables:
        kinds = {k: v for k, v in wts.items() if k not in ("order", "rating") and v > 0}
        if kinds:
            values = ", ".join("(?, ?)" for _ in kinds)
            parts.append(
                f"SELECT e.customer_id, e.product_id, k.w, e.event_time AS t, "
                f"e.event_type = 'purchase' AS p FROM events e "
                f"JOIN (VALUES {values}) AS k(kind, w) ON e.event_type = k.kind "
                "WHERE e.product_id IS NOT NULL")
            for k, v in kinds.items():
                params.extend([k, v])
    if "reviews" in tables and wts["rating"] > 0:
        parts.append(
            "SELECT customer_id, product_id, ? * (rating - 2) / 3.0 AS w, review_time AS t, "
            "false AS p "
            "FROM reviews WHERE customer_id IS NOT NULL AND rating >= 3")
        params.append(wts["rating"])
    if not parts:
        return ("SELECT NULL::VARCHAR AS customer_id, NULL::VARCHAR AS product_id, "
                "NULL::DOUBLE AS weight, NULL::TIMESTAMP AS last_time"
                + (", NULL::BOOLEAN AS purchased" if with_purchased else "") + " WHERE false", [])
    union = " UNION ALL ".join(parts)
    decay = "1.0"
    if half_life_days is not None:
        if not (np.isfinite(half_life_days) and half_life_days > 0):
            raise SchemaError(f"half_life_days must be a number > 0, got {half_life_days}")
        decay = "pow(0.5, greatest(epoch(ref.t_max) - epoch(x.t), 0) / 86400.0 / ?)"
        params.append(float(half_life_days))
    sql = (f"WITH x AS ({union}), ref AS (SELECT max(t) AS t_max FROM x) "
           f"SELECT x.customer_id, x.product_id, sum(x.w * {decay})::DOUBLE AS weight, "
           "max(x.t) AS last_time" + (", bool_or(x.p) AS purchased" if with_purchased else "")
           + " FROM x, ref GROUP BY ALL HAVING sum(x.w) > 0 "
           "ORDER BY x.customer_id, x.product_id")
    return sql, params
