"""Eligibility throughput: customers decided per second on a synthetic warehouse.

``.venv/bin/python benchmarks/eligibility.py [N]`` builds N customers (default 200,000)
with two consent records each (a quarter withdrawn), 1 % suppressed, one ledger row for
a tenth of them, and times :func:`insightloop.services.engagement.eligibility` over all of
them (e-mail, marketing, default policy). Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import insert

from insightloop.services.context import Context
from insightloop.services.engagement import add_suppressions, eligibility
from insightloop.settings import Settings
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.models import SendLedger
from insightloop.storage.warehouse import Warehouse


def main(n: int) -> dict[str, float | int]:
    rng = np.random.default_rng(0)
    now = datetime(2024, 6, 1, 12)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wh.duckdb"
        ids = np.char.add("c", np.arange(n).astype(str)).astype(object)
        wh = Warehouse(path)
        wh.write_frame("customers", pd.DataFrame({
            "customer_id": ids, "email": np.char.add(ids.astype(str), "@x.org"),
            "country": rng.choice(["United Kingdom", "France", "USA", "Japan"], n)}))
        wh.write_frame("consents", pd.DataFrame({
            "customer_id": np.concatenate([ids, ids]), "channel": "email",
            "purpose": "marketing",
            "granted": np.concatenate([np.ones(n, bool), rng.random(n) > 0.25]),
            "consent_time": np.concatenate([np.full(n, np.datetime64("2024-01-01")),
                                            np.full(n, np.datetime64("2024-02-01"))])}))
        ctx = Context.from_settings(Settings.load(warehouse=path, env={}))
        add_suppressions(ctx, ids[rng.random(n) < 0.01].tolist())
        sent = ids[rng.random(n) < 0.1]
        with open_ops(ctx.settings).write() as conn:
            conn.execute(insert(SendLedger), [
                {"idempotency_key": f"b:{c}", "campaign_id": "b", "step": "send",
                 "customer_id": c, "channel": "email", "status": "delivered",
                 "created_at": now - timedelta(hours=3)} for c in sent])
        eligibility(ctx, ids[:1000].tolist(), "email", now=now)  # warm up
        start = time.perf_counter()
        out = eligibility(ctx, ids.tolist(), "email", now=now)
        seconds = time.perf_counter() - start
    return {"customers": n, "seconds": round(seconds, 3),
            "per_second": round(n / seconds), "eligible": int(out["eligible"].sum()),
            **{str(k): int(v) for k, v in out["reason"].value_counts().items()}}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
                     + "\n")
