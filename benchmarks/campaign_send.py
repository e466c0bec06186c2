"""Benchmark: campaign sends per second to a local SMTP server, and the send ledger's
overhead per message.

Run: ``python benchmarks/campaign_send.py [--customers 2000] [--batch-size 100]``. Builds a
temporary warehouse of N customers (addresses, consent granted, a ``customer_360``), starts
an aiosmtpd server in a separate process on 127.0.0.1 (so its CPU is not the sender's), and
runs one campaign (holdout 10 %) through the real path: assignment, eligibility, rendering,
claim per batch, one SMTP transaction and one ledger confirmation per message, exposures.
Then the same campaign again through a channel that delivers nothing (every message
"accepted" at once), which leaves the ledger and the rest of the run as the only cost.
Prints one JSON object: wall time per phase, messages per second, and the ledger's time per
message (claims + confirmations, measured around the ledger calls themselves).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insightloop.services.campaigns import CampaignSpec, RetryPolicy, Variant, run_campaign
from insightloop.services.campaigns import ledger as ledger_mod
from insightloop.services.campaigns import send as send_mod
from insightloop.services.campaigns.channels import EmailChannel, Message, Outcome, SmtpConfig
from insightloop.services.context import Context
from insightloop.settings import Settings
from insightloop.storage.warehouse import Warehouse


def serve(port: int, ready: Any, stop: Any, count: Any) -> None:
    """An aiosmtpd server counting what it accepts (runs in its own process)."""
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def build(folder: Path, n: int) -> Context:
    ids = [f"b{i:07d}" for i in range(n)]
    wh = Warehouse(folder / "wh.duckdb")
    with wh.transaction() as con:
        con.register("c", pd.DataFrame({"customer_id": ids,
                                        "email": [f"{c}@example.com" for c in ids],
                                        "name": [f"Customer {c}" for c in ids],
                                        "country": "United Kingdom"}))
        con.register("k", pd.DataFrame({"customer_id": ids, "channel": "email",
                                        "purpose": "marketing", "granted": True,
                                        "consent_time": pd.Timestamp("2024-01-01")}))
        con.execute("INSERT INTO customers BY NAME SELECT * FROM c")
        con.execute("INSERT INTO consents BY NAME SELECT * FROM k")
    wh.write_frame("customer_360", pd.DataFrame({
        "customer_id": ids, "recency_days": np.arange(n) % 365, "country": "United Kingdom"}))
    return Context.from_settings(Settings.load(warehouse=folder / "wh.duckdb", env={}))


class Timed:
    """Wraps the ledger's write and confirm to add up the time spent in them."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1
        return timed


class Null:
    """A channel that accepts every message at once (isolates the ledger's cost)."""

    name = "email"

    def deliver(self, message: Message) -> Outcome:
        return Outcome("delivered")

    def reset(self) -> None:
        return None

    def close(self) -> None:
        return None


def campaign(ctx: Context, name: str, channel: Any, ids: list[str], batch: int
             ) -> dict[str, Any]:
    spec = CampaignSpec(name, "email", (Variant("treatment", "Hello {{ name }}",
                                                "Hi {{ name }}, {{ recency_days }} days.",
                                                "<p>Hi {{ name }}</p>"),),
                        audience_where="recency_days >= 0", holdout=0.1, seed=42)
    timer = Timed()
    phases: dict[str, float] = {}
    originals = (ledger_mod.write, ledger_mod.confirm, send_mod._deliver)
    ledger_mod.write = timer.wrap(originals[0])  # type: ignore[assignment]
    ledger_mod.confirm = timer.wrap(originals[1])  # type: ignore[assignment]

    def deliver(*args: Any, **kw: Any) -> int:
        t0 = time.perf_counter()
        before = timer.seconds
        try:
            return int(originals[2](*args, **kw))
        finally:
            phases["deliver_s"] = time.perf_counter() - t0
            phases["deliver_ledger_s"] = timer.seconds - before

    send_mod._deliver = deliver  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        out = run_campaign(ctx, spec, channel, ids, domain="bench.example", batch_size=batch,
                           retry=RetryPolicy(2, 0.05))
        total = time.perf_counter() - t0
    finally:
        ledger_mod.write, ledger_mod.confirm, send_mod._deliver = originals  # type: ignore[assignment]
    sent = out["sent"]
    return {"sent": sent, "holdout": out["holdout"], "total_s": round(total, 3),
            "deliver_s": round(phases["deliver_s"], 3),
            "messages_per_s": round(sent / phases["deliver_s"], 1),
            "end_to_end_messages_per_s": round(sent / total, 1),
            "ledger_ms_per_message": round(1000 * phases["deliver_ledger_s"] / sent, 3),
            "ledger_share_of_delivery": round(phases["deliver_ledger_s"] / phases["deliver_s"],
                                              3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    os.environ["INSIGHTLOOP_QUIET_HOURS"] = "off"
    os.environ["INSIGHTLOOP_FREQUENCY_CAPS"] = "off"
    with tempfile.TemporaryDirectory() as tmp:
        ctx = build(Path(tmp), args.customers)
        ids = [f"b{i:07d}" for i in range(args.customers)]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        ready, stop, count = mp.Event(), mp.Event(), mp.Value("i", 0)
        server = mp.Process(target=serve, args=(port, ready, stop, count), daemon=True)
        server.start()
        ready.wait(30)
        try:
            smtp = campaign(ctx, "bench-smtp", EmailChannel(SmtpConfig("127.0.0.1", port)),
                            ids, args.batch_size)
        finally:
            stop.set()
            server.join(10)
        null = campaign(ctx, "bench-null", Null(), ids, args.batch_size)
        print(json.dumps({"customers": args.customers, "batch_size": args.batch_size,
                          "ops_store": "SQLite (WAL) beside the warehouse",
                          "smtp": {**smtp, "received": count.value},
                          "no_network": null}, indent=2))


if __name__ == "__main__":
    main()
