"""A small warehouse for the engagement tests: customers (with e-mail, country, time zone),
consent records and send-ledger rows, written the way ingest and campaigns write them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import insert

from contexts import ctx_of
from insightloop.services.context import Context
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.models import SendLedger
from insightloop.storage.warehouse import Warehouse


def make_ctx(tmp_path: Path, customers: pd.DataFrame,
             consents: pd.DataFrame | None = None, ops_url: str = "",
             **tables: pd.DataFrame) -> Context:
    wh = Warehouse(tmp_path / "wh.duckdb")
    wh.write_frame("customers", customers)
    if consents is not None:
        wh.write_frame("consents", consents)
    for name, frame in tables.items():
        wh.write_frame(name, frame)
    return ctx_of(tmp_path / "wh.duckdb", **({"ops_url": ops_url} if ops_url else {}))


def consent(customer: str, granted: bool, at: str, channel: str = "email",
            purpose: str = "marketing") -> dict[str, Any]:
    return {"customer_id": customer, "channel": channel, "purpose": purpose,
            "granted": granted, "consent_time": pd.Timestamp(at)}


def ledger(ctx: Context, rows: Sequence[tuple[str, str, datetime, str]]) -> None:
    """(customer, channel, created_at, status) rows in the send ledger."""
    if not rows:
        return
    with open_ops(ctx.settings).write() as conn:
        conn.execute(insert(SendLedger), [
            {"idempotency_key": f"t:{i}:{c}", "campaign_id": "t", "step": "", "customer_id": c,
             "channel": ch, "status": st, "reason": None, "created_at": at,
             "confirmed_at": None, "detail": None}
            for i, (c, ch, at, st) in enumerate(rows)])
