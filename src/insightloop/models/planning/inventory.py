"""Inventory policy maths: safety stock, reorder point and order quantity per item.

Everything works on arrays (one entry per item) and is vectorised; nothing reads a
warehouse. Two ways to the reorder point:

* **quantile** (the default in the service): the demand over the lead time is simulated from
  forecast sample paths (``paths``: items x draws x periods), each draw summed over its own
  lead time (a random lead time when ``lead_time_sd`` > 0, fractional periods
  interpolated), and the reorder point is that distribution's quantile at the target cycle
  service level (or the level whose expected shortage meets a fill-rate target). Skewed and
  intermittent demand keep their shape; nothing assumes normality.
* **normal** (the textbook formula, for comparison): ``sigma_L = sqrt(L sigma_d^2 +
  d^2 sigma_LT^2)``, ``SS = z sigma_L``, ``ROP = d L + SS`` (Silver, Pyke & Peterson 1998,
  ch. 7; Chopra & Meindl, *Supply Chain Management*, ch. 12).

Order quantity: the economic order quantity ``sqrt(2 D K / h)`` (Harris 1913; Nahmias,
*Production and Operations Analysis*, ch. 4). Perishables: the newsvendor's critical
fractile ``cu / (cu + co)`` (Nahmias ch. 5; Cachon & Terwiesch ch. 12).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from insightloop.errors import ConfigError

__all__ = [
    "critical_ratio",
    "eoq",
    "expected_shortage",
    "fill_rate_normal",
    "fill_rate_reorder_point",
    "lead_time_demand",
    "loss_function",
    "newsvendor_discrete",
    "newsvendor_normal",
    "normal_policy",
    "quantile_policy",
    "sigma_lead_time",
]

Array = NDArray[np.float64]
ServiceType = Literal["cycle", "fill"]


def _level(service_level: float, name: str = "service level") -> float:
    if not 0 < service_level < 1:
        raise ConfigError(f"{name} {service_level!r} must be between 0 and 1 (e.g. 0.95)")
    return float(service_level)


def loss_function(k: ArrayLike) -> Array:
    """The standard normal loss function ``G(k) = phi(k) - k (1 - Phi(k))``: the expected
    shortage of a unit normal beyond ``k``."""
    k = np.asarray(k, dtype=float)
    return np.asarray(norm.pdf(k) - k * norm.sf(k), dtype=float)


def sigma_lead_time(sigma_d: ArrayLike, mean_d: ArrayLike, lead_time: float,
                    lead_time_sd: float = 0.0) -> Array:
    """Standard deviation of demand over a (random) lead time:
    ``sqrt(L sigma_d^2 + d^2 sigma_LT^2)`` (Chopra & Meindl, eq. 12.8)."""
    sd, mu = np.asarray(sigma_d, dtype=float), np.asarray(mean_d, dtype=float)
    return np.asarray(np.sqrt(lead_time * sd**2 + mu**2 * lead_time_sd**2), dtype=float)


def normal_policy(mean_d: ArrayLike, sigma_d: ArrayLike, lead_time: float,
                  lead_time_sd: float = 0.0, service_level: float = 0.95
                  ) -> dict[str, Array]:
    """The textbook policy at a cycle service level: ``mu_L``, ``sigma_L``, ``SS = z
    sigma_L``, ``ROP = mu_L + SS``, per item."""
    z = float(norm.ppf(_level(service_level)))
    mu_l = np.asarray(mean_d, dtype=float) * lead_time
    s_l = sigma_lead_time(sigma_d, mean_d, lead_time, lead_time_sd)
    return {"mu_L": mu_l, "sigma_L": s_l, "safety_stock": z * s_l,
            "reorder_point": mu_l + z * s_l}


def fill_rate_normal(safety_stock: ArrayLike, sigma_l: ArrayLike, order_qty: ArrayLike
                     ) -> Array:
    """Fill rate of a normal lead-time demand: ``1 - sigma_L G(SS / sigma_L) / Q``
    (Chopra & Meindl, eq. 12.4-12.5)."""
    ss, s_l = np.asarray(safety_stock, dtype=float), np.asarray(sigma_l, dtype=float)
    esc = s_l * loss_function(ss / s_l)
    return np.asarray(1.0 - esc / np.asarray(order_qty, dtype=float), dtype=float)


def lead_time_demand(paths: ArrayLike, lead_time: float, lead_time_sd: float = 0.0,
                     seed: int = 0) -> Array:
    """Demand over the lead time, one value per item and draw.

    ``paths`` holds per-period demand draws (items x draws x periods). Each draw gets a
    lead time: ``lead_time`` periods, or, when ``lead_time_sd`` > 0, a draw from a normal
    with that mean and standard deviation cut at 0 and at the horizon (the compound
    distribution by simulation). A fractional lead time takes that fraction of the next
    period's demand.
    """
    y = np.asarray(paths, dtype=float)
    if y.ndim != 3:
        raise ConfigError(f"sample paths must be items x draws x periods, got shape {y.shape}")
    if lead_time <= 0 or lead_time_sd < 0:
        raise ConfigError(f"lead time {lead_time!r} must be > 0 and its standard deviation "
                          f"{lead_time_sd!r} >= 0")
    items, draws, h = y.shape
    reach = lead_time + 4 * lead_time_sd
    if reach > h + 1e-9:
        raise ConfigError(f"the forecast covers {h} periods but the lead time needs "
                          f"{reach:g} (mean + 4 sd): forecast a longer horizon")
    if lead_time_sd > 0:
        rng = np.random.default_rng(seed)
        lt = np.clip(rng.normal(lead_time, lead_time_sd, (items, draws)), 0.0, float(h))
    else:
        lt = np.full((items, draws), float(lead_time))
    cum = np.concatenate([np.zeros((items, draws, 1)), np.cumsum(y, axis=2)], axis=2)
    lo = np.minimum(np.floor(lt).astype(np.int64), h - 1)
    frac = lt - lo
    base = np.take_along_axis(cum, lo[..., None], axis=2)[..., 0]
    nxt = np.take_along_axis(y, lo[..., None], axis=2)[..., 0]
    return np.asarray(base + frac * nxt, dtype=float)


def expected_shortage(ltd: ArrayLike, reorder_point: ArrayLike) -> Array:
    """Expected units short per cycle, ``E[(D_L - R)+]``, from lead-time demand draws."""
    d = np.asarray(ltd, dtype=float)
    r = np.asarray(reorder_point, dtype=float)
    return np.asarray(np.maximum(d - r[:, None], 0.0).mean(axis=1), dtype=float)


def fill_rate_reorder_point(ltd: ArrayLike, order_qty: ArrayLike, fill_rate: float,
                            iterations: int = 60) -> Array:
    """The smallest reorder point whose expected shortage per cycle is at most
    ``(1 - fill_rate) Q`` (bisection on every item at once; the shortage falls as R
    rises)."""
    d = np.asarray(ltd, dtype=float)
    target = (1.0 - _level(fill_rate, "fill rate")) * np.asarray(order_qty, dtype=float)
    lo = np.zeros(d.shape[0])
    hi = d.max(axis=1)
    for _ in range(iterations):  # fixed-count bisection, vectorised over the items
        mid = (lo + hi) / 2
        ok = expected_shortage(d, mid) <= target
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return np.asarray(hi, dtype=float)


def quantile_policy(ltd: ArrayLike, service_level: float = 0.95,
                    service_type: ServiceType = "cycle",
                    order_qty: ArrayLike | None = None) -> dict[str, Array]:
    """Reorder point from lead-time demand draws (items x draws): the quantile at the cycle
    service level, or (``service_type="fill"``) the fill-rate reorder point for
    ``order_qty``. ``SS = ROP - E[D_L]`` (negative when the target is below the mean)."""
    d = np.asarray(ltd, dtype=float)
    mu = d.mean(axis=1)
    if service_type == "cycle":
        rop = np.quantile(d, _level(service_level), axis=1)
    elif service_type == "fill":
        if order_qty is None:
            raise ConfigError("a fill-rate target needs the order quantity")
        rop = fill_rate_reorder_point(d, order_qty, service_level)
    else:
        raise ConfigError(f"service type {service_type!r}: use cycle or fill")
    return {"mu_L": mu, "sigma_L": d.std(axis=1), "safety_stock": rop - mu,
            "reorder_point": np.asarray(rop, dtype=float)}


def eoq(annual_demand: ArrayLike, order_cost: float, holding_cost: ArrayLike) -> Array:
    """Economic order quantity ``sqrt(2 D K / h)`` (0 where there is no demand)."""
    dem = np.asarray(annual_demand, dtype=float)
    h = np.asarray(holding_cost, dtype=float)
    if order_cost < 0 or np.any(h <= 0):
        raise ConfigError("EOQ needs an order cost >= 0 and a holding cost > 0 per unit "
                          "and year (give a price or --unit-holding-cost)")
    return np.asarray(np.sqrt(2.0 * np.maximum(dem, 0.0) * order_cost / h), dtype=float)


def critical_ratio(price: ArrayLike, cost: ArrayLike, salvage: ArrayLike = 0.0,
                   shortage_penalty: ArrayLike = 0.0) -> Array:
    """Newsvendor critical fractile ``cu / (cu + co)``, with underage ``cu = price - cost
    + penalty`` and overage ``co = cost - salvage``."""
    cu = np.asarray(price, dtype=float) - np.asarray(cost, dtype=float) + np.asarray(
        shortage_penalty, dtype=float)
    co = np.asarray(cost, dtype=float) - np.asarray(salvage, dtype=float)
    if np.any(cu <= 0) or np.any(co <= 0):
        raise ConfigError("newsvendor needs price > cost > salvage (else stock nothing, or "
                          "everything)")
    return np.asarray(cu / (cu + co), dtype=float)


def newsvendor_normal(mean: ArrayLike, sd: ArrayLike, ratio: ArrayLike) -> Array:
    """Order quantity ``mu + z sigma`` with ``z = Phi^-1(critical ratio)``."""
    return np.asarray(np.asarray(mean, dtype=float)
                      + norm.ppf(np.asarray(ratio, dtype=float)) * np.asarray(sd, dtype=float),
                      dtype=float)


def newsvendor_discrete(support: ArrayLike, pmf: ArrayLike, ratio: float) -> float:
    """The smallest demand value ``q`` with ``F(q) >= critical ratio`` (discrete demand)."""
    s = np.asarray(support, dtype=float)
    p = np.asarray(pmf, dtype=float)
    if s.shape != p.shape or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ConfigError("discrete demand needs one probability >= 0 per value, summing "
                          "to 1")
    order = np.argsort(s)
    cdf = np.cumsum(p[order])
    idx = int(np.searchsorted(cdf, ratio - 1e-12))
    return float(s[order][min(idx, len(s) - 1)])
