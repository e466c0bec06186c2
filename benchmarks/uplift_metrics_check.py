"""insightloop's uplift metrics against scikit-uplift 0.5.1's on random cases (ties too).

scikit-uplift is not a dependency: install it anywhere
(``pip install --no-deps --target DIR scikit-uplift==0.5.1``) and pass the folder:

    .venv/bin/python benchmarks/uplift_metrics_check.py DIR

Prints the largest absolute difference over 200 random binary cases (20-400 customers,
scores rounded to 0-2 decimals so that ties occur) of the Qini AUC, AUUC, uplift@30%
(both strategies), and checks the Qini and uplift curves and the uplift by percentile
point for point.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from insightloop.models.uplift import metrics as ours


def main(folder: str) -> None:
    sys.path.insert(0, folder)
    warnings.simplefilter("ignore", FutureWarning)  # sklift calls a deprecated sklearn helper
    from sklift import metrics as ref

    rng = np.random.default_rng(0)
    worst, cases = 0.0, 0
    for _ in range(200):
        n = int(rng.integers(20, 400))
        y, t = rng.integers(0, 2, n), rng.integers(0, 2, n)
        if t.all() or not t.any():
            continue
        u = np.round(rng.normal(size=n), int(rng.integers(0, 3)))
        for curve in ("qini_curve", "uplift_curve"):
            (xr, vr), (xo, vo) = getattr(ref, curve)(y, u, t), getattr(ours, curve)(y, u, t)
            assert np.allclose(xr, xo) and np.allclose(vr, vo), curve
        pairs = [(ref.qini_auc_score(y, u, t), ours.qini_auc_score(y, u, t)),
                 (ref.uplift_auc_score(y, u, t), ours.uplift_auc_score(y, u, t)),
                 (ref.uplift_at_k(y, u, t, strategy="overall", k=0.3),
                  ours.uplift_at_k(y, u, t, 0.3)),
                 (ref.uplift_at_k(y, u, t, strategy="by_group", k=0.3),
                  ours.uplift_at_k(y, u, t, 0.3, "by_group"))]
        worst = max([worst, *(abs(a - b) for a, b in pairs if not (np.isnan(a) and np.isnan(b)))])
        table, mine = ref.uplift_by_percentile(y, u, t, bins=5), ours.uplift_by_decile(y, u, t, 5)
        assert np.array_equal(table["n_treatment"].to_numpy(), mine["n_treated"])
        assert np.allclose(np.nan_to_num(table["uplift"].to_numpy()), np.nan_to_num(mine["uplift"]))
        cases += 1
    print(f"{cases} cases: curves and by-percentile tables equal; largest difference of the "
          f"scores: {worst:.3g}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/sklift_pkg")
