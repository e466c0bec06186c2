"""Benchmark: insightloop (DuckDB) vs plain pandas for Online Retail ingest + profiles.

Each engine runs in its own fresh subprocess, so peak RSS (``ru_maxrss``) is that
engine's alone; both read the same file. The parent checks that the outputs agree
(customers, frequency, monetary) and prints time / memory ratios, rows per second,
and with ``--scale N`` (N > 1) the near-linearity ratio time(N×) / (N · time(1×)).

    .venv/bin/python benchmarks/ingest_profiles.py                 # 1×
    .venv/bin/python benchmarks/ingest_profiles.py --scale 10      # 1× and 10×
    .venv/bin/python benchmarks/ingest_profiles.py --engines insightloop --scale 10

A JSON summary is the last thing printed. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_FILE = HERE.parent.parent / "shared" / "data" / "online_retail" / "online_retail.csv"
ENGINES = ("insightloop", "pandas")


def peak_rss_mib() -> float:
    # Linux reports KiB, macOS bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


# -- workers (run in a subprocess) -----------------------------------------------------------
def work_insightloop(path: Path, out: Path, tmp: Path) -> dict[str, Any]:
    from insightloop.services.context import Context
    from insightloop.services.ingest import ingest_result
    from insightloop.services.profiles import build_profiles
    from insightloop.settings import Settings

    base_rss = peak_rss_mib()
    wh_path = tmp / "bench.duckdb"
    steps: dict[str, float] = {}
    mark: list[Any] = [time.perf_counter(), ""]

    def progress(msg: str) -> None:
        now = time.perf_counter()
        if mark[1]:
            steps[str(mark[1])] = round(now - float(mark[0]), 3)
        mark[0], mark[1] = now, msg

    # product defaults: 2 GB memory limit
    ctx = Context.from_settings(Settings.load(warehouse=wh_path, env={}))
    t0 = time.perf_counter()
    res = ingest_result(ctx, "orders", path, preset="online-retail", on_progress=progress)
    t1 = time.perf_counter()
    summary = build_profiles(ctx)
    t2 = time.perf_counter()
    import duckdb

    con = duckdb.connect(str(wh_path), read_only=True)
    con.execute("SELECT customer_id, frequency, monetary FROM profiles ORDER BY customer_id"
                ).df().to_parquet(out)
    con.close()
    return {"ingest_s": t1 - t0, "profiles_s": t2 - t1, "total_s": t2 - t0,
            "ingest_steps_s": steps, "rows_in": res.rows_in, "rows_loaded": res.rows_loaded,
            "rows_quarantined": res.rows_quarantined, "customers": summary["customers"],
            "import_rss_mib": base_rss}


def work_pandas(path: Path, out: Path, tmp: Path) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import pandas_reference as ref

    base_rss = peak_rss_mib()
    t0 = time.perf_counter()
    loaded, quarantine = ref.ingest(path)
    t1 = time.perf_counter()
    prof = ref.profiles(loaded)
    t2 = time.perf_counter()
    prof[["customer_id", "frequency", "monetary"]].to_parquet(out)
    return {"ingest_s": t1 - t0, "profiles_s": t2 - t1, "total_s": t2 - t0,
            "rows_in": len(loaded) + len(quarantine), "rows_loaded": len(loaded),
            "rows_quarantined": len(quarantine), "customers": len(prof),
            "import_rss_mib": base_rss}


def worker_main(engine: str, path: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="il-bench-") as tmp:
        fn = work_insightloop if engine == "insightloop" else work_pandas
        result = fn(path, out, Path(tmp))
    result["peak_rss_mib"] = peak_rss_mib()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)  # robust to a busy machine
    print(json.dumps(result))


# -- parent ----------------------------------------------------------------------------------
def replicate(src: Path, dest: Path, times: int, customers: bool = False) -> int:
    """Write ``src`` ``times`` times; replica r's invoice numbers get suffix ``-r``.

    The suffix keeps cancellation invoices starting with ``C`` and makes the
    (order_id, line_no) keys of every replica distinct. ``customers``: replica r's
    customer ids also become new ones (``17850.0`` -> ``117850`` in replica 1), so x10
    has ten times the customers too (the id is the second-to-last field: Online Retail's
    country names hold no comma). Returns data rows written.
    """
    rows = 0
    with dest.open("w", encoding="utf-8", newline="") as out:
        for r in range(times):
            suffix = f"-{r}" if r else ""
            with src.open("r", encoding="utf-8", newline="") as fh:  # streamed: low RSS
                header = fh.readline()
                if r == 0:
                    out.write(header)
                for line in fh:
                    if suffix:
                        i = line.index(",")
                        line = line[:i] + suffix + line[i:]
                    if r and customers:
                        head, cid, country = line.rsplit(",", 2)
                        if cid.strip():
                            cid = str(int(float(cid)) + r * 100_000)
                        line = f"{head},{cid},{country}"
                    out.write(line)
                    rows += 1
    return rows


def run_engine(engine: str, path: Path, tmp: Path, repeat: int) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    for attempt in range(repeat):
        out = tmp / f"{engine}-{path.stem}-{attempt}.parquet"
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", engine, "--file", str(path), "--out", str(out)],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        if proc.returncode != 0:
            return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip()
                    else f"exit {proc.returncode}", "returncode": proc.returncode}
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["output"] = str(out)
        if best is None or result["total_s"] < best["total_s"]:
            best = result
    assert best is not None
    return best


def agree(a: Path, b: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    x, y = pd.read_parquet(a), pd.read_parquet(b)
    same_customers = x["customer_id"].astype(str).tolist() == y["customer_id"].astype(str).tolist()
    out: dict[str, Any] = {"customers_equal": same_customers}
    if same_customers:
        out["frequency_equal"] = bool((x["frequency"].to_numpy() == y["frequency"].to_numpy())
                                      .all())
        out["monetary_max_abs_diff"] = float(
            np.abs(x["monetary"].to_numpy(float) - y["monetary"].to_numpy(float)).max())
    out["ok"] = bool(same_customers and out.get("frequency_equal")
                     and out.get("monetary_max_abs_diff", 1.0) < 1e-6)
    return out


def bench(path: Path, engines: list[str], tmp: Path, repeat: int) -> dict[str, Any]:
    res: dict[str, Any] = {}
    for engine in engines:
        print(f"  {engine} on {path.name} ...", flush=True)
        r = run_engine(engine, path, tmp, repeat)
        res[engine] = r
        if "error" in r:
            print(f"    FAILED: {r['error']}")
            continue
        r["rows_per_s"] = round(r["rows_in"] / r["total_s"])
        steps = r.get("ingest_steps_s")
        print(f"    total {r['total_s']:.2f}s (ingest {r['ingest_s']:.2f}s, profiles "
              f"{r['profiles_s']:.2f}s), CPU {r['cpu_s']:.1f}s, {r['rows_per_s']:,} rows/s, "
              "peak RSS "
              f"{r['peak_rss_mib']:.0f} MiB" + (f", steps {steps}" if steps else ""))
    il, pd_ = res.get("insightloop", {}), res.get("pandas", {})
    if "total_s" in il and "total_s" in pd_:
        res["speedup_vs_pandas"] = round(pd_["total_s"] / il["total_s"], 3)
        res["peak_rss_ratio_pandas_over_insightloop"] = round(
            pd_["peak_rss_mib"] / il["peak_rss_mib"], 3)
        res["agreement"] = agree(Path(il["output"]), Path(pd_["output"]))
        print(f"    speed-up vs pandas: {res['speedup_vs_pandas']}×; peak RSS pandas / "
              f"insightloop: {res['peak_rss_ratio_pandas_over_insightloop']}×; "
              f"outputs agree: {res['agreement']['ok']}")
    for engine in engines:
        res.get(engine, {}).pop("output", None)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--scale", type=int, default=1, help="also run on the file replicated N×")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine; the fastest counts")
    ap.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker_main(args.worker, args.file, args.out)
        return 0
    if not args.file.exists():
        print(f"input {args.file} not found; pass --file (UCI Online Retail CSV)")
        return 2
    engines = [e for e in args.engines.split(",") if e]
    summary: dict[str, Any] = {"file": str(args.file), "cpus": os.cpu_count(), "scales": {}}
    with tempfile.TemporaryDirectory(prefix="il-bench-") as td:
        tmp = Path(td)
        print("scale 1×", flush=True)
        summary["scales"]["1"] = bench(args.file, engines, tmp, args.repeat)
        if args.scale > 1:
            big = tmp / f"online_retail_x{args.scale}.csv"
            t = time.perf_counter()
            rows = replicate(args.file, big, args.scale)
            print(f"scale {args.scale}× ({rows:,} rows, written in "
                  f"{time.perf_counter() - t:.1f}s)", flush=True)
            big_res = bench(big, engines, tmp, args.repeat)
            big.unlink()
            summary["scales"][str(args.scale)] = big_res
            lin: dict[str, float] = {}
            for engine in engines:
                small, large = summary["scales"]["1"].get(engine, {}), big_res.get(engine, {})
                if "total_s" in small and "total_s" in large:
                    lin[engine] = round(large["total_s"] / small["total_s"], 3)
            summary["time_ratio_scale_over_1x"] = lin
            summary["linearity"] = {e: round(v / args.scale, 3) for e, v in lin.items()}
            print(f"time({args.scale}×)/time(1×): {lin} (perfectly linear = {args.scale})")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
