"""One customer's consent: every record, the newest per channel and purpose, and whether
each channel may be used now for marketing (the verdict of :func:`.eligibility`)."""

from __future__ import annotations

from datetime import datetime

from insightloop.errors import NotFoundError
from insightloop.services.context import Context
from insightloop.services.engagement.content import normalized
from insightloop.services.engagement.eligibility import as_utc, eligibility
from insightloop.services.engagement.policy import Policy
from insightloop.services.results.engagement import ConsentRow, ConsentView
from insightloop.storage.warehouse import has_table

CHANNELS = ("email", "webhook", "outbox")
#: The channel of consents to use a customer's data outside messages (exports, the
#: assistant): opt-out (no record: allowed), a withdrawal for the purpose excludes.
DATA_CHANNEL = "data"
_DATA_POLICY = Policy(quiet_start=0, quiet_end=0, caps=(),
                      opt_out_channels=frozenset({DATA_CHANNEL}))


def consent_view(ctx: Context, customer_id: str, now: datetime | None = None) -> ConsentView:
    cid = normalized([customer_id])[0]
    at = as_utc(now)
    with ctx.read() as con:
        if not has_table(con, "customers") or con.execute(
                "SELECT count(*) FROM customers WHERE customer_id = ?", [cid]).fetchone() == (0,):
            raise NotFoundError(f"no customer {cid!r} in the warehouse")
        rows = con.execute(
            "SELECT lower(trim(channel)), lower(trim(purpose)), granted, consent_time "
            "FROM consents WHERE customer_id = ? ORDER BY consent_time, granted DESC",
            [cid]).fetchall() if has_table(con, "consents") else []
    records: list[ConsentRow] = [{"channel": str(c), "purpose": str(p), "granted": bool(g),
                                  "consent_time": str(t)} for c, p, g, t in rows]
    current: dict[str, bool] = {}
    for r in records:  # oldest first: the newest wins, a withdrawal wins a tie
        if datetime.fromisoformat(r["consent_time"]) <= at:
            current[f"{r['channel']}/{r['purpose']}"] = r["granted"]
    verdicts = {ch: eligibility(ctx, [cid], ch, now=at)["reason"].iloc[0] for ch in CHANNELS}
    return {"customer_id": cid, "records": records, "current": current,
            "eligible": {ch: (None if r is None else str(r)) for ch, r in verdicts.items()}}


def withdrawn_ids(ctx: Context, purpose: str = "marketing", now: datetime | None = None
                  ) -> list[str]:
    """The customers whose data may not be used for ``purpose`` now: the newest ``data``
    consent record for that purpose is a withdrawal (decided by :func:`.eligibility`, the
    one place that decides consent; only customers with such a record are asked)."""
    with ctx.read() as con:
        if not has_table(con, "consents"):
            return []
        ids = [str(r[0]) for r in con.execute(
            "SELECT DISTINCT customer_id FROM consents WHERE lower(trim(channel)) = ? AND "
            "lower(trim(purpose)) = ? AND NOT coalesce(granted, false)",
            [DATA_CHANNEL, purpose.strip().lower()]).fetchall()]
    if not ids:
        return []
    verdict = eligibility(ctx, ids, DATA_CHANNEL, purpose, now=now, policy=_DATA_POLICY)
    out = verdict.loc[verdict["reason"].isin(("no_consent", "consent_withdrawn")),
                      "customer_id"]
    return sorted(str(c) for c in out)
