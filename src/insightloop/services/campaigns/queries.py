"""Reading campaigns back: the list with ledger totals, one campaign, its ledger rows."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd
from sqlalchemy import select

import insightloop.services.campaigns.ledger as ledger
from insightloop.errors import ConfigError, NotFoundError
from insightloop.services.campaigns.channels import pull
from insightloop.services.campaigns.spec import campaign_id
from insightloop.services.context import Context
from insightloop.services.results.campaigns import CampaignInfo, LedgerRow
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.campaign_models import CampaignDef

STEP = "send"


_COLUMNS = (CampaignDef.id, CampaignDef.name, CampaignDef.channel, CampaignDef.audience,
            CampaignDef.holdout, CampaignDef.seed, CampaignDef.variants, CampaignDef.status,
            CampaignDef.runs, CampaignDef.created_at, CampaignDef.updated_at)


def _info(row: Any, counts: pd.DataFrame) -> CampaignInfo:
    return cast(CampaignInfo, {
        "campaign_id": row.id, "name": row.name, "channel": row.channel,
        "audience_definition": row.audience, "holdout_share": float(row.holdout),
        "seed": int(row.seed), "variants": [str(v["name"]) for v in row.variants],
        "status": row.status, "runs": int(row.runs),
        "created_at": row.created_at.isoformat(timespec="seconds"),
        "updated_at": row.updated_at.isoformat(timespec="seconds"),
        **ledger.summary(counts)})


def list_campaigns(ctx: Context) -> list[CampaignInfo]:
    """Every campaign, newest first, with its ledger totals."""
    store = open_ops(ctx.settings)
    with store.read() as conn:
        rows = conn.execute(select(*_COLUMNS).order_by(CampaignDef.created_at.desc(),
                                                       CampaignDef.id)).all()
    counts = ledger.totals(store)
    return [_info(r, counts[counts["campaign_id"] == r.id]) for r in rows]


def show_campaign(ctx: Context, campaign: str) -> CampaignInfo:
    """One campaign (by id or name) with its ledger totals per status and reason."""
    store = open_ops(ctx.settings)
    cid = campaign_id(campaign)
    with store.read() as conn:
        row = conn.execute(select(*_COLUMNS).where(CampaignDef.id == cid)).first()
    if row is None:
        raise NotFoundError(f"no campaign {campaign!r}; `insightloop campaigns list` shows "
                            "them")
    return _info(row, ledger.totals(store, cid))


def campaign_ledger(ctx: Context, campaign: str, status: str | None = None,
                    limit: int | None = None) -> list[LedgerRow]:
    """The campaign's ledger rows (optionally one status), oldest first."""
    if status is not None and status not in ledger.STATUSES:
        raise ConfigError(f"--status {status!r} is not one of {', '.join(ledger.STATUSES)}")
    info = show_campaign(ctx, campaign)
    book = ledger.rows_of(open_ops(ctx.settings), info["campaign_id"], STEP, status)
    if limit is not None:
        book = book.head(limit)
    book = book.assign(
        created_at=pd.to_datetime(book["created_at"]).dt.strftime("%Y-%m-%dT%H:%M:%S"),
        confirmed_at=pd.to_datetime(book["confirmed_at"]).dt.strftime("%Y-%m-%dT%H:%M:%S"),
        due_at=pd.to_datetime(book["due_at"]).dt.strftime("%Y-%m-%dT%H:%M:%S"),
        retry=book["retry"].fillna(False).astype(bool),
        attempts=book["attempts"].fillna(0).astype(int))
    book = book.astype(object).where(book.notna(), None)
    return cast("list[LedgerRow]", book.to_dict("records"))


def record_bounces(ctx: Context, campaign: str, customer_ids: list[str],
                   reason: str = "bounced") -> int:
    """Mark delivered messages as ``bounced`` (a bounce report that arrived later)."""
    info = show_campaign(ctx, campaign)
    return ledger.mark(open_ops(ctx.settings), info["campaign_id"], customer_ids,
                       "bounced", reason[:200], STEP)


def pull_outbox(ctx: Context, limit: int = 100, campaign: str | None = None
                ) -> list[dict[str, Any]]:
    """Take up to ``limit`` outbox messages not pulled yet (each is handed out once)."""
    return pull(open_ops(ctx.settings), limit,
                None if campaign is None else campaign_id(campaign))
