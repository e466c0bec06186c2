"""Segment stability across seeds on the FULL Online Retail file.

Ingests ``../shared/data/online_retail/online_retail.csv`` (or the path given
as the first argument) into a temporary warehouse, builds profiles, clusters
with seeds 0..4 (K-means, k chosen by silhouette; then GMM by BIC) and prints
one JSON object: customers, chosen k and selection scores per seed, and the
pairwise adjusted Rand index between seeds.

Run: ``.venv/bin/python benchmarks/segments_stability.py [CSV]``
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from sklearn.metrics import adjusted_rand_score

from insightloop.services.context import Context
from insightloop.services.ingest import ingest
from insightloop.services.profiles import build_profiles
from insightloop.services.segments import compute_segments, load_inputs
from insightloop.settings import Settings

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail" / \
    "online_retail.csv"
SEEDS = (0, 1, 2, 3, 4)


def main() -> None:
    csv = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        t0 = time.perf_counter()
        ctx = Context.from_settings(Settings.load(warehouse=path, env={}))
        ingest(ctx, "orders", csv, preset="online-retail")
        build_profiles(ctx)
        profiles, value, _ = load_inputs(ctx)
        prep_s = time.perf_counter() - t0
        result: dict[str, object] = {"file": str(csv), "customers": len(profiles),
                                     "ingest_and_profiles_s": round(prep_s, 1)}
        for method in ("kmeans", "gmm"):
            labels, runs = [], []
            for seed in SEEDS:
                t = time.perf_counter()
                _, members, summary, seg = compute_segments(profiles, value, method=method,
                                                            seed=seed)
                labels.append(members["segment_id"].to_numpy())
                runs.append({"seed": seed, "k": int(seg.k_),
                             "scores": {k: round(v, 4) for k, v in seg.selection_.items()},
                             "sizes": summary["size"].tolist(),
                             "seconds": round(time.perf_counter() - t, 2)})
            aris = {f"{a}-{b}": round(adjusted_rand_score(labels[a], labels[b]), 4)
                    for a, b in itertools.combinations(range(len(SEEDS)), 2)}
            result[method] = {"runs": runs, "ari": aris, "min_ari": min(aris.values()),
                              "mean_ari": round(sum(aris.values()) / len(aris), 4),
                              "chosen_k": sorted({r["k"] for r in runs})}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
