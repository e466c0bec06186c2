"""Campaigns: audience + channel + content + schedule + a seeded holdout; e-mail (SMTP), signed
webhooks and an outbox; a send ledger that makes a second send impossible; exposures written
to ``sends``.

Its state is in the operational store (``campaigns``, ``campaign_outbox``, the send
ledger, ``schedules``/``schedule_runs`` and ``campaign_bounces``); in the warehouse it
writes the canonical ``campaigns`` and ``sends`` tables (declared by ingest), so it declares
no warehouse table of its own.
"""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator

from insightloop.capabilities.spec import Capability, Job, Page, Params, Stage, member

CHANNELS = ("email", "webhook", "outbox")
SEND_TIMES = ("now", "best")


class CampaignParams(Params):
    name: str = Field(min_length=1, max_length=200, description="campaign name (its id)")
    audience_where: str | None = Field(None, max_length=4000,
                                       description="audience filter over customer_360")
    audience: str | None = Field(None, max_length=200, description="a saved audience's name")
    channel: str = Field("email", description=f"one of {', '.join(CHANNELS)}")
    subject: str = Field("", max_length=998, description="subject (Jinja2 template)")
    body: str = Field(min_length=1, max_length=100_000,
                      description="text body (Jinja2 template)")
    html: str | None = Field(None, max_length=500_000, description="HTML part (Jinja2)")
    holdout: StrictFloat | StrictInt = Field(0.1, ge=0, lt=1,
                                             description="share held out at random")
    seed: StrictInt = Field(42, ge=0, lt=2**31, description="seed of the assignment")
    smtp_host: str | None = Field(None, max_length=253,
                                  description="SMTP server (password: the server's "
                                              "INSIGHTLOOP_SMTP_PASSWORD)")
    smtp_port: StrictInt = Field(25, ge=1, le=65535, description="SMTP port")
    sender: str = Field("insightloop@localhost", max_length=320, description="From address")
    starttls: StrictBool = Field(False, description="upgrade the SMTP connection (STARTTLS)")
    smtp_user: str | None = Field(None, max_length=320, description="SMTP login")
    webhook_url: str | None = Field(None, max_length=2000,
                                    description="webhook endpoint (secret: the server's "
                                                "INSIGHTLOOP_WEBHOOK_SECRET)")
    rate: StrictFloat | StrictInt | None = Field(None, ge=0,
                                                 description="messages per second at most")
    dry_run: StrictBool = Field(False, description="count only, send nothing")
    send_time: str = Field("now", description="now | best (each customer's best hour; "
                                              "the job campaign_tick releases held sends)")
    sto_holdout: StrictFloat | StrictInt = Field(
        0.0, ge=0, lt=1, description="share sent at once to measure send-time lift")
    window_hours: StrictInt = Field(24, ge=1, le=168,
                                    description="longest wait for the best hour (h)")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return member(value, CHANNELS)

    @field_validator("send_time")
    @classmethod
    def _send_time(cls, value: str) -> str:
        return member(value, SEND_TIMES)


class BounceParams(Params):
    path: str = Field(min_length=1, max_length=1000,
                      description="an .eml or mbox file of bounce reports inside the "
                                  "server's ingest root (folders: the CLI)")
    soft_limit: StrictInt = Field(3, ge=1, le=100,
                                  description="soft bounces after which an address is "
                                              "suppressed")


CAPABILITY = Capability(
    name="campaigns",
    summary="Campaigns with holdouts over e-mail, webhooks and an outbox, with a send ledger.",
    jobs=(Job("campaign", run="insightloop.services.campaigns:send_campaign_job",
              summary="Send a campaign (audience, channel, content, holdout) through the "
                      "send ledger", params=CampaignParams),
          Job("campaign_tick", run="insightloop.services.campaigns:tick_job",
              summary="Run due campaign schedules once per due time and release held "
                      "sends that are due"),
          Job("campaign_bounces", run="insightloop.services.campaigns:bounces_job",
              summary="Import bounce reports (DSNs): hard bounces suppressed, soft counted",
              params=BounceParams, files=("path",))),
    pages=(Page("/campaigns", "Campaigns", "Campaigns and their send ledgers",
                reports=("campaigns",),
                missing="No campaign sent yet: run `insightloop campaigns send --name N "
                        "--audience-where EXPR ...` (docs/campaigns.md).", order=57),),
    demo=(Stage("sending a win-back campaign to a local SMTP server (send ledger)",
                run="insightloop.services.campaigns.demo:demo_campaign", key="campaign"),),
)
