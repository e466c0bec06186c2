"""A targeting plan: whom to contact, with which treatment, under a budget.

For customer ``i`` and treatment arm ``k`` the expected incremental profit of contacting is
``uplift[i, k] * value[k] - cost[k]`` (``value``: the value of one conversion, or 1 when
the outcome is money already; ``cost``: per contact, per arm: e-mail is cheaper than a
call). Each customer gets the arm of highest expected profit; customers are ranked by it
and taken while the budget lasts. Never contacted:

* ``sleeping_dog``: contact harms them: predicted uplift below the *harm cut-off*, the
  highest predicted uplift of the bottom bins whose measured uplift on held-out data is
  significantly below zero (:func:`harm_cutoff`; the upper end of the 95% interval < 0);
* ``unprofitable``: expected incremental profit <= 0;
* ``budget``: profitable, but the budget ran out before their turn.

Everything is vectorised: the ranking is one sort and the budget one cumulative sum.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from insightloop.errors import ModelFitError
from insightloop.models.uplift.metrics import uplift_by_decile

__all__ = ["REASONS", "Plan", "harm_cutoff", "targeting_plan"]

REASONS = ("selected", "budget", "unprofitable", "sleeping_dog")
_Z95 = 1.959963984540054


class Plan(TypedDict):
    """Per customer (input order): chosen arm index, its uplift and expected profit, the
    contact cost, whether selected, why (index into :data:`REASONS`), 1-based rank among
    the profitable customers (0: not ranked)."""

    arm: np.ndarray
    uplift: np.ndarray
    profit: np.ndarray
    cost: np.ndarray
    selected: np.ndarray
    reason: np.ndarray
    rank: np.ndarray


def harm_cutoff(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray,
                bins: int = 10) -> float:
    """The highest predicted uplift among the bottom bins (lowest predictions) in which the
    measured uplift is significantly negative, counted up from the last bin while each one
    is; ``-inf`` when the last bin is not (nobody is a sleeping dog)."""
    table = uplift_by_decile(y, uplift, treatment, bins=bins)
    harmful = (table["uplift"] + _Z95 * table["std_error"]) < 0
    if not harmful[-1]:
        return float("-inf")
    first = bins - int(np.argmin(harmful[::-1])) if not harmful.all() else 0
    u = np.asarray(uplift, dtype=np.float64)
    order = np.argsort(u, kind="stable")[::-1]
    sizes = np.array([len(a) for a in np.array_split(np.empty(len(u)), bins)])
    start = int(sizes[:first].sum())
    return float(u[order][start:].max())


def targeting_plan(uplift: np.ndarray, value: float | np.ndarray = 1.0,
                   cost: float | np.ndarray = 0.0, budget: float | None = None,
                   harm_below: float = float("-inf")) -> Plan:
    """Choose an arm per customer and the customers to contact (see the module docstring).

    Parameters
    ----------
    uplift : array (n,) or (n, arms)
        Predicted uplift per customer and treatment arm.
    value : float or array (arms,)
        Value of one unit of outcome (a conversion) per arm.
    cost : float or array (arms,)
        Cost of one contact per arm.
    budget : float, optional
        Total contact cost allowed; None: no limit.
    harm_below : float
        Predicted uplifts at or below this are sleeping dogs (see :func:`harm_cutoff`).
    """
    u = np.asarray(uplift, dtype=np.float64)
    u = u[:, None] if u.ndim == 1 else u
    arms = u.shape[1]
    v = np.broadcast_to(np.asarray(value, dtype=np.float64), (arms,))
    c = np.broadcast_to(np.asarray(cost, dtype=np.float64), (arms,))
    if (c < 0).any() or (budget is not None and budget < 0):
        raise ModelFitError("costs and the budget must be >= 0")
    profit_all = u * v - c
    arm = np.argmax(profit_all, axis=1)
    rows = np.arange(len(u))
    profit, chosen, cost_i = profit_all[rows, arm], u[rows, arm], c[arm]
    harmed = chosen <= harm_below
    eligible = (profit > 0) & ~harmed
    order = np.argsort(-np.where(eligible, profit, -np.inf), kind="stable")
    ranked = order[: int(eligible.sum())]
    spent = np.cumsum(cost_i[ranked])
    # a relative tolerance: 100 contacts at 0.3 sum to 30.000000000000004, within a budget of 30
    within = (spent <= budget * (1 + 1e-12) + 1e-12 if budget is not None
              else np.ones(len(ranked), dtype=bool))
    selected = np.zeros(len(u), dtype=bool)
    selected[ranked[within]] = True
    rank = np.zeros(len(u), dtype=np.int64)
    rank[ranked] = np.arange(1, len(ranked) + 1)
    reason = np.where(selected, 0, np.where(harmed, 3, np.where(profit <= 0, 2, 1)))
    return Plan(arm=arm, uplift=chosen, profit=profit, cost=cost_i, selected=selected,
                reason=reason.astype(np.int64), rank=rank)
