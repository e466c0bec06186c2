"""Campaigns: the list with ledger totals, one campaign, its ledger rows (read role), and
create-and-send as a background job (write role; the job kind ``campaign``).

Campaign state is in the operational store, so the reads never wait for a warehouse job.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from insightloop.api.errors import SECURED, responses
from insightloop.api.server import requires, server_of
from insightloop.capabilities.campaigns import CampaignParams
from insightloop.services.campaigns import campaign_ledger, list_campaigns, show_campaign
from insightloop.services.keys import KeyRecord
from insightloop.services.results import JobInfo
from insightloop.services.results.campaigns import CampaignInfo, LedgerRow

router = APIRouter()
CampaignId = Annotated[str, Path(min_length=1, max_length=100,
                                 pattern=r"^[A-Za-z0-9][\w.-]*$",
                                 description="The campaign id (its name in lower case).")]
STATUSES = r"^(held_out|suppressed|claimed|delivered|failed|bounced)$"


class CampaignList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaigns: list[CampaignInfo]


class CampaignLedger(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign_id: str
    rows: list[LedgerRow]


@router.get("/campaigns", dependencies=[requires("read")], tags=["campaigns"],
            summary="Campaigns with ledger totals", response_model=CampaignList,
            responses=responses(*SECURED))
def list_(request: Request) -> CampaignList:
    """Every campaign, newest first: audience, holdout, suppressed per reason, delivered,
    failed, bounced and pending."""
    return CampaignList(campaigns=list_campaigns(server_of(request).ctx))


@router.get("/campaigns/{campaign_id}", dependencies=[requires("read")], tags=["campaigns"],
            summary="A campaign and its ledger totals", response_model=CampaignInfo,
            responses=responses(*SECURED, 404, 422))
def show(request: Request, campaign_id: CampaignId) -> CampaignInfo:
    """Definition and ledger totals; 404 for an unknown campaign."""
    return show_campaign(server_of(request).ctx, campaign_id)


@router.get("/campaigns/{campaign_id}/ledger", dependencies=[requires("read")],
            tags=["campaigns"], summary="A campaign's send ledger",
            response_model=CampaignLedger, responses=responses(*SECURED, 404, 422))
def ledger(request: Request, campaign_id: CampaignId,
           status: Annotated[str | None, Query(pattern=STATUSES)] = None,
           limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> CampaignLedger:
    """One row per customer: status, reason, variant, Message-ID, attempts."""
    rows = campaign_ledger(server_of(request).ctx, campaign_id, status, limit)
    return CampaignLedger(campaign_id=campaign_id, rows=rows)


@router.post("/campaigns", status_code=202, tags=["campaigns"],
             summary="Create and send a campaign (a background job)", response_model=JobInfo,
             responses=responses(*SECURED, 409, 413, 422))
def create(request: Request, body: CampaignParams,
           key: Annotated[KeyRecord, requires("write")]) -> JobInfo:
    """Queue the job ``campaign``; poll ``GET /api/v1/jobs/{id}`` for the totals. Secrets
    (SMTP password, webhook secret) come from the server's environment, never the body."""
    params: dict[str, Any] = {k: v for k, v in body.model_dump().items() if v is not None}
    job = server_of(request).jobs.submit("campaign", params, key.key_id)
    return cast(JobInfo, job.public())
