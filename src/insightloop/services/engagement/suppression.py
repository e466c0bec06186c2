"""The suppression list (operational store): customer ids or addresses nobody contacts, on
one channel or on all (``*``). Addresses are compared lower-cased and trimmed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from insightloop.errors import ConfigError, NotFoundError
from insightloop.services.context import Context
from insightloop.services.results.engagement import SuppressionResult
from insightloop.storage.ids import normalize_id
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.engagement_models import Suppression
from insightloop.storage.user_table import read_user_table

KINDS = ("customer", "address")


def utc_now() -> datetime:
    """Now as a naive UTC datetime (the store's times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _entry(value: str, kind: str | None) -> tuple[str, str]:
    text = value.strip()
    if not text:
        raise ConfigError("a suppression entry is empty; give a customer id or an address")
    chosen = kind or ("address" if "@" in text else "customer")
    if chosen not in KINDS:
        raise ConfigError(f"suppression kind {kind!r} is not one of {', '.join(KINDS)}")
    return chosen, (text.lower() if chosen == "address" else normalize_id(text))


def add_suppressions(ctx: Context, values: Sequence[str], channel: str = "*",
                     reason: str = "", kind: str | None = None) -> SuppressionResult:
    """Add entries (customer ids, or addresses: anything with ``@``); existing ones stay."""
    rows = [dict(zip(("kind", "value"), _entry(v, kind), strict=True)) for v in values]
    if not rows:
        return {"added": 0, "removed": 0, "total": count_suppressions(ctx)}
    now, chan = utc_now(), channel.strip().lower() or "*"
    store = open_ops(ctx.settings)
    frame = pd.DataFrame(rows).drop_duplicates()
    records = [{**r, "channel": chan, "reason": reason[:200], "added_at": now}
               for r in frame.to_dict("records")]
    make = pg_insert if store.dialect == "postgresql" else sqlite_insert
    with store.write(lock="suppressions") as conn:
        before = _count(conn)
        conn.execute(make(Suppression).on_conflict_do_nothing(
            index_elements=["kind", "value", "channel"]), records)
        after = _count(conn)
    return {"added": after - before, "removed": 0, "total": after}


def import_suppressions(ctx: Context, path: Path | str, column: str | None = None,
                        channel: str = "*", reason: str = "import") -> SuppressionResult:
    """Add every value of ``column`` (default: the file's first column) of a CSV/Parquet
    file read by the project's user-file reader."""
    frame = read_user_table(path)
    name = column or str(frame.columns[0])
    if name not in frame.columns:
        raise ConfigError(f"{path}: no column {name!r}; its columns are: "
                          f"{', '.join(map(str, frame.columns))}")
    values = frame[name].dropna().astype(str)
    values = values[values.str.strip() != ""]
    return add_suppressions(ctx, values.tolist(), channel=channel, reason=reason)


def remove_suppression(ctx: Context, value: str, channel: str = "*",
                       kind: str | None = None) -> SuppressionResult:
    chosen, norm = _entry(value, kind)
    chan = channel.strip().lower() or "*"
    store = open_ops(ctx.settings)
    with store.write(lock="suppressions") as conn:
        gone = conn.execute(delete(Suppression).where(
            Suppression.kind == chosen, Suppression.value == norm,
            Suppression.channel == chan)).rowcount or 0
        total = _count(conn)
    if not gone:
        raise NotFoundError(f"{value!r} is not suppressed on channel {chan!r}; "
                            "see `insightloop suppress list`")
    return {"added": 0, "removed": int(gone), "total": total}


def list_suppressions(ctx: Context, channel: str | None = None) -> pd.DataFrame:
    """Entries (kind, value, channel, reason, added_at), newest first."""
    query = select(Suppression.kind, Suppression.value, Suppression.channel,
                   Suppression.reason, Suppression.added_at)
    if channel is not None:
        query = query.where(Suppression.channel.in_((channel.lower(), "*")))
    with open_ops(ctx.settings).read() as conn:
        rows = conn.execute(query.order_by(Suppression.added_at.desc(),
                                           Suppression.id.desc())).all()
    return pd.DataFrame(rows, columns=["kind", "value", "channel", "reason", "added_at"])


def count_suppressions(ctx: Context) -> int:
    with open_ops(ctx.settings).read() as conn:
        return _count(conn)


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(Suppression)).scalar() or 0)
