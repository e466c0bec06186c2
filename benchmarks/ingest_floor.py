"""Benchmark: insightloop ingest against DuckDB's own floor, whole process, and a big run.

Default mode builds Online Retail x10 (5.4M lines; replica r's invoice numbers get the
suffix ``-r``, so no line duplicates another) under /tmp, then, ``--repeat`` times each
(median reported), in fresh processes:

* the floor: ``python -c`` that opens a new DuckDB file and runs
  ``CREATE TABLE t AS SELECT * FROM read_csv(...)`` on the file;
* ours: ``insightloop ingest orders FILE --preset online-retail --json`` on a new
  warehouse (the CLI, Python start-up included);
* once more, in one process, ``ingest_file`` with each phase timed (stage, dates,
  typed build, classify, write, ...).

Peak memory is the process's max RSS (``wait4``; it includes any children the process
waited for). The ratio ours / floor (medians) is printed, then a JSON summary.

``--lines N`` (synthetic mode): writes an N-line orders CSV (ISO dates, numeric ids,
one in 10,000 lines invalid) under ``--tmp`` and runs ``insightloop ingest`` then
``insightloop profiles build`` on it, reporting time and peak RSS of each, with
``INSIGHTLOOP_MEMORY_LIMIT`` (default here 2GB) bounding DuckDB.

    .venv/bin/python benchmarks/ingest_floor.py                     # x10, median of 3
    .venv/bin/python benchmarks/ingest_floor.py --scale 1 --repeat 1
    .venv/bin/python benchmarks/ingest_floor.py --anatomy           # the floor's parts
    .venv/bin/python benchmarks/ingest_floor.py --lines 100000000 --tmp /work/tmp
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ingest_profiles import DEFAULT_FILE, replicate  # noqa: E402

CLI = Path(sys.executable).with_name("insightloop")
FLOOR = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); con.execute("
         "\"CREATE TABLE t AS SELECT * FROM read_csv(?)\", [sys.argv[2]]); con.close()")


#: Every process may keep compiled bytecode (as an installed package has; some machines set
#: PYTHONDONTWRITEBYTECODE, and compiling insightloop's sources took 0.46 s per run).
BYTECODE = {"PYTHONDONTWRITEBYTECODE": "",
            "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "insightloop-bench-pyc")}


def run_rss(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``: wall seconds and its own peak RSS in MiB (from ``os.wait4``)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err,
                                env={**os.environ, **BYTECODE, **(env or {})}, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({proc.returncode}): "
                         f"{(stderr.strip().splitlines() or ['?'])[-1]}")
    return {"wall_s": round(wall, 3), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "stdout": stdout.strip().splitlines()[-1] if stdout.strip() else ""}


def floor_once(csv: Path, tmp: Path) -> dict[str, Any]:
    db = tmp / "floor.duckdb"
    db.unlink(missing_ok=True)
    got = run_rss([sys.executable, "-c", FLOOR, str(db), str(csv)])
    db.unlink(missing_ok=True)
    return got


def ours_once(csv: Path, tmp: Path, preset: str | None) -> dict[str, Any]:
    db = tmp / "ours.duckdb"
    db.unlink(missing_ok=True)
    cmd = [str(CLI), "ingest", "orders", str(csv), "--json",
           *(["--preset", preset] if preset else [])]
    got = run_rss(cmd, env={"INSIGHTLOOP_WAREHOUSE": str(db)})
    got["result"] = json.loads(got.pop("stdout"))
    return got


# -- phases (run in a subprocess: --phases) ---------------------------------------------
def phases_main(csv: Path, db: Path, preset: str | None) -> None:
    """One ingest_file in this process with each phase timed by wrapping its functions."""
    from insightloop.storage import ingest as ing
    from insightloop.storage.warehouse import Warehouse

    times: dict[str, float] = {}

    def wrap(module: Any, name: str, label: str) -> None:
        fn = getattr(module, name)

        def timed_fn(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[label] = round(times.get(label, 0.0) + time.perf_counter() - t0, 3)
        setattr(module, name, timed_fn)

    for name, label in [("file_digest", "sha256 + line count"), ("stage_file", "read (stage)"),
                        ("typed_with_dates", "dates + typed build"),
                        ("_classify", "classify"),
                        ("_write", "write (insert + quarantine)"), ("_result", "accounting")]:
        if hasattr(ing, name):
            wrap(ing, name, label)
    t0 = time.perf_counter()
    res = ing.ingest_file(Warehouse(db, memory_limit="2GB"), "orders", csv, preset=preset)
    times["total"] = round(time.perf_counter() - t0, 3)
    print(json.dumps({"phases_s": times, "rows_in": res.rows_in,
                      "rows_loaded": res.rows_loaded}))


# -- anatomy (--anatomy): what any ingest of this table must pay, against the floor -------
ANATOMY_TYPED = """
    CREATE TEMP TABLE typed AS SELECT InvoiceNo AS order_id, (rowid % 7)::BIGINT AS line_no,
        CustomerID AS customer_id, StockCode AS product_id,
        TRY_CAST(Quantity AS BIGINT) AS quantity, TRY_CAST(UnitPrice AS DOUBLE) AS unit_price,
        TRY_CAST(InvoiceDate AS TIMESTAMP) AS order_time, 'online' AS channel,
        CASE WHEN InvoiceNo LIKE 'C%' THEN 'cancelled' ELSE 'completed' END AS status,
        Country AS country, Description AS description, 'GBP' AS currency FROM raw"""
ANATOMY_DIRECT = """
    CREATE TABLE direct AS SELECT InvoiceNo AS order_id, NULL::BIGINT AS line_no,
        CASE WHEN CustomerID LIKE '%.0' THEN CustomerID[:-3] ELSE CustomerID END
            AS customer_id, StockCode AS product_id, Quantity AS quantity,
        UnitPrice AS unit_price, InvoiceDate AS order_time, 'online' AS channel,
        CASE WHEN InvoiceNo ILIKE 'C%' THEN 'cancelled' ELSE 'completed' END AS status,
        Country AS country, Description AS description, 'GBP' AS currency
    FROM read_csv(?, header = true, auto_detect = false, delim = ',', quote = '"',
        escape = '"', store_rejects = true, columns = {'InvoiceNo': 'VARCHAR',
        'StockCode': 'VARCHAR', 'Description': 'VARCHAR', 'Quantity': 'BIGINT',
        'InvoiceDate': 'TIMESTAMP', 'UnitPrice': 'DOUBLE', 'CustomerID': 'VARCHAR',
        'Country': 'VARCHAR'})"""


def anatomy_main(csv: Path, tmp: Path) -> dict[str, Any]:
    """In one process, each step timed (wall and CPU seconds): DuckDB's own load (the
    floor), then the steps no ingest of the canonical ``orders`` table can skip: reading
    the file as text (no type guessed), and writing the 12 canonical columns (8 of them
    text) from memory into a new database file, with the compression settings ours uses."""
    import resource

    import duckdb

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    out: dict[str, Any] = {}
    db = tmp / "anatomy.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute("SET memory_limit = '2GB'")
    steps = [  # the file's path is a bound parameter (?) wherever it is read
        ("floor: CREATE TABLE AS read_csv (types guessed)",
         "CREATE TABLE floor AS SELECT * FROM read_csv(?)"),
        ("read as text into memory",
         "CREATE TEMP TABLE raw AS SELECT * FROM read_csv(?, all_varchar = true)"),
        ("type in memory (casts only, no checks)", ANATOMY_TYPED),
        ("write the 12 canonical columns (fsst off, as ours)",
         "CREATE TABLE orders AS FROM typed"),
        ("write the 8 columns the file has", "CREATE TABLE eight AS SELECT order_id, "
         "customer_id, product_id, quantity, unit_price, order_time, country, description "
         "FROM typed"),
        # The cheapest single pass there is: DuckDB's own typed parser (the types given, no
        # sniffing, bad fields to its rejects table) straight into the 12 canonical columns,
        # with no line numbers (line_no needs each order's first line: a second pass or a
        # window) and no checks.
        ("typed read straight into the 12 canonical columns (no line_no, no checks)",
         ANATOMY_DIRECT),
        ("the same with line_no from row_number() OVER () (a window)",
         ANATOMY_DIRECT.replace("direct AS", "direct_ln AS").replace(
             "NULL::BIGINT AS line_no", "row_number() OVER () AS line_no")),
    ]
    for label, sql in steps:
        if label.startswith("write the 12"):
            con.execute("SET disabled_compression_methods = 'fsst'")
        t0, c0 = time.perf_counter(), cpu()
        con.execute(sql, [str(csv)] if "?" in sql else None)
        out[label] = {"wall_s": round(time.perf_counter() - t0, 2),
                      "cpu_s": round(cpu() - c0, 2)}
        print(f"{out[label]['wall_s']:6.2f} s wall {out[label]['cpu_s']:6.2f} s CPU  {label}",
              file=sys.stderr, flush=True)
    con.close()
    db.unlink(missing_ok=True)
    return out


# -- synthetic ---------------------------------------------------------------------------
def write_synthetic(dest: Path, lines: int) -> None:
    """An orders CSV of ``lines`` data lines, generated by DuckDB (streamed to disk)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute(f"""
        COPY (
          SELECT 'O' || (i // 4) AS order_id, 'P' || (hash(i) % 5000) AS product_id,
                 CASE WHEN i % 10000 = 7 THEN 'x' ELSE (1 + hash(i * 3) % 9)::VARCHAR END
                     AS quantity,
                 strftime(TIMESTAMP '2020-01-01' + to_seconds((i // 4) % 94608000),
                          '%Y-%m-%d %H:%M:%S') AS order_time,
                 round(0.5 + (hash(i * 7) % 2000) / 100.0, 2) AS unit_price,
                 'C' || ((i // 4) % {max(lines // 40, 1)}) AS customer_id,
                 'GB' AS country
          FROM range({lines}) r(i)
        ) TO '{dest}' (HEADER, DELIMITER ',')
    """)
    con.close()


def synthetic(lines: int, tmp: Path) -> dict[str, Any]:
    free = shutil.disk_usage(tmp).free / 2**30
    csv = tmp / f"synthetic_{lines}.csv"
    t0 = time.perf_counter()
    if not csv.exists():
        write_synthetic(csv, lines)
    out: dict[str, Any] = {"lines": lines, "disk_free_gib_before": round(free, 1),
                           "csv_gib": round(csv.stat().st_size / 2**30, 2),
                           "write_csv_s": round(time.perf_counter() - t0, 1)}
    db = tmp / "synthetic.duckdb"
    db.unlink(missing_ok=True)
    env = {"INSIGHTLOOP_WAREHOUSE": str(db), "INSIGHTLOOP_MEMORY_LIMIT": "2GB",
           "TMPDIR": str(tmp)}
    ing = run_rss([str(CLI), "ingest", "orders", str(csv), "--json"], env=env)
    out["ingest"] = {**ing, "result": json.loads(ing.pop("stdout"))}
    print(json.dumps({"ingest": out["ingest"]}), flush=True)
    prof = run_rss([str(CLI), "profiles", "build", "--json"], env=env)
    out["profiles_build"] = prof
    out["warehouse_gib"] = round(db.stat().st_size / 2**30, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--lines", type=int, default=0, help="synthetic mode: N lines")
    ap.add_argument("--phases", nargs=2, type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--anatomy", action="store_true",
                    help="time the floor and the steps no ingest can skip, in one process")
    ap.add_argument("--preset", default="online-retail", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phases:
        phases_main(args.phases[0], args.phases[1], args.preset or None)
        return
    args.tmp.mkdir(parents=True, exist_ok=True)
    if args.lines:
        print(json.dumps(synthetic(args.lines, args.tmp)))
        return
    if not args.file.exists():
        raise SystemExit(f"{args.file}: not found; pass --file")
    csv = args.tmp / f"online_retail_x{args.scale}.csv"
    if not csv.exists():
        replicate(args.file, csv, args.scale)
    if args.anatomy:
        print(json.dumps(anatomy_main(csv, args.tmp)))
        return
    warm = args.tmp / "warm.csv"  # an untimed run of each first: bytecode compiled, cached
    warm.write_text("order_id,product_id,quantity,unit_price,order_time,customer_id\n"
                    "A,P1,1,2.0,2024-01-02,c1\n", encoding="utf-8")
    floor_once(warm, args.tmp)
    ours_once(warm, args.tmp, None)
    floors, ours = [], []
    for _ in range(args.repeat):  # interleaved, so load drift hits both alike
        floors.append(floor_once(csv, args.tmp))
        ours.append(ours_once(csv, args.tmp, args.preset))
        print(f"floor {floors[-1]['wall_s']:.2f} s  ours {ours[-1]['wall_s']:.2f} s",
              file=sys.stderr, flush=True)
    db = args.tmp / "phases.duckdb"
    db.unlink(missing_ok=True)
    ph = run_rss([sys.executable, __file__, "--phases", str(csv), str(db)])
    db.unlink(missing_ok=True)
    f_med = statistics.median(r["wall_s"] for r in floors)
    o_med = statistics.median(r["wall_s"] for r in ours)
    summary = {
        "file": str(csv), "lines": ours[0]["result"]["rows_in"] + 1,
        "floor_wall_s": [r["wall_s"] for r in floors], "floor_median_s": f_med,
        "floor_peak_rss_mib": max(r["peak_rss_mib"] for r in floors),
        "ours_wall_s": [r["wall_s"] for r in ours], "ours_median_s": o_med,
        "ours_peak_rss_mib": max(r["peak_rss_mib"] for r in ours),
        "ratio": round(o_med / f_med, 2), "result": ours[0]["result"],
        "floor_cpu_s": [r["cpu_s"] for r in floors], "ours_cpu_s": [r["cpu_s"] for r in ours],
        "cpu_ratio": round(statistics.median(r["cpu_s"] for r in ours)
                           / statistics.median(r["cpu_s"] for r in floors), 2),
        "phases": json.loads(ph["stdout"]),
    }
    print(f"ours / DuckDB floor (median of {args.repeat}, whole process): "
          f"{summary['ratio']:.2f}x  ({o_med:.2f} s vs {f_med:.2f} s), peak RSS "
          f"{summary['ours_peak_rss_mib']:.0f} MiB", file=sys.stderr)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
