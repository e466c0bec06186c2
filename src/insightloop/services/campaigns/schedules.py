"""Campaign schedules and ``campaigns tick``: due schedules run, held sends are released.

A schedule (operational store ``schedules``, kind ``campaign``) names a stored campaign
definition (``campaigns.spec``) and when to run it (:mod:`.cadence`). Each due time runs
the campaign once as its own campaign, ``<name> <due time>`` (its own ledger, holdout and
exposures; the bandit is shared): a tick *claims* the due time by inserting
``schedule_runs (schedule_id, due_at)`` (unique), so two schedulers ticking at once run it
once; a claim left ``running`` by a crash is run again by the next tick, which the
campaign's lease and ledger make safe (nothing is sent twice). Missed due times (the
scheduler was down) collapse into the latest one.

Nothing ticks by itself: run ``insightloop campaigns tick`` from cron or a systemd timer
(every minute or so), or queue the API job ``campaign_tick`` (``POST
/api/v1/campaigns/tick``), which runs under the server's warehouse gate like every job.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, cast

import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from insightloop.errors import ConfigError, NotFoundError, WarehouseError
from insightloop.services.campaigns.audience import members
from insightloop.services.campaigns.cadence import check_every, latest_due, next_due, parse_at
from insightloop.services.campaigns.channels import SmtpConfig, WebhookConfig
from insightloop.services.campaigns.send import as_naive_utc, channel_for, run_campaign
from insightloop.services.campaigns.spec import campaign_id, from_json
from insightloop.services.context import Context
from insightloop.services.results.campaigns import ScheduleInfo, TickResult
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.campaign_models import CampaignDef, ScheduleRun
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import Schedule, SendLedger

KIND = "campaign"
SMTP_PASSWORD_ENV = "INSIGHTLOOP_SMTP_PASSWORD"
WEBHOOK_SECRET_ENV = "INSIGHTLOOP_WEBHOOK_SECRET"


def _stored(store: OpsStore, campaign: str) -> tuple[str, dict[str, Any]]:
    cid = campaign_id(campaign)
    with store.read() as conn:
        row = conn.execute(select(CampaignDef.spec).where(CampaignDef.id == cid)).first()
    if row is None:
        raise NotFoundError(f"no campaign {campaign!r}; define it first with `insightloop "
                            "campaigns send --name ...` (add --at or --every to only schedule "
                            "it)")
    if not row.spec:
        raise ConfigError(f"campaign {cid!r} was sent before definitions were stored; send "
                          "it again once (a re-run sends nothing new) to store it")
    return cid, dict(row.spec)


def _info(row: Any, runs: int) -> ScheduleInfo:
    def iso(t: datetime | None) -> str | None:
        return None if t is None else t.isoformat(timespec="seconds")
    return {"name": row.name, "campaign": str(row.params.get("campaign")), "cron": row.cron,
            "enabled": bool(row.enabled), "next_run_at": iso(row.next_run_at),
            "last_run_at": iso(row.last_run_at), "runs": runs}


def schedule_campaign(ctx: Context, campaign: str, *, at: str | None = None,
                      every: str | None = None, name: str | None = None,
                      now: datetime | None = None) -> ScheduleInfo:
    """Schedule a stored campaign ``at`` one time or ``every`` interval / daily time."""
    if (at is None) == (every is None):
        raise ConfigError("give either --at TIME or --every INTERVAL (one of the two)")
    cron = f"at {parse_at(at).isoformat()}" if at is not None else check_every(str(every))
    store = open_ops(ctx.settings)
    cid, _spec = _stored(store, campaign)
    start = as_naive_utc(now)
    first = parse_at(at) if at is not None else next_due(cron, start)
    label = name or f"{cid} {cron}"
    with store.write(lock="schedules") as conn:
        if conn.execute(select(Schedule.id).where(Schedule.name == label)).first():
            raise ConfigError(f"a schedule named {label!r} exists; delete it first or give "
                              "--schedule-name")
        conn.execute(insert(Schedule).values(
            name=label, kind=KIND, params={"campaign": cid}, cron=cron, enabled=True,
            next_run_at=first, last_run_at=None, created_at=start))
    return show_schedule(ctx, label)


def _rows(conn: Any, name: str | None = None) -> list[Any]:
    query = select(Schedule.__table__).where(Schedule.kind == KIND)
    if name is not None:
        query = query.where(Schedule.name == name)
    return list(conn.execute(query.order_by(Schedule.id)).all())


def _runs(conn: Any, sid: int) -> int:
    return len(conn.execute(select(ScheduleRun.id).where(ScheduleRun.schedule_id == sid))
               .all())


def show_schedule(ctx: Context, name: str) -> ScheduleInfo:
    with open_ops(ctx.settings).read() as conn:
        rows = _rows(conn, name)
        if not rows:
            raise NotFoundError(f"no schedule {name!r}; `insightloop campaigns schedules` "
                                "lists them")
        return _info(rows[0], _runs(conn, rows[0].id))


def list_schedules(ctx: Context) -> list[ScheduleInfo]:
    with open_ops(ctx.settings).read() as conn:
        return [_info(r, _runs(conn, r.id)) for r in _rows(conn)]


def pause_schedule(ctx: Context, name: str, paused: bool = True) -> ScheduleInfo:
    """Pause (or resume) a schedule; a resumed one is next due after now."""
    show_schedule(ctx, name)
    store = open_ops(ctx.settings)
    with store.write(lock="schedules") as conn:
        row = _rows(conn, name)[0]
        changes: dict[str, Any] = {"enabled": not paused}
        if not paused and not row.cron.startswith("at "):
            changes["next_run_at"] = next_due(row.cron, as_naive_utc(None))
        conn.execute(update(Schedule).where(Schedule.id == row.id).values(**changes))
    return show_schedule(ctx, name)


def delete_schedule(ctx: Context, name: str) -> ScheduleInfo:
    """Delete a schedule (the campaigns it ran stay, with their ledgers)."""
    info = show_schedule(ctx, name)
    with open_ops(ctx.settings).write(lock="schedules") as conn:
        sid = _rows(conn, name)[0].id
        conn.execute(delete(ScheduleRun).where(ScheduleRun.schedule_id == sid))
        conn.execute(delete(Schedule).where(Schedule.id == sid))
    return info


def _channel(ctx: Context, spec: Any, delivery: dict[str, Any],
             smtp: SmtpConfig | None, webhook: WebhookConfig | None) -> tuple[Any, str]:
    if smtp is None and delivery.get("smtp"):
        smtp = SmtpConfig(**delivery["smtp"], password=os.environ.get(SMTP_PASSWORD_ENV))
    if webhook is None and delivery.get("webhook"):
        webhook = WebhookConfig(**delivery["webhook"],
                                secret=os.environ.get(WEBHOOK_SECRET_ENV, ""))
    return channel_for(ctx, spec, smtp, webhook)


def _claim(store: OpsStore, row: Any, now: datetime) -> tuple[datetime, str] | None:
    """Claim the schedule's latest due time (or take over an unfinished claim)."""
    due = latest_due(row.cron, row.next_run_at, now) if row.next_run_at else None
    if due is None:
        return None
    cid = campaign_id(f"{row.params['campaign']} {due:%Y-%m-%dT%H:%M}")
    try:
        with store.write(lock=f"schedule:{row.id}") as conn:
            conn.execute(insert(ScheduleRun).values(
                schedule_id=row.id, due_at=due, campaign_id=cid, status="running",
                claimed_at=now))
            conn.execute(update(Schedule).where(Schedule.id == row.id).values(
                last_run_at=due, next_run_at=next_due(row.cron, due)))
    except (IntegrityError, WarehouseError):
        with store.read() as conn:
            old = conn.execute(select(ScheduleRun.status).where(
                ScheduleRun.schedule_id == row.id, ScheduleRun.due_at == due)).first()
        if old is None or old.status == "done":
            return None
    return due, cid


def _finish_run(store: OpsStore, sid: int, due: datetime, status: str,
                result: dict[str, Any] | None) -> None:
    with store.write() as conn:
        conn.execute(update(ScheduleRun).where(ScheduleRun.schedule_id == sid,
                                               ScheduleRun.due_at == due).values(
            status=status, finished_at=as_naive_utc(None), result=result))


def tick(ctx: Context, now: datetime | None = None, smtp: SmtpConfig | None = None,
         webhook: WebhookConfig | None = None) -> TickResult:
    """One pass: run every due schedule once per due time, then release held sends that
    are due. ``smtp``/``webhook`` override the stored channel settings."""
    at = as_naive_utc(now)
    store = open_ops(ctx.settings)
    out: TickResult = {"now": at.isoformat(timespec="seconds"), "scheduled": [],
                       "released": [], "skipped": []}
    with store.read() as conn:
        due_rows = [r for r in _rows(conn) if r.enabled and r.next_run_at is not None
                    and r.next_run_at <= at]
        # an unfinished claim (a crash) is run again
        stale = conn.execute(select(ScheduleRun.schedule_id, ScheduleRun.due_at,
                                    ScheduleRun.campaign_id)
                             .where(ScheduleRun.status == "running")).all()
    for row in due_rows:
        claim = _claim(store, row, at)
        if claim is not None:
            _run_due(ctx, store, row.id, row.params["campaign"], *claim, at, smtp, webhook,
                     out)
    taken = {(r.id) for r in due_rows}
    with store.read() as conn:
        names = {r.id: r.params["campaign"] for r in _rows(conn)}
    for sid, due, cid in stale:
        if sid in names and sid not in taken:
            _run_due(ctx, store, sid, names[sid], due, cid, at, smtp, webhook, out)
    _release(ctx, store, at, smtp, webhook, out)
    return out


def due_work(ctx: Context, now: datetime | None = None) -> bool:
    """Whether a tick would do anything now: a schedule due or a held send due (two small
    reads; the API server's job runner asks before queueing ``campaign_tick``)."""
    at = as_naive_utc(now)
    with open_ops(ctx.settings).read() as conn:
        schedule = conn.execute(select(Schedule.id).where(
            Schedule.kind == KIND, Schedule.enabled.is_(True),
            Schedule.next_run_at <= at).limit(1)).first()
        held = schedule or conn.execute(select(SendLedger.id).where(
            SendLedger.status == "held", SendLedger.due_at <= at).limit(1)).first()
    return held is not None


def _run_due(ctx: Context, store: OpsStore, sid: int, base: str, due: datetime, cid: str,
             at: datetime, smtp: SmtpConfig | None, webhook: WebhookConfig | None,
             out: TickResult) -> None:
    try:
        _base, stored = _stored(store, base)
        spec = from_json(stored["definition"], name=cid,
                         bandit=stored["definition"].get("bandit") or _base)
        channel, domain = _channel(ctx, spec, stored["delivery"], smtp, webhook)
        result = run_campaign(ctx, spec, channel, members(ctx, spec), domain=domain,
                              now=at, delivery=stored["delivery"],
                              batch_size=int(stored["delivery"].get("batch_size") or 100),
                              rate=stored["delivery"].get("rate"))
    except (ConfigError, NotFoundError, WarehouseError) as exc:
        out["skipped"].append(f"schedule of {base!r} due {due:%Y-%m-%dT%H:%M}: {exc}")
        if isinstance(exc, WarehouseError) and "another run" in str(exc):
            return  # another scheduler is sending it now; its claim stays running
        _finish_run(store, sid, due, "failed", {"error": str(exc)[:500]})
        return
    out["scheduled"].append(result)
    _finish_run(store, sid, due, "done", cast(dict[str, Any], dict(result)))


def _release(ctx: Context, store: OpsStore, at: datetime, smtp: SmtpConfig | None,
             webhook: WebhookConfig | None, out: TickResult) -> None:
    """Run each campaign with held sends due by ``at`` over those customers only."""
    with store.read() as conn:
        held = conn.execute(select(SendLedger.campaign_id, SendLedger.customer_id).where(
            SendLedger.status == "held", SendLedger.due_at <= at)).all()
    frame = pd.DataFrame(held, columns=["campaign_id", "customer_id"], dtype=object)
    for cid, rows in frame.groupby("campaign_id", sort=True):  # one run per campaign
        customers = rows["customer_id"].astype(str).tolist()
        try:
            _cid, stored = _stored(store, str(cid))
            spec = from_json(stored["definition"])
            channel, domain = _channel(ctx, spec, stored["delivery"], smtp, webhook)
            result = run_campaign(ctx, spec, channel, customers, domain=domain, now=at,
                                  rate=stored["delivery"].get("rate"))
        except (ConfigError, NotFoundError, WarehouseError) as exc:
            out["skipped"].append(f"held sends of {cid!r}: {exc}")
            continue
        out["released"].append(result)
