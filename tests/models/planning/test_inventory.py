"""Known-answer tests of the inventory maths (textbook examples, sources named)."""

from __future__ import annotations

import numpy as np
import pytest

from insightloop.errors import ConfigError
from insightloop.models.planning.inventory import (
    critical_ratio,
    eoq,
    fill_rate_normal,
    lead_time_demand,
    newsvendor_discrete,
    newsvendor_normal,
    normal_policy,
    quantile_policy,
    sigma_lead_time,
)


def test_random_lead_time_safety_stock_chopra_meindl_dell_example() -> None:
    # Chopra & Meindl, Supply Chain Management, ch. 12 (safety inventory with lead-time
    # uncertainty): weekly demand N(2,500, 500), lead time 7 weeks with sd 7 weeks, CSL 90%:
    # sigma_L = 17,550 and ss = 22,491.
    s_l = sigma_lead_time(500.0, 2500.0, 7.0, 7.0)
    assert float(s_l) == pytest.approx(17_550, abs=1)
    pol = normal_policy([2500.0], [500.0], 7.0, 7.0, service_level=0.90)
    assert pol["safety_stock"][0] == pytest.approx(22_491, abs=2)
    assert pol["reorder_point"][0] == pytest.approx(7 * 2500 + 22_491, abs=2)


def test_fill_rate_chopra_meindl_lego_example() -> None:
    # Chopra & Meindl ch. 12 (fill rate of a continuous-review policy): weekly demand
    # N(2,500, 500), L = 2 weeks, Q = 10,000, ROP = 6,000: sigma_L = 707, ss = 1,000,
    # ESC = 25.13, fill rate 0.9975.
    s_l = sigma_lead_time(500.0, 2500.0, 2.0)
    assert float(s_l) == pytest.approx(707.1, abs=0.1)
    fr = fill_rate_normal([1000.0], s_l, [10_000.0])
    assert fr[0] == pytest.approx(0.9975, abs=5e-5)


def test_normal_formula_silver_pyke_peterson() -> None:
    # SS = z sigma_d sqrt(L), ROP = d L + SS: d = 100/week, sigma = 20, L = 4, 95%:
    # sigma_L = 40, z = 1.6449, SS = 65.8, ROP = 465.8.
    pol = normal_policy([100.0], [20.0], 4.0, 0.0, 0.95)
    assert pol["sigma_L"][0] == pytest.approx(40.0)
    assert pol["safety_stock"][0] == pytest.approx(65.79, abs=0.01)
    assert pol["reorder_point"][0] == pytest.approx(465.79, abs=0.01)


def test_eoq_nahmias_pencils() -> None:
    # Nahmias, Production and Operations Analysis, ch. 4 (No. 2 pencils): 60 a week
    # (3,120 a year), K = $12, cost 2 cents, 25% a year holding: EOQ = 3,870.
    q = eoq([60 * 52.0], 12.0, [0.25 * 0.02])
    assert q[0] == pytest.approx(3870, abs=1)
    assert eoq([0.0], 12.0, [1.0])[0] == 0.0
    with pytest.raises(ConfigError, match="holding cost"):
        eoq([10.0], 12.0, [0.0])


def test_newsvendor_normal_oneill_wetsuit() -> None:
    # Cachon & Terwiesch, Matching Supply with Demand, ch. 12 (O'Neill Hammer 3/2): cost 110,
    # price 180, salvage 90, demand N(3,192, 1,181): critical ratio 70/90 = 0.7778; with the
    # exact z = 0.7647 Q = 4,095 (the book rounds z up from its table: 4,101).
    cr = critical_ratio(180.0, 110.0, 90.0)
    assert float(cr) == pytest.approx(70 / 90)
    q = newsvendor_normal(3192.0, 1181.0, cr)
    assert 4090 <= float(q) <= 4102
    assert float(q) == pytest.approx(4095.1, abs=0.2)
    with pytest.raises(ConfigError, match="price > cost > salvage"):
        critical_ratio(100.0, 110.0, 0.0)


def test_newsvendor_discrete_smallest_q_reaching_the_ratio() -> None:
    # demand 10, 11, 12, 13 with probabilities .2, .3, .3, .2: F = .2, .5, .8, 1. A ratio
    # of 0.6 stocks 12 (F(11) = .5 < .6 <= .8); exactly 0.5 stocks 11.
    support, pmf = [13, 10, 12, 11], [0.2, 0.2, 0.3, 0.3]
    assert newsvendor_discrete(support, pmf, 0.6) == 12
    assert newsvendor_discrete(support, pmf, 0.5) == 11
    assert newsvendor_discrete(support, pmf, 0.1) == 10
    with pytest.raises(ConfigError, match="summing"):
        newsvendor_discrete([1, 2], [0.5, 0.6], 0.5)


def test_lead_time_quantile_matches_normal_formula_on_normal_paths() -> None:
    rng = np.random.default_rng(1)
    paths = rng.normal(100.0, 20.0, (2, 40_000, 8))
    paths[1] *= 2  # second item: mean 200, sd 40
    ltd = lead_time_demand(paths, 4.0)
    q = quantile_policy(ltd, 0.95)
    norm_pol = normal_policy([100.0, 200.0], [20.0, 40.0], 4.0, 0.0, 0.95)
    np.testing.assert_allclose(q["reorder_point"], norm_pol["reorder_point"], rtol=0.01)
    np.testing.assert_allclose(q["safety_stock"], norm_pol["safety_stock"], rtol=0.06)


def test_fractional_and_random_lead_time() -> None:
    const = np.full((1, 3, 6), 10.0)
    assert lead_time_demand(const, 2.5)[0].tolist() == [25.0, 25.0, 25.0]
    # constant demand 100 a period, lead time N(4, 1): demand over the lead time is
    # 100 L, so its sd is 100 (the formula's d * sigma_LT) and its 95% quantile 564.5.
    ltd = lead_time_demand(np.full((1, 50_000, 12), 100.0), 4.0, 1.0, seed=3)
    assert ltd.std() == pytest.approx(100.0, rel=0.02)
    assert np.quantile(ltd, 0.95) == pytest.approx(400 + 164.5, rel=0.01)
    # variable demand and lead time: the compound sd is the textbook sqrt(L s^2 + d^2 sL^2)
    rng = np.random.default_rng(4)
    ltd2 = lead_time_demand(rng.normal(100.0, 20.0, (1, 60_000, 12)), 4.0, 1.0, seed=5)
    assert ltd2.std() == pytest.approx(float(sigma_lead_time(20.0, 100.0, 4.0, 1.0)), rel=0.02)


def test_fill_rate_target_from_draws_matches_the_normal_answer() -> None:
    # Lego example again, from draws: the reorder point reaching fill rate 0.99749 with
    # Q = 10,000 is 6,000 (sampling error of the tail: a few units).
    rng = np.random.default_rng(7)
    ltd = lead_time_demand(rng.normal(2500.0, 500.0, (1, 200_000, 2)), 2.0)
    pol = quantile_policy(ltd, 0.99749, "fill", order_qty=[10_000.0])
    assert pol["reorder_point"][0] == pytest.approx(6000, abs=40)


def test_bad_inputs_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        normal_policy([1.0], [1.0], 2.0, 0.0, 95)
    with pytest.raises(ConfigError, match="forecast a longer horizon"):
        lead_time_demand(np.ones((1, 2, 3)), 4.0)
    with pytest.raises(ConfigError, match="items x draws x periods"):
        lead_time_demand(np.ones((2, 3)), 1.0)
    with pytest.raises(ConfigError, match="order quantity"):
        quantile_policy(np.ones((1, 5)), 0.9, "fill")
