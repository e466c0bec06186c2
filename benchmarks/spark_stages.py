"""Benchmark: the model stages through the CLI on Spark over a lake (local standalone cluster,
two 1-core workers) against DuckDB over a file, at 1x Online Retail.

After ``ingest`` and ``profiles build`` on each engine (setup, timed too), runs one after the
other, as subprocesses (each Spark command starts its own driver JVM, included)::

    insightloop segments build --json
    insightloop clv build --json
    insightloop train churn --model logistic --json
    insightloop score churn --json
    insightloop recommend build --model sar --embedder none --json

Then compares the results: rows of ``rfm`` and ``segment_members`` only on one side, the
largest |CLV| difference, the largest |score| difference, and the recommendation overlap
(share of the DuckDB top-10 the lake's top-10 also holds, per customer, averaged).

    .venv/bin/python benchmarks/spark_stages.py --tmp /tmp/spark-stages
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from ingest_profiles import DEFAULT_FILE  # noqa: E402
from spark_pipeline import run_stage  # noqa: E402

from spark_cluster import standalone_cluster  # noqa: E402

STAGES: list[tuple[str, list[str]]] = [
    ("ingest", ["ingest", "orders", "{file}", "--preset", "online-retail",
                "--max-quarantine-share", "1"]),
    ("profiles build", ["profiles", "build"]),
    ("segments build", ["segments", "build"]),
    ("clv build", ["clv", "build"]),
    ("train churn", ["train", "churn", "--model", "logistic"]),
    ("score", ["score", "churn"]),
    ("recommend build", ["recommend", "build", "--model", "sar", "--embedder", "none"]),
]


def compare(lake: Path, duck: Path) -> dict[str, Any]:
    """How far the lake's tables are from the DuckDB file's."""
    import duckdb

    from insightloop.storage.lake import Lake

    con = duckdb.connect()
    Lake(lake).attach_duckdb(con)
    con.execute(f"ATTACH '{duck}' AS d (READ_ONLY)")
    out: dict[str, Any] = {}
    for table in ("rfm", "segment_members"):
        if not Lake(lake).exists(table):
            out[table] = "not in the lake"
            continue
        one, other = f"SELECT * FROM {table}", f"SELECT * FROM d.{table}"
        (a,) = con.execute(f"SELECT count(*) FROM ({one} EXCEPT ALL {other})").fetchone() or (0,)
        (b,) = con.execute(f"SELECT count(*) FROM ({other} EXCEPT ALL {one})").fetchone() or (0,)
        out[table] = {"only_lake": a, "only_duckdb": b}
    checks = {
        "clv": "SELECT count(*), max(abs(l.clv - f.clv)), max(abs(f.clv)) FROM clv l "
               "FULL JOIN d.clv f USING (customer_id)",
        "scores": "SELECT count(*), max(abs(l.score - f.score)), avg(l.score) FROM scores l "
                  "FULL JOIN d.scores f USING (customer_id)",
        "recommendations": "SELECT count(*), avg((l.product_id IS NOT NULL)::INT) FROM "
                           "d.recommendations f LEFT JOIN recommendations l USING "
                           "(customer_id, product_id) WHERE f.model <> 'popularity'",
    }
    for table, sql in checks.items():
        out[table] = (list(con.execute(sql).fetchone() or ()) if Lake(lake).exists(table)
                      else "not in the lake")
    return out


def _run_engine(engine: str, where: Path, master: str, args: argparse.Namespace
                ) -> dict[str, Any]:
    """Every stage on ``engine`` in a fresh folder ``where``; seconds and errors per stage."""
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir()
    store = where / {"spark": "lake", "duckdb": "wh.duckdb"}[engine]
    env = dict(INSIGHTLOOP_ENGINE=engine, INSIGHTLOOP_WAREHOUSE=str(store),
               INSIGHTLOOP_MODELS=str(where / "models"), INSIGHTLOOP_SPARK_MASTER=master,
               INSIGHTLOOP_SPARK_EXECUTOR_MEMORY=args.executor_memory,
               SPARK_LOCAL_IP="127.0.0.1", OMP_NUM_THREADS="1")
    out: dict[str, Any] = {}
    for name, stage in STAGES:
        res = out[name] = run_stage([a.replace("{file}", str(args.source)) for a in stage], env)
        note = f"  {res['error']}" if res.get("error") else ""
        print(f"{engine:6} {name:16} {res['seconds']:7.1f} s  rc={res['rc']}{note}", flush=True)
    return out


def main() -> None:
    import pyspark

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, kind, default in (("--tmp", Path, None), ("--source", Path, DEFAULT_FILE),
                                ("--executor-memory", str, "1g")):
        parser.add_argument(flag, type=kind, default=default)
    args = parser.parse_args()
    tmp: Path = args.tmp or Path(tempfile.mkdtemp(prefix="spark-stages-"))
    tmp.mkdir(parents=True, exist_ok=True)
    home, logs = Path(pyspark.__file__).parent, tmp / "cluster-logs"
    with standalone_cluster(home, logs, memory="1536m") as master:
        results = {engine: _run_engine(engine, tmp / engine, master, args)
                   for engine in ("spark", "duckdb")}
    results["match"] = compare(tmp / "spark" / "lake", tmp / "duckdb" / "wh.duckdb")
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
