"""SRM detection power on simulated imbalance: how often the chi-square check (warning at
p < 0.001, GrowthBook's default) flags a 50/50 test whose real split is off.

Run: ``python benchmarks/experiments_srm.py``. Prints one JSON object (2,000 simulated
experiments per cell, vectorised).
"""

from __future__ import annotations

import json

import numpy as np
from scipy import stats

SIMS = 2000


def main() -> None:
    rng = np.random.default_rng(2026)
    table = {}
    for n in (10_000, 100_000, 1_000_000):
        for share in (0.5, 0.502, 0.505, 0.51, 0.52):
            a = rng.binomial(n, share, SIMS)
            b = n - a
            chi2 = (a - n / 2) ** 2 / (n / 2) + (b - n / 2) ** 2 / (n / 2)
            table[f"n={n:,} control share {share:.1%}"] = float(
                (stats.chi2.sf(chi2, 1) < 0.001).mean())
    print(json.dumps({"simulations": SIMS, "threshold": 0.001, "detection_rate": table}))


if __name__ == "__main__":
    main()
