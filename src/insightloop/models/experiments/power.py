"""Power and sample size for two-arm tests of proportions and of means (normal
approximation, two-sided level ``alpha``, ``ratio`` = variant size / control size)."""

from __future__ import annotations

import math

from scipy import optimize, stats

from insightloop.errors import ConfigError


def _z(alpha: float, power: float) -> tuple[float, float]:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ConfigError(f"alpha and power must be between 0 and 1, got {alpha} and {power}")
    return float(stats.norm.ppf(1 - alpha / 2)), float(stats.norm.ppf(power))


def _check_rate(name: str, p: float) -> None:
    if not 0 < p < 1:
        raise ConfigError(f"{name} must be a rate strictly between 0 and 1, got {p}")


def n_proportions(p0: float, p1: float, alpha: float = 0.05, power: float = 0.8,
                  ratio: float = 1.0) -> tuple[int, int]:
    """Control and variant sizes to detect ``p0 -> p1`` (pooled variance under the null,
    unpooled under the alternative; Fleiss, no continuity correction)."""
    _check_rate("the control rate", p0)
    _check_rate("the variant rate", p1)
    if p0 == p1:
        raise ConfigError("the variant rate equals the control rate: no effect to detect")
    za, zb = _z(alpha, power)
    pbar = (p0 + ratio * p1) / (1 + ratio)
    n0 = ((za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio))
           + zb * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1) / ratio)) / (p1 - p0)) ** 2
    return math.ceil(n0 - 1e-9), math.ceil(ratio * n0 - 1e-9)


def power_proportions(p0: float, p1: float, n0: float, n1: float,
                      alpha: float = 0.05) -> float:
    """Power of the two-sided test of ``p0`` against ``p1`` with ``n0`` and ``n1`` units."""
    za = float(stats.norm.ppf(1 - alpha / 2))
    pbar = (n0 * p0 + n1 * p1) / (n0 + n1)
    se0 = math.sqrt(pbar * (1 - pbar) * (1 / n0 + 1 / n1))
    se1 = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    d = abs(p1 - p0)
    return float(stats.norm.cdf((d - za * se0) / se1) + stats.norm.cdf((-d - za * se0) / se1))


def n_means(sd: float, delta: float, alpha: float = 0.05, power: float = 0.8,
            ratio: float = 1.0) -> tuple[int, int]:
    """Control and variant sizes to detect a difference ``delta`` in means with outcome
    standard deviation ``sd``."""
    if sd <= 0 or delta == 0:
        raise ConfigError(f"need sd > 0 and a non-zero difference, got sd {sd}, delta {delta}")
    za, zb = _z(alpha, power)
    n0 = (za + zb) ** 2 * sd ** 2 * (1 + 1 / ratio) / delta ** 2
    return math.ceil(n0 - 1e-9), math.ceil(ratio * n0 - 1e-9)


def power_means(sd: float, delta: float, n0: float, n1: float, alpha: float = 0.05) -> float:
    """Power of the two-sided z test of a difference ``delta`` in means."""
    za = float(stats.norm.ppf(1 - alpha / 2))
    se = sd * math.sqrt(1 / n0 + 1 / n1)
    d = abs(delta) / se
    return float(stats.norm.cdf(d - za) + stats.norm.cdf(-d - za))


def mde_means(sd: float, n0: float, n1: float, alpha: float = 0.05,
              power: float = 0.8) -> float:
    """Smallest difference in means detected with ``power`` (one tail; the other is
    negligible at any useful power)."""
    za, zb = _z(alpha, power)
    return (za + zb) * sd * math.sqrt(1 / n0 + 1 / n1)


def mde_proportions(p0: float, n0: float, n1: float, alpha: float = 0.05,
                    power: float = 0.8) -> float:
    """Smallest absolute lift over ``p0`` detected with ``power``."""
    _check_rate("the control rate", p0)
    _z(alpha, power)
    top = 1 - p0 - 1e-12
    if power_proportions(p0, p0 + top, n0, n1, alpha) < power:
        raise ConfigError(f"{n0:,.0f} + {n1:,.0f} units cannot reach power {power} from a "
                          f"rate of {p0}; add units")
    return float(optimize.brentq(
        lambda d: power_proportions(p0, p0 + d, n0, n1, alpha) - power, 1e-12, top,
        xtol=1e-12))
