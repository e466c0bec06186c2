"""Load benchmark of ``insightloop serve`` on loopback: latency percentiles, errors, RSS.

Standalone: ``.venv/bin/python benchmarks/serve_load.py [--seconds 10] [--workers 1,2]``.
One run covers several warehouses (``--warehouses``, default all that are available):

* ``demo`` — the demo run into a temporary folder (or ``--warehouse W``);
* ``large`` — the synthetic 1,000,000-customer warehouse of
  ``benchmarks/make_large_warehouse.py`` (``--large``, default
  ``/tmp/insightloop-large/warehouse.duckdb``; skipped with a note when missing);
* ``retail`` — the full UCI Online Retail file from ``/work/shared/data`` run through the
  demo pipeline once into ``--retail`` (default ``/tmp/insightloop-retail``; skipped when
  the shared data is absent).

For each warehouse and each worker count it creates a read key, starts the real server
(``insightloop serve --workers N``, uvicorn) as a subprocess on a free port, and drives it
from this process with a minimal keep-alive HTTP/1.1 client on asyncio. Endpoints: the
customer 360 profile, stored scores and recommendations (``n=10``), each over random
customers, **open loop at a fixed rate** (``--rate``, default 200 req/s): requests are
scheduled on a clock and latency counts from the scheduled time, so a slow server cannot
hide queueing (no coordinated omission). Then a soak (``--soak-seconds``) mixes the three
endpoints at the same rate; the resident memory (RSS) of the server's whole process tree
is reported before the first scenario and after the soak. ``--dashboard`` adds the
original dashboard scenarios (every page once, the heaviest page and the customer page,
open and closed loop) on the demo. Prints one JSON object; a line per scenario on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from itertools import cycle
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

PAGES = ("/", "/rfm", "/segments", "/customers", "/recommendations", "/sentiment",
         "/quality", "/models")


class Conn:
    """One keep-alive HTTP/1.1 connection; ``get`` returns (status, body length)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, int]:
        """Status and body length; a dropped connection counts as status 599 (reconnects)."""
        try:
            return await self._get(path)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.writer = None
            return 599, 0

    async def _get(self, path: str) -> tuple[int, int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.extra}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(h.split(":", 1)[1]) for h in lines[1:]
                      if h.lower().startswith("content-length:"))
        await self.reader.readexactly(length)
        return status, length


def summary(lat: list[float], statuses: list[int], seconds: float) -> dict[str, Any]:
    arr = np.asarray(lat) * 1000
    bad = sum(s != 200 for s in statuses)
    return {"requests": len(lat), "req_per_s": round(len(lat) / seconds, 1),
            "p50_ms": round(float(np.percentile(arr, 50)), 2),
            "p90_ms": round(float(np.percentile(arr, 90)), 2),
            "p95_ms": round(float(np.percentile(arr, 95)), 2),
            "p99_ms": round(float(np.percentile(arr, 99)), 2),
            "max_ms": round(float(arr.max()), 2), "non_200": bad}


async def closed_loop(port: int, headers: dict[str, str], paths: list[str], concurrency: int,
                      seconds: float) -> dict[str, Any]:
    lat: list[float] = []
    statuses: list[int] = []
    it = cycle(paths)
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        conn = Conn(port, headers)
        while time.perf_counter() < stop:
            t = time.perf_counter()
            status, _ = await conn.get(next(it))
            lat.append(time.perf_counter() - t)
            statuses.append(status)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"mode": "closed", "concurrency": concurrency,
            **summary(lat, statuses, time.perf_counter() - start)}


async def open_loop(port: int, headers: dict[str, str], paths: list[str], rate: float,
                    seconds: float, connections: int,
                    timeline: Path | None = None) -> dict[str, Any]:
    """Requests scheduled on a clock at ``rate``; latency counts from the scheduled time.

    The generator must not stall itself: a long soak creates ~10^5 requests, and with
    every task and result kept as Python objects the client's own garbage collector paused
    it for 0.1-1.5 s (measured with ``gc.callbacks``), which the open loop charged to the
    server. So the cyclic collector is off while measuring (nothing here makes cycles that
    outlive a request), results go into preallocated arrays, and finished tasks are not kept.
    ``timeline``: also write each request's scheduled wall-clock time, latency and status
    there (``.npz``), to line stalls up with what the server was doing at that moment.
    """
    n = int(rate * seconds)
    lat = np.empty(n)
    status_arr = np.zeros(n, dtype=np.int32)
    free: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(Conn(port, headers))
    it = cycle(paths)
    pending: set[asyncio.Task[None]] = set()
    gc.collect()
    gc.freeze()
    gc.disable()
    start = time.perf_counter()
    wall_start = time.time()

    async def one(i: int, when: float, path: str) -> None:
        conn = await free.get()
        try:
            status, _ = await conn.get(path)
        finally:
            free.put_nowait(conn)
        lat[i] = time.perf_counter() - when
        status_arr[i] = status

    try:
        for i in range(n):
            when = start + i / rate
            delay = when - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(i, when, next(it)))
            pending.add(task)
            task.add_done_callback(pending.discard)
        while pending:
            await asyncio.gather(*list(pending))
    finally:
        gc.enable()
        gc.unfreeze()
    if timeline is not None:
        np.savez(timeline, sent=wall_start + np.arange(n) / rate, latency_s=lat,
                 status=status_arr)
    return {"mode": "open", "target_rate": rate, "connections": connections,
            **summary(lat.tolist(), status_arr.tolist(), time.perf_counter() - start)}


async def single(port: int, headers: dict[str, str], path: str, n: int) -> dict[str, Any]:
    """Median time of ``n`` sequential requests on one keep-alive connection (after one)."""
    conn = Conn(port, headers)
    await conn.get(path)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        status, length = await conn.get(path)
        times.append(time.perf_counter() - t)
        assert status == 200, (path, status)
    return {"median_ms": round(float(np.median(times)) * 1000, 2),
            "max_ms": round(max(times) * 1000, 2), "bytes": length}


def server_side(path: Path, log: Any) -> dict[str, Any]:
    """Per route, time inside the server (the access log's duration): p50/p99 in ms."""
    log.flush()
    by: dict[str, list[float]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if "insightloop.api.access" in line and parts[-1].endswith("ms"):
            by.setdefault(f"{parts[3]} {parts[4]}", []).append(float(parts[-1][:-2]))
    return {route: {"requests": len(v), "p50_ms": round(float(np.percentile(v, 50)), 2),
                    "p99_ms": round(float(np.percentile(v, 99)), 2)}
            for route, v in by.items() if len(v) >= 100}


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn's workers, multiprocessing helpers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (Linux /proc)."""
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int, kind: str = "VmRSS") -> float:
    """Resident memory of a process and its descendants, in MB. ``kind``: ``VmRSS`` (all),
    ``RssAnon`` (the processes' own memory: what a leak grows) or ``RssFile`` (mapped files,
    e.g. the serving store's pages: shared with the page cache, not a leak)."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(f"{kind}:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def login_cookie(port: int, key: str) -> str:
    import httpx

    r = httpx.post(f"http://127.0.0.1:{port}/login", data={"key": key, "next": "/"})
    cookie = r.headers.get("set-cookie") or r.history[0].headers["set-cookie"]
    return cookie.split(";", 1)[0]


RETAIL = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail" / \
    "online_retail.csv"


def demo_warehouse(args: argparse.Namespace, tmp: Path) -> Path:
    if args.warehouse is not None:
        return Path(args.warehouse)
    warehouse = tmp / "demo" / "warehouse.duckdb"
    subprocess.run([str(Path(sys.executable).parent / "insightloop"), "demo", "--no-serve",
                    "--json", "--warehouse", str(warehouse)], check=True,
                   stdout=subprocess.DEVNULL)
    return warehouse


def retail_warehouse(folder: Path) -> Path | None:
    """The full Online Retail file through the demo pipeline (without the review sentiment
    stage), once (reused afterwards)."""
    warehouse = folder / "warehouse.duckdb"
    if (folder / "done").exists():
        return warehouse
    if not RETAIL.exists():
        return None
    import shutil

    from insightloop import capabilities
    from insightloop.services.context import Context
    from insightloop.services.demo import run_stages
    from insightloop.services.ingest import ingest
    from insightloop.settings import Settings

    shutil.rmtree(folder, ignore_errors=True)
    ctx = Context.from_settings(Settings.load(warehouse=warehouse, env={}))
    print(f"building the full Online Retail warehouse in {folder}", file=sys.stderr)
    ingest(ctx, "orders", RETAIL, preset="online-retail")
    # The demo's stages after its sample ingest, without review sentiment (reviews are not
    # served by the hot endpoints).
    run_stages(ctx, [s for s in capabilities.stages()
                     if s.name != "ingest" and "sentiment" not in s.label])
    (folder / "done").write_text("ok")
    return warehouse


class Server:
    """``insightloop serve`` as a subprocess (its stderr kept for the server-side timings)."""

    def __init__(self, warehouse: Path, workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.log = log_path.open("w")
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "passive"}
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "insightloop"), "serve", "--warehouse",
             str(warehouse), "--port", str(self.port), "--rate", "1000000", "--burst",
             "1000000", "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
            stderr=self.log)
        import httpx

        deadline = time.monotonic() + 1800  # a first start may build the serving store
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.log.flush()
                raise SystemExit(f"server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        self.startup_s = round(time.perf_counter() - started, 1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()


def scenario(srv: Server, name: str, headers: dict[str, str], paths: list[str],
             args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    cpu = cpu_seconds(srv.proc.pid)
    timeline = None
    if args.timeline is not None:
        args.timeline.mkdir(parents=True, exist_ok=True)
        timeline = args.timeline / (name.replace(" ", "_").replace("/", "") + ".npz")
    r = asyncio.run(open_loop(srv.port, headers, paths, args.rate, seconds, args.connections,
                              timeline))
    # Server CPU per request: robust to other load on the machine.
    r["server_cpu_ms_per_request"] = round(
        (cpu_seconds(srv.proc.pid) - cpu) / r["requests"] * 1000, 3)
    print(f"{name:36s} {r['req_per_s']:7.1f} req/s  p50 {r['p50_ms']:7.2f}  p95 "
          f"{r['p95_ms']:7.2f}  p99 {r['p99_ms']:7.2f} ms  cpu "
          f"{r['server_cpu_ms_per_request']:6.2f} ms/req  non-200 {r['non_200']}",
          file=sys.stderr)
    return r


def run_one(label: str, warehouse: Path, workers: int, args: argparse.Namespace,
            tmp: Path) -> dict[str, Any]:
    import httpx

    from insightloop.services.context import Context
    from insightloop.services.keys import create_key
    from insightloop.services.serving import store_status
    from insightloop.settings import Settings

    settings = Settings.load(warehouse=warehouse, env={})
    key = create_key(Context.from_settings(settings), "read", "load benchmark")["key"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ids = [r[0] for r in con.execute(
            "SELECT customer_id FROM profiles USING SAMPLE 20000 ROWS (reservoir, 7)"
        ).fetchall()]
    rng = np.random.default_rng(0)
    ids = [ids[i] for i in rng.permutation(len(ids))]
    log_path = tmp / f"server-{label}-{workers}.log"
    srv = Server(warehouse, workers, log_path)
    out: dict[str, Any] = {"warehouse": label, "path": str(warehouse), "workers": workers,
                           "startup_s": srv.startup_s}
    try:
        out["store"] = store_status(Context.from_settings(settings))
        with duckdb.connect(str(warehouse), read_only=True) as con:
            out["customers"] = con.execute("SELECT count(*) FROM profiles").fetchone()[0]  # type: ignore[index]
        api = {"X-API-Key": key}
        base = f"http://127.0.0.1:{srv.port}/api/v1/customers"
        for cid in ids[:20]:  # warm every worker's connections and caches
            httpx.get(f"{base}/{cid}/recommendations", headers=api, timeout=120)
        # Each process computes the dashboard aggregates in a thread at start: let it finish.
        time.sleep(args.settle_seconds)
        out["rss_mb_start"] = rss_mb(srv.proc.pid)
        out["rss_anon_mb_start"] = rss_mb(srv.proc.pid, "RssAnon")
        paths = {"profile": [f"/api/v1/customers/{c}" for c in ids],
                 "scores": [f"/api/v1/customers/{c}/scores" for c in ids],
                 "recommendations": [f"/api/v1/customers/{c}/recommendations?n=10"
                                     for c in ids]}
        out["results"] = {
            name: scenario(srv, f"{label} w{workers} {name}", api, p, args, args.seconds)
            for name, p in paths.items() if args.only in name}
        if args.soak_seconds > 0:
            mixed = [p for trio in zip(*paths.values(), strict=True) for p in trio]
            out["soak"] = scenario(srv, f"{label} w{workers} soak (mixed)", api, mixed, args,
                                   args.soak_seconds)
        out["rss_mb_end"] = rss_mb(srv.proc.pid)
        out["rss_anon_mb_end"] = rss_mb(srv.proc.pid, "RssAnon")
        out["rss_file_mb_end"] = rss_mb(srv.proc.pid, "RssFile")
        if args.dashboard and label == "demo" and workers == 1:
            out["dashboard"] = dashboard(srv, key, ids, args)
        out["server_side_ms"] = server_side(log_path, srv.log)
    except Exception:
        srv.log.flush()
        lines = log_path.read_text().splitlines()
        print("\n".join(x for x in lines if "insightloop.api.access" not in x)[-3000:],
              file=sys.stderr)
        raise
    finally:
        srv.stop()
    return out


def dashboard(srv: Server, key: str, ids: list[str], args: argparse.Namespace
              ) -> dict[str, Any]:
    """Every page once (median of 20), then the heaviest page and the customer page."""
    cookie = {"Cookie": login_cookie(srv.port, key)}
    pages = {page: asyncio.run(single(srv.port, cookie, page, 20)) for page in PAGES}
    heaviest = max(pages, key=lambda p: pages[p]["median_ms"])
    out: dict[str, Any] = {"pages_single_request": pages, "heaviest_page": heaviest}
    for name, paths in ((f"dashboard {heaviest}", [heaviest]),
                        ("dashboard /customers/{id}", [f"/customers/{c}" for c in ids])):
        res = [scenario(srv, name, cookie, paths, args, args.seconds)]
        res.append(asyncio.run(closed_loop(srv.port, cookie, paths, args.concurrency,
                                           args.seconds)))
        out[name] = res
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warehouses", default="demo,large,retail")
    ap.add_argument("--warehouse", type=Path, help="Use this warehouse as 'demo'.")
    ap.add_argument("--large", type=Path, default=Path("/tmp/insightloop-large/warehouse.duckdb"))
    ap.add_argument("--retail", type=Path, default=Path("/tmp/insightloop-retail"))
    ap.add_argument("--workers", default="1,2", help="Worker counts to run, comma-separated.")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--soak-seconds", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--settle-seconds", type=float, default=20.0,
                    help="Pause after start-up before measuring (dashboard warm-up thread).")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--dashboard", action="store_true", help="Also the dashboard scenarios.")
    ap.add_argument("--only", default="", help="Run only endpoints whose name contains this.")
    ap.add_argument("--timeline", type=Path, default=None,
                    help="Write each open-loop run's per-request times to DIR/<run>.npz.")
    args = ap.parse_args()
    out: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg(),
                           "rate": args.rate, "seconds_per_run": args.seconds,
                           "soak_seconds": args.soak_seconds, "runs": [], "skipped": {}}
    with tempfile.TemporaryDirectory(prefix="insightloop-load-") as name:
        tmp = Path(name)
        for label in args.warehouses.split(","):
            if label == "demo":
                warehouse: Path | None = demo_warehouse(args, tmp)
            elif label == "large":
                warehouse = args.large if args.large.exists() else None
                if warehouse is None:
                    out["skipped"]["large"] = (f"{args.large} missing; run "
                                               "benchmarks/make_large_warehouse.py first")
            elif label == "retail":
                warehouse = retail_warehouse(args.retail)
                if warehouse is None:
                    out["skipped"]["retail"] = f"{RETAIL} not found"
            else:
                raise SystemExit(f"unknown warehouse {label!r}: use demo, large, retail")
            if warehouse is None:
                continue
            for workers in (int(w) for w in args.workers.split(",")):
                out["runs"].append(run_one(label, warehouse, workers, args, tmp))
    out["load_average_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
