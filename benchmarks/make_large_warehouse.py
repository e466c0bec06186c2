"""A synthetic warehouse with a million customers, for serving benchmarks (minutes, not hours).

Standalone: ``.venv/bin/python benchmarks/make_large_warehouse.py --out /tmp/insightloop-large
[--customers 1000000] [--source W] [--top-n 50]``. Without ``--source`` the demo is run into
a temporary folder first and used as the template.

Every table the hot endpoints read is made realistic by scaling up the template's real
rows: customer ``i`` is a copy of template customer ``i mod n`` under a new id
(``S0000001``...), its money and count columns jittered by a random factor, in one DuckDB
statement per table (``profiles``, ``rfm``, ``clv``, ``segment_members``, ``scores`` with
their reasons, ``segments``; view ``customer_360``). The recommender is fitted for real:
each synthetic customer gets up to 20 of the template customer's products plus two random
products (a sparse users x products matrix built with numpy), an item-kNN model is fitted
on it and registered as ``recommender`` (the batch table ``recommendations`` is not written:
the hot endpoints never read it). Finally the serving store is built, which ranks every
customer with that model (``insightloop serving build``). Prints one JSON object with sizes
and timings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

# Columns jittered by a random factor in [0.5, 1.5) (money, counts and model outputs).
JITTER = ("monetary", "gross_revenue", "avg_order_value", "revenue_30d", "revenue_90d",
          "clv", "expected_avg_value", "monetary_value", "expected_purchases_12m")
TABLES = ("profiles", "rfm", "clv", "segment_members", "scores")


def template(source: Path | None, tmp: Path) -> Path:
    if source is not None:
        return source
    warehouse = tmp / "demo" / "warehouse.duckdb"
    subprocess.run([str(Path(sys.executable).parent / "insightloop"), "demo", "--no-serve",
                    "--json", "--warehouse", str(warehouse)], check=True,
                   stdout=subprocess.DEVNULL)
    return warehouse


def scale_tables(con: duckdb.DuckDBPyConnection, n: int) -> dict[str, int]:
    """Copy the template's (attached as ``src``) tables n-fold under new ids."""
    con.execute("CREATE TEMP TABLE ids AS SELECT customer_id AS src_id, "
                "row_number() OVER (ORDER BY customer_id) - 1 AS k FROM src.profiles")
    k = con.execute("SELECT count(*) FROM ids").fetchone()[0]  # type: ignore[index]
    con.execute(f"CREATE TEMP TABLE map AS SELECT printf('S%07d', i) AS customer_id, "
                f"src_id, 0.5 + random() AS f FROM range({n}) t(i) JOIN ids ON ids.k = "
                f"t.i % {k}")
    rows = {}
    for table in TABLES:
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'src' "
                       "AND table_name = ?", [table]).fetchone()[0] == 0:  # type: ignore
            continue
        cols = [r[0] for r in con.execute(f"DESCRIBE src.{table}").fetchall()]
        picked = ", ".join(
            "m.customer_id" if c == "customer_id" else
            f't."{c}" * m.f AS "{c}"' if c in JITTER else f't."{c}"' for c in cols)
        con.execute(f"CREATE TABLE {table} AS SELECT {picked} FROM map m JOIN src.{table} t "
                    "ON t.customer_id = m.src_id ORDER BY m.customer_id")
        rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore
    con.execute("CREATE TABLE segments AS SELECT * FROM src.segments")
    return rows


def interactions(con: duckdb.DuckDBPyConnection, server: Any, n: int, seed: int
                 ) -> tuple[sp.csr_matrix, np.ndarray]:
    """Users x items: up to 20 of the template customer's products plus 2 random ones."""
    rng = np.random.default_rng(seed)
    users = server.model.interactions_.user_ids.astype(str)
    template_rows = pd.Index(users).get_indexer(
        con.execute("SELECT src_id FROM map ORDER BY customer_id").df()["src_id"].astype(str))
    ids = con.execute("SELECT customer_id FROM map ORDER BY customer_id").df()["customer_id"]
    template_rows = np.where(template_rows >= 0, template_rows,
                             rng.integers(0, len(users), n))
    seen = server.purchased.tocsr()
    n_items = seen.shape[1]
    counts = np.minimum(np.diff(seen.indptr), 20)[template_rows]
    starts = seen.indptr[template_rows]
    row = np.repeat(np.arange(n), counts)
    offset = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    col = seen.indices[np.repeat(starts, counts) + offset]
    extra_rows = np.repeat(np.arange(n), 2)
    extra_cols = rng.integers(0, n_items, 2 * n)
    mat = sp.csr_matrix((np.ones(len(row) + 2 * n, dtype=np.float32),
                         (np.r_[row, extra_rows], np.r_[col, extra_cols])), shape=(n, n_items))
    mat.data[:] = 1.0  # duplicates summed: back to one interaction
    return mat, ids.to_numpy(dtype=object)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/insightloop-large"))
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--source", type=Path, help="Template warehouse (default: run the demo).")
    ap.add_argument("--top-n", type=int, default=50, help="Recommendations in the store.")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from insightloop.features.interactions import Interactions
    from insightloop.models.recommend.neighbours import ItemKNN
    from insightloop.services.context import Context
    from insightloop.services.profiles import refresh_customer_360
    from insightloop.services.recommend import MODEL_NAME, RecommendationServer, load_recommender
    from insightloop.services.serving import build_store
    from insightloop.settings import Settings
    from insightloop.storage.sql import literal

    started = time.perf_counter()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="insightloop-large-") as tmp:
        source = template(args.source, Path(tmp))
        timings["template_s"] = round(time.perf_counter() - started, 1)
        if args.out.exists():
            shutil.rmtree(args.out)
        ctx = Context.from_settings(Settings.load(warehouse=args.out / "warehouse.duckdb",
                                                  env={}))
        settings = ctx.settings
        template_server = load_recommender(
            Context.from_settings(Settings.load(warehouse=source, env={})))
        t = time.perf_counter()
        with ctx.warehouse.connect() as con:
            con.execute(f"ATTACH {literal(str(source))} AS src (READ_ONLY)")
            rows = scale_tables(con, args.customers)
            con.execute("DETACH src")
            refresh_customer_360(con)
            timings["tables_s"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            mat, ids = interactions(con, template_server, args.customers, args.seed)
        inter = Interactions(mat, ids, template_server.item_ids)
        model = ItemKNN(similarity="cosine", neighbours=100).fit(inter)
        catalogue = pd.DataFrame({"product_id": template_server.item_ids,
                                  "description": template_server.descriptions})
        server = RecommendationServer(model, model, None, catalogue,
                                      np.zeros(0, dtype=np.int64), "itemknn", mat)
        ctx.models.save(MODEL_NAME, server, {"task": "recommend", "model": "itemknn",
                                             "users": len(ids), "items": mat.shape[1],
                                             "interactions": int(mat.nnz)})
        timings["recommender_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    store = build_store(ctx, top_n=args.top_n,
                        on_progress=lambda m: print(m, file=sys.stderr, flush=True))
    timings["serving_store_s"] = round(time.perf_counter() - t, 1)
    sizes = {p.name: p.stat().st_size for p in args.out.iterdir() if p.is_file()}
    print(json.dumps({"warehouse": str(settings.warehouse), "customers": args.customers,
                      "rows": rows, "interactions": int(mat.nnz), "store": store,
                      "bytes": sizes, "model_bytes": sum(
                          p.stat().st_size for p in settings.models_dir.rglob("*")
                          if p.is_file()),
                      "timings": timings,
                      "total_s": round(time.perf_counter() - started, 1)}, indent=1))


if __name__ == "__main__":
    main()
