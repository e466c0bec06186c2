"""Campaigns: the list with ledger totals, one campaign, its ledger rows (read role), and
create-and-send as a background job (write role; the job kind ``campaign``); schedules of
stored campaigns (list: read; create, pause, resume, delete: write). Due schedules and held
sends run from ``insightloop campaigns tick`` or the job ``campaign_tick``.

Campaign state is in the operational store, so the reads never wait for a warehouse job.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from insightloop.api.errors import SECURED, responses
from insightloop.api.server import requires, server_of
from insightloop.capabilities.campaigns import CampaignParams
from insightloop.services.campaigns import (
    campaign_ledger,
    delete_schedule,
    list_campaigns,
    list_schedules,
    pause_schedule,
    schedule_campaign,
    show_campaign,
)
from insightloop.services.keys import KeyRecord
from insightloop.services.results import JobInfo
from insightloop.services.results.campaigns import CampaignInfo, LedgerRow, ScheduleInfo

router = APIRouter()
CampaignId = Annotated[str, Path(min_length=1, max_length=100,
                                 pattern=r"^[A-Za-z0-9][\w.-]*$",
                                 description="The campaign id (its name in lower case).")]
STATUSES = r"^(held_out|suppressed|held|claimed|delivered|failed|bounced)$"
ScheduleName = Annotated[str, Path(min_length=1, max_length=200,
                                   description="The schedule's name (see the list).")]


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


class ScheduleList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schedules: list[ScheduleInfo]


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign: str = Field(min_length=1, max_length=200,
                          description="a stored campaign (sent before, or created by a job)")
    at: str | None = Field(None, max_length=64, description="run once at this ISO time")
    every: str | None = Field(None, max_length=100,
                              description="an interval (15m, 6h, 1d) or 'daily 09:00 Zone'")
    name: str | None = Field(None, min_length=1, max_length=200,
                             description="the schedule's name (default: campaign + cadence)")


@router.get("/campaign-schedules", dependencies=[requires("read")], tags=["campaigns"],
            summary="Campaign schedules", response_model=ScheduleList,
            responses=responses(*SECURED))
def schedules(request: Request) -> ScheduleList:
    """Every campaign schedule: cadence, on or paused, next and last due time (UTC), runs."""
    return ScheduleList(schedules=list_schedules(server_of(request).ctx))


@router.post("/campaign-schedules", status_code=201, tags=["campaigns"],
             summary="Schedule a stored campaign", response_model=ScheduleInfo,
             responses=responses(*SECURED, 404, 413, 422))
def create_schedule(request: Request, body: ScheduleBody,
                    key: Annotated[KeyRecord, requires("write")]) -> ScheduleInfo:
    """Run the campaign ``at`` a time or ``every`` interval; each due time runs once as
    its own campaign ``<name> <due time>``."""
    return schedule_campaign(server_of(request).ctx, body.campaign, at=body.at,
                             every=body.every, name=body.name)


@router.post("/campaign-schedules/{name}/{action}", tags=["campaigns"],
             summary="Pause or resume a schedule", response_model=ScheduleInfo,
             responses=responses(*SECURED, 404, 413, 422))
def change_schedule(request: Request, name: ScheduleName,
                    action: Annotated[str, Path(pattern=r"^(pause|resume)$")],
                    key: Annotated[KeyRecord, requires("write")]) -> ScheduleInfo:
    """``pause`` stops a schedule; ``resume`` makes it due next after now."""
    return pause_schedule(server_of(request).ctx, name, paused=action == "pause")


@router.delete("/campaign-schedules/{name}", tags=["campaigns"],
               summary="Delete a schedule", response_model=ScheduleInfo,
               responses=responses(*SECURED, 404, 422))
def remove_schedule(request: Request, name: ScheduleName,
                    key: Annotated[KeyRecord, requires("write")]) -> ScheduleInfo:
    """Delete the schedule; the campaigns it ran stay with their ledgers."""
    return delete_schedule(server_of(request).ctx, name)
