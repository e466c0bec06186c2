"""Benchmark: the pipeline through the CLI on Spark over a lake (local standalone cluster,
two workers) against DuckDB over a file, at 1x and 10x Online Retail.

For each scale (x1: the 541,909-line Online Retail CSV in /work/shared/data; x10: ten
replicas with distinct invoice numbers, see ``ingest_profiles.replicate``) and each engine,
runs as subprocesses, one after the other::

    insightloop ingest orders FILE --preset online-retail --max-quarantine-share 1 --json
    insightloop profiles build --json
    insightloop clv build --json
    insightloop train churn --json
    insightloop score churn --json

with ``INSIGHTLOOP_ENGINE=spark``, ``INSIGHTLOOP_WAREHOUSE=<lake folder>`` and
``INSIGHTLOOP_SPARK_MASTER`` the cluster's URL, then with ``INSIGHTLOOP_ENGINE=duckdb`` on a
``.duckdb`` file. Every Spark command starts its own driver JVM (included in its time). A
stage that fails is reported with its error line (e.g. a stage that does not run on a lake
yet) and the later stages still run. Then it compares the lake's orders, profiles and clv
with the DuckDB file's (rows only in one of them; the largest CLV difference).

    .venv/bin/python benchmarks/spark_pipeline.py                   # x1 and x10
    .venv/bin/python benchmarks/spark_pipeline.py --scales 1 --tmp /tmp/spark-bench
    .venv/bin/python benchmarks/spark_pipeline.py --distinct-customers   # x10 customers too
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from ingest_profiles import DEFAULT_FILE, replicate  # noqa: E402

from spark_cluster import standalone_cluster  # noqa: E402

CLI = Path(sys.executable).with_name("insightloop")
STAGES: list[tuple[str, list[str]]] = [
    ("ingest", ["ingest", "orders", "{file}", "--preset", "online-retail",
                "--max-quarantine-share", "1"]),
    ("profiles build", ["profiles", "build"]),
    ("clv build", ["clv", "build"]),
    ("train churn", ["train", "churn"]),
    ("score", ["score", "churn"]),
]
ORDER_COLS = "order_id, line_no, customer_id, product_id, quantity, unit_price, order_time"


def run_stage(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    proc = subprocess.run([str(CLI), *args, "--json"], env={**os.environ, **env},
                          capture_output=True, text=True, check=False)
    out: dict[str, Any] = {"seconds": round(time.perf_counter() - t0, 1), "rc": proc.returncode}
    if proc.returncode:
        lines = [x for x in (proc.stderr or proc.stdout).splitlines() if x.strip()]
        out["error"] = lines[-1][:300] if lines else ""
    return out


def compare(lake: Path, duck: Path) -> dict[str, Any]:
    """Rows of orders / profiles only on one side, and the largest |CLV difference|."""
    import duckdb

    from insightloop.storage.lake import Lake

    con = duckdb.connect()
    Lake(lake).attach_duckdb(con)
    con.execute(f"ATTACH '{duck}' AS d (READ_ONLY)")
    out: dict[str, Any] = {}
    for table, cols in (("orders", ORDER_COLS), ("profiles", "*")):
        if not Lake(lake).exists(table):
            out[table] = "not in the lake"
            continue
        one = f"SELECT {cols} FROM {table}"
        other = f"SELECT {cols} FROM d.{table}"
        (a,) = con.execute(f"SELECT count(*) FROM ({one} EXCEPT ALL {other})").fetchone() or (0,)
        (b,) = con.execute(f"SELECT count(*) FROM ({other} EXCEPT ALL {one})").fetchone() or (0,)
        (n,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
        out[table] = {"rows": n, "only_lake": a, "only_duckdb": b}
    if Lake(lake).exists("clv"):
        row = con.execute("SELECT count(*), max(abs(l.clv - f.clv)), max(abs(f.clv)) FROM clv l "
                          "FULL JOIN d.clv f USING (customer_id)").fetchone()
        out["clv"] = {"rows": row[0], "max_abs_diff": row[1], "max_abs_clv": row[2]} \
            if row else None
    else:
        out["clv"] = "not in the lake"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--distinct-customers", action="store_true",
                        help="replicas get new customer ids too (x10: 10x the customers)")
    parser.add_argument("--tmp", type=Path, default=None)
    parser.add_argument("--source", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--executor-memory", default="1g")
    args = parser.parse_args()
    import pyspark

    tmp = args.tmp or Path(tempfile.mkdtemp(prefix="spark-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    with standalone_cluster(Path(pyspark.__file__).parent, tmp / "cluster-logs",
                            memory="1536m") as master:
        for scale in args.scales:
            data = tmp / f"online_retail_x{scale}{'c' if args.distinct_customers else ''}.csv"
            if not data.exists():
                replicate(args.source, data, scale, customers=args.distinct_customers)
            per: dict[str, Any] = {}
            for engine in ("spark", "duckdb"):
                where = tmp / f"x{scale}-{engine}"
                shutil.rmtree(where, ignore_errors=True)
                where.mkdir()
                warehouse = where / ("lake" if engine == "spark" else "wh.duckdb")
                env = {"INSIGHTLOOP_ENGINE": engine, "INSIGHTLOOP_WAREHOUSE": str(warehouse),
                       "INSIGHTLOOP_MODELS": str(where / "models"),
                       "INSIGHTLOOP_SPARK_MASTER": master,
                       "INSIGHTLOOP_SPARK_EXECUTOR_MEMORY": args.executor_memory,
                       "SPARK_LOCAL_IP": "127.0.0.1", "OMP_NUM_THREADS": "1"}
                per[engine] = {}
                for name, stage in STAGES:
                    cmd = [a.replace("{file}", str(data)) for a in stage]
                    per[engine][name] = res = run_stage(cmd, env)
                    print(f"x{scale} {engine:6} {name:15} {res['seconds']:7.1f} s  rc={res['rc']}"
                          + (f"  {res['error']}" if res.get("error") else ""), flush=True)
            per["match"] = compare(tmp / f"x{scale}-spark" / "lake",
                                   tmp / f"x{scale}-duckdb" / "wh.duckdb")
            print(f"x{scale} match: {json.dumps(per['match'], default=str)}", flush=True)
            results[f"x{scale}"] = per
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
