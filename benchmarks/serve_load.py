"""Load benchmark of ``insightloop serve`` on loopback: latency percentiles and throughput.

Standalone: ``.venv/bin/python benchmarks/serve_load.py [--warehouse W] [--seconds 10]``.
Without ``--warehouse`` it runs the demo into a temporary folder first. It creates a read
key, starts the real server (``insightloop serve``, uvicorn, one process) as a subprocess
on a free port, and drives it from this process with a minimal keep-alive HTTP/1.1 client
on asyncio (far less client CPU than httpx, which matters when client and server share the
machine's cores). Two modes per endpoint:

* **open loop at a fixed rate** (``--rate``, default 200 req/s): requests are scheduled on a
  clock and latency counts from the scheduled time, so a slow server cannot hide queueing
  (no coordinated omission);
* **closed loop at fixed concurrency** (``--concurrency``): each connection sends its next
  request when the previous answer arrives; gives the maximum throughput.

Endpoints: recommendations (``/api/v1/customers/{id}/recommendations?n=10`` over every
customer in turn), the customer 360 profile (``/api/v1/customers/{id}``), and the dashboard's
heaviest page (the slowest of all pages, with a session cookie). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
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
                    seconds: float, connections: int) -> dict[str, Any]:
    lat: list[float] = []
    statuses: list[int] = []
    free: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(Conn(port, headers))
    it = cycle(paths)
    start = time.perf_counter()
    n = int(rate * seconds)

    async def one(when: float, path: str) -> None:
        conn = await free.get()
        try:
            status, _ = await conn.get(path)
        finally:
            free.put_nowait(conn)
        lat.append(time.perf_counter() - when)
        statuses.append(status)

    tasks = []
    for i in range(n):
        when = start + i / rate
        delay = when - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(when, next(it))))
    await asyncio.gather(*tasks)
    return {"mode": "open", "target_rate": rate, "connections": connections,
            **summary(lat, statuses, time.perf_counter() - start)}


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def login_cookie(port: int, key: str) -> str:
    import httpx

    r = httpx.post(f"http://127.0.0.1:{port}/login", data={"key": key, "next": "/"})
    cookie = r.headers.get("set-cookie") or r.history[0].headers["set-cookie"]
    return cookie.split(";", 1)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warehouse", type=Path)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--only", default="", help="Run only scenarios whose name contains this.")
    args = ap.parse_args()
    bin_dir = Path(sys.executable).parent
    tmp = tempfile.TemporaryDirectory(prefix="insightloop-load-")
    warehouse = args.warehouse
    if warehouse is None:
        warehouse = Path(tmp.name) / "warehouse.duckdb"
        subprocess.run([str(bin_dir / "insightloop"), "demo", "--no-serve", "--json",
                        "--warehouse", str(warehouse)], check=True, stdout=subprocess.DEVNULL)
    from insightloop.services.keys import create_key
    from insightloop.settings import Settings

    key = create_key(Settings.load(warehouse=warehouse), "read", "load benchmark")["key"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ids = [r[0] for r in con.execute("SELECT customer_id FROM profiles "
                                         "ORDER BY customer_id").fetchall()]
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "passive"}
    log = (Path(tmp.name) / "server.log").open("w")
    server = subprocess.Popen([str(bin_dir / "insightloop"), "serve", "--warehouse",
                               str(warehouse), "--port", str(port), "--rate", "1000000",
                               "--burst", "1000000"], env=env, stdout=subprocess.DEVNULL,
                              stderr=log)
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        api = {"X-API-Key": key}
        out: dict[str, Any] = {"customers": len(ids), "cpus": os.cpu_count(),
                               "load_average_before": os.getloadavg(),
                               "seconds_per_run": args.seconds, "results": {}}
        # Warm: load the recommender and the cached dashboard aggregates.
        httpx.get(f"http://127.0.0.1:{port}/api/v1/customers/{ids[0]}/recommendations",
                  headers=api, timeout=60)
        cookie = {"Cookie": login_cookie(port, key)}
        pages = {}
        for page in PAGES:
            pages[page] = asyncio.run(single(port, cookie, page, 20))
        out["pages_single_request"] = pages
        heaviest = max(pages, key=lambda p: pages[p]["median_ms"])
        out["heaviest_page"] = heaviest
        scenarios = {
            "recommendations": (api, [f"/api/v1/customers/{c}/recommendations?n=10"
                                      for c in ids]),
            "profile": (api, [f"/api/v1/customers/{c}" for c in ids]),
            f"dashboard {heaviest}": (cookie, [heaviest]),
            "dashboard /customers/{id}": (cookie, [f"/customers/{c}" for c in ids]),
        }
        for name, (headers, paths) in scenarios.items():
            if args.only not in name:
                continue
            res = []
            for mode in ("open", "closed"):
                cpu = cpu_seconds(server.pid)
                r = asyncio.run(
                    open_loop(port, headers, paths, args.rate, args.seconds, args.concurrency)
                    if mode == "open" else
                    closed_loop(port, headers, paths, args.concurrency, args.seconds))
                # Server CPU per request: robust to other load on the machine.
                r["server_cpu_ms_per_request"] = round(
                    (cpu_seconds(server.pid) - cpu) / r["requests"] * 1000, 3)
                res.append(r)
            out["results"][name] = res
            for r in res:
                print(f"{name:28s} {r['mode']:6s} {r['req_per_s']:8.1f} req/s  "
                      f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                      f"cpu {r['server_cpu_ms_per_request']:6.2f} ms/req  "
                      f"non-200 {r['non_200']}", file=sys.stderr)
        out["server_side_ms"] = server_side(Path(tmp.name) / "server.log", log)
        out["load_average_after"] = os.getloadavg()
        print(json.dumps(out, indent=1))
    except Exception:
        log.flush()
        lines = (Path(tmp.name) / "server.log").read_text().splitlines()
        print("\n".join(x for x in lines if "insightloop.api.access" not in x)[-3000:],
              file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(30)
        log.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
