"""Achieved cycle service level of the inventory plan's reorder points on held-out weeks.

Standalone: ``.venv/bin/python benchmarks/inventory_service_level.py [--data CSV]`` (default:
Online Retail in ``../shared/data``). Ingests the file into a temporary warehouse, then for
each origin (4, 6, 8, 10 weeks before the last complete week) keeps the weeks before it,
computes the reorder point for a 2-week lead time at each target from (a) the forecast
models' sample paths, (b) blocks of the last year (bootstrap) and (c) the normal formula,
and counts the products whose actual demand over the next 2 weeks stayed at or below it
(products sold in at least 13 of their last 52 weeks). A method that meets its target
achieves about the target. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from insightloop.models.planning.inventory import lead_time_demand, normal_policy, quantile_policy
from insightloop.services.context import Context
from insightloop.services.planning.inventory import HISTORY_WEEKS, bootstrap_paths, model_paths
from insightloop.services.planning.series import load_panel
from insightloop.settings import Settings
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail" / \
    "online_retail.csv"
LEAD = 2
ORIGINS = (4, 6, 8, 10)
TARGETS = (0.8, 0.9, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wh.duckdb"
        ingest_file(Warehouse(path), "orders", args.data, preset="online-retail")
        ctx = Context.from_settings(Settings.load(warehouse=path, env={}))
        panel = load_panel(ctx, "product", "units", "W")
    started = time.perf_counter()
    achieved: dict[str, dict[str, list[float]]] = {
        str(t): {"model": [], "bootstrap": [], "normal": []} for t in TARGETS}
    products = []
    for origin in ORIGINS:
        hist = panel.values[:, : panel.values.shape[1] - origin][:, -HISTORY_WEEKS:]
        actual = panel.values[:, -origin:][:, :LEAD].sum(axis=1)
        keep = (hist > 0).sum(axis=1) >= 13
        hist, actual = hist[keep], actual[keep]
        products.append(int(keep.sum()))
        paths = {"model": model_paths(panel.items[keep], hist, LEAD, 1000, 0),
                 "bootstrap": bootstrap_paths(hist, LEAD, 1000, 0)}
        for target in TARGETS:
            for name, p in paths.items():
                if p is None:
                    continue
                rop = quantile_policy(lead_time_demand(p, LEAD), target)["reorder_point"]
                achieved[str(target)][name].append(float(np.mean(actual <= np.ceil(rop))))
            ref = normal_policy(hist.mean(axis=1), hist.std(axis=1, ddof=1), LEAD, 0.0,
                                target)["reorder_point"]
            achieved[str(target)]["normal"].append(float(np.mean(actual <= np.ceil(ref))))
    print(json.dumps({
        "data": str(args.data), "lead_time_weeks": LEAD, "origins_weeks_back": ORIGINS,
        "products": products, "seconds": round(time.perf_counter() - started, 1),
        "achieved_cycle_service_level": {
            t: {k: round(float(np.mean(v)), 3) for k, v in m.items()} for t, m in
            achieved.items()}}))


if __name__ == "__main__":
    main()
