"""The targeting plan by hand: arm choice by expected incremental profit, the budget, the
unprofitable and the sleeping dogs; the harm cut-off on data with a known harmed group."""

from __future__ import annotations

import numpy as np
import pytest

from insightloop.errors import ModelFitError
from insightloop.models.uplift.plan import REASONS, harm_cutoff, targeting_plan

UPLIFT = np.array([[0.3, 0.1], [0.05, 0.2], [-0.2, -0.1], [0.1, 0.0], [0.01, 0.02]])


def test_plan_by_hand() -> None:
    # value 10 per conversion, contacts cost 1 (arm 0) and 0.5 (arm 1):
    # arm 0 profit 10u - 1 = [2, -0.5, -3, 0, -0.9]; arm 1 10u - 0.5 = [0.5, 1.5, -1.5, -0.5, -0.3]
    plan = targeting_plan(UPLIFT, value=10.0, cost=np.array([1.0, 0.5]), budget=1.2)
    np.testing.assert_array_equal(plan["arm"], [0, 1, 1, 0, 1])
    np.testing.assert_allclose(plan["profit"], [2, 1.5, -1.5, 0, -0.3])
    np.testing.assert_allclose(plan["cost"], [1, 0.5, 0.5, 1, 0.5])
    np.testing.assert_array_equal(plan["rank"], [1, 2, 0, 0, 0])
    # the budget (1.2) pays for customer 0 (1.0) only: customer 1 would take it to 1.5
    np.testing.assert_array_equal(plan["selected"], [True, False, False, False, False])
    assert [REASONS[r] for r in plan["reason"]] == [
        "selected", "budget", "unprofitable", "unprofitable", "unprofitable"]


def test_no_budget_takes_every_profitable_customer_and_sleeping_dogs_never() -> None:
    plan = targeting_plan(UPLIFT[:, 1], value=10.0, cost=0.5, harm_below=-0.05)
    np.testing.assert_array_equal(plan["selected"], [True, True, False, False, False])
    assert REASONS[plan["reason"][2]] == "sleeping_dog"  # uplift -0.1 <= -0.05
    free = targeting_plan(UPLIFT[:, 1], value=10.0, cost=0.0)
    # with free contacts every customer with a positive uplift is worth it
    np.testing.assert_array_equal(free["selected"], UPLIFT[:, 1] > 0)


def test_a_budget_spent_exactly_is_not_lost_to_rounding() -> None:
    plan = targeting_plan(np.full(100, 0.5), value=1.0, cost=0.3, budget=30.0)
    assert plan["selected"].sum() == 100  # 100 x 0.3 sums to 30.000000000000004


def test_negative_cost_is_refused() -> None:
    with pytest.raises(ModelFitError, match="must be >= 0"):
        targeting_plan(UPLIFT, cost=-1.0)


def test_harm_cutoff_finds_the_harmed_decile() -> None:
    rng = np.random.default_rng(9)
    n = 20_000
    score = rng.random(n)
    t = rng.integers(0, 2, n)
    effect = np.where(score < 0.1, -0.3, 0.1)  # contact harms the bottom tenth
    y = (rng.random(n) < 0.4 + t * effect).astype(float)
    cut = harm_cutoff(y, score, t)
    # the bottom bin holds the 2,000 lowest scores; its highest score is the cut-off
    assert cut == np.sort(score)[1999]
    assert harm_cutoff(y, -score, t) == float("-inf")  # reversed: the harmed rank first
