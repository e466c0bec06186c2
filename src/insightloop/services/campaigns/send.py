"""Running a campaign: assign arms, decide eligibility, claim, deliver, confirm, record.

A run, start to finish:

1. the campaign's definition is stored (or checked: a second run under the same name must
   define the same campaign, so it continues where the first stopped);
2. every audience member gets an arm (:func:`.spec.assign`, deterministic; a message already
   claimed or held keeps the variant in its ledger row; with ``allocation == "bandit"`` the
   variant of a new message is drawn by Thompson sampling, :mod:`.bandit`);
3. customers with a final ledger row are done; for the others engagement's
   :func:`~insightloop.services.engagement.eligibility` (the one place that decides who may
   be contacted) is asked; the held-out and the ineligible are written to the ledger in
   one transaction;
4. with ``send_time == "best"`` messages whose customer's best hour is still ahead are
   written as ``held`` with their ``due_at`` (:mod:`.timing`; ``campaigns tick`` releases
   them); the rest are rendered and sent in batches: a batch is *claimed* in one transaction
   (status ``claimed``, its deterministic Message-ID stored), then each message is delivered
   (retries with backoff on transient failures) and *confirmed* at once. A crash leaves at
   most one message that left without its confirmation; the next run re-sends the claimed
   rows with the same Message-ID, so that one message may repeat and nothing is lost;
5. the campaign's exposures are written to the warehouse (:mod:`.exposures`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, update

import insightloop.services.campaigns.bandit as bandit
import insightloop.services.campaigns.lease as lease
import insightloop.services.campaigns.ledger as ledger
import insightloop.services.campaigns.timing as timing
from insightloop.errors import ConfigError
from insightloop.services.campaigns.audience import members
from insightloop.services.campaigns.channels import (
    Channel,
    EmailChannel,
    Message,
    OutboxChannel,
    RetryPolicy,
    SmtpConfig,
    TokenBucket,
    WebhookChannel,
    WebhookConfig,
    deliver_with_retry,
)
from insightloop.services.campaigns.content import addresses, render_variant
from insightloop.services.campaigns.exposures import write_exposures
from insightloop.services.campaigns.spec import CONTROL, DEFAULT_TIME, CampaignSpec, assign
from insightloop.services.context import Context
from insightloop.services.engagement import eligibility
from insightloop.services.results.campaigns import CampaignRun
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.campaign_models import CampaignDef
from insightloop.storage.operational.engine import OpsStore

STEP = "send"
#: Reasons that may lift by themselves: such a suppression is tried again on the next run.
DEFERRED = frozenset({"frequency_cap", "quiet_hours"})
Progress = Callable[[int, int], None]


def register(store: OpsStore, spec: CampaignSpec, owner: str,
             delivery: dict[str, Any] | None = None) -> bool:
    """Store the definition (with ``delivery``, the channel's settings without secrets, so
    a schedule or ``campaigns tick`` can run it again) and take the run's lease
    (:mod:`.lease`); True when it is new. A different campaign under the same name is
    refused (its ledger would no longer describe it), and so is a second run while another
    one is sending."""
    now = datetime.now(UTC).replace(tzinfo=None)
    fingerprint = spec.fingerprint()
    stored = {"definition": spec.to_json(), "delivery": delivery or {}}
    shared = spec.bandit_id if spec.allocation == "bandit" else None
    with store.write(lock=f"campaign:{spec.id}") as conn:
        old = conn.execute(select(CampaignDef.fingerprint, CampaignDef.runs)
                           .where(CampaignDef.id == spec.id)).first()
        if old is None:
            conn.execute(insert(CampaignDef).values(
                id=spec.id, name=spec.name, channel=spec.channel, audience=spec.audience,
                holdout=spec.holdout, seed=spec.seed, fingerprint=fingerprint,
                variants=[{"name": v.name, "subject": v.subject, "weight": v.weight}
                          for v in spec.variants],
                status="running", created_at=now, updated_at=now, runs=1, spec=stored,
                bandit=shared))
            lease.take(conn, spec.id, owner)
            return True
        if old.fingerprint != fingerprint:
            raise ConfigError(f"campaign {spec.id!r} exists with another audience, channel, "
                              "content, holdout or seed; a re-run must repeat them exactly "
                              "(or choose another --name)")
        lease.take(conn, spec.id, owner)
        changes: dict[str, Any] = {"status": "running", "updated_at": now,
                                   "runs": old.runs + 1, "bandit": shared}
        if delivery is not None:
            changes["spec"] = stored
        conn.execute(update(CampaignDef).where(CampaignDef.id == spec.id).values(**changes))
    return False


def _finish(store: OpsStore, cid: str, status: str) -> None:
    with store.write() as conn:
        conn.execute(update(CampaignDef).where(CampaignDef.id == cid).values(
            status=status, updated_at=datetime.now(UTC).replace(tzinfo=None)))


def _decisions(frame: pd.DataFrame, status: str, reason: Any, retry: Any) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": frame["customer_id"].to_numpy(), "status": status,
                         "reason": reason, "retry": retry, "message_id": None,
                         "variant": frame["label"].to_numpy(), "attempts": 0})


def plan(ctx: Context, spec: CampaignSpec, customer_ids: Sequence[str], store: OpsStore,
         now: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """The customers this run acts on with ``arm``, ``eligible`` and ``reason``, the
    campaign's ledger, and the customers that already have a ledger row."""
    arms = assign(customer_ids, spec.id, spec.seed, spec.holdout, spec.variants)
    book = ledger.rows_of(store, spec.id, STEP)
    at = as_naive_utc(now)
    done = set(book.loc[~ledger.open_rows(book, at), "customer_id"]) if not book.empty \
        else set()
    todo = arms[~arms["customer_id"].isin(done)].reset_index(drop=True)
    # a claimed or held message keeps the variant (and timing arm) it was given
    kept = book[book["variant"].notna() & book["status"].isin(["claimed", "held"])] \
        .set_index("customer_id")["variant"] if not book.empty else pd.Series(dtype=object)
    label = todo["customer_id"].map(kept)
    treated = (todo["arm"] != CONTROL) & label.notna()
    todo["label"] = label.where(treated, todo["arm"])
    todo["arm"] = todo["label"].astype(str).str.split(DEFAULT_TIME, regex=False).str[0] \
        .where(treated, todo["arm"])
    if todo.empty:
        return todo.assign(eligible=pd.Series(dtype=bool), reason=None), book, \
            set(book["customer_id"])
    verdict = eligibility(ctx, todo["customer_id"].tolist(), spec.channel, spec.purpose, now)
    reason = verdict["reason"].to_numpy(dtype=object)
    eligible = verdict["eligible"].to_numpy(dtype=bool)
    # a claimed row's own claim is in the ledger and counts towards the frequency cap
    claimed = todo["customer_id"].isin(book.loc[book["status"] == "claimed", "customer_id"])
    ours = claimed.to_numpy() & (reason == "frequency_cap")
    todo["eligible"] = eligible | ours
    todo["reason"] = np.where(ours, None, reason)
    return todo, book, set(book["customer_id"])


def as_naive_utc(now: datetime | None) -> datetime:
    """``now`` as naive UTC (the ledger's times); the clock when None."""
    if now is None:
        return ledger.utc_now()
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo is not None else now


def run_campaign(ctx: Context, spec: CampaignSpec, channel: Channel,
                 customer_ids: Sequence[str], *, domain: str = "insightloop.local",
                 dry_run: bool = False, batch_size: int = 100,
                 retry: RetryPolicy | None = None, rate: float | None = None,
                 now: datetime | None = None, on_progress: Progress | None = None,
                 delivery: dict[str, Any] | None = None) -> CampaignRun:
    """Run ``spec`` over ``customer_ids`` through ``channel``; totals are the campaign's so
    far, ``sent`` what this run delivered. ``delivery``: the channel's settings without
    secrets, stored so ``campaigns tick`` can release held sends and run schedules."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, not {batch_size}")
    store = open_ops(ctx.settings)
    if dry_run:
        return _dry(ctx, spec, customer_ids, store, now)
    owner = lease.new_owner()
    register(store, spec, owner, delivery)
    try:
        return _run(ctx, spec, channel, customer_ids, store, owner, domain, batch_size,
                    retry or RetryPolicy(), TokenBucket(rate), now, on_progress)
    finally:
        lease.give_back(store, spec.id, owner)


def _run(ctx: Context, spec: CampaignSpec, channel: Channel, customer_ids: Sequence[str],
         store: OpsStore, owner: str, domain: str, batch_size: int, retry: RetryPolicy,
         bucket: TokenBucket, now: datetime | None, on_progress: Progress | None
         ) -> CampaignRun:
    todo, book, known = plan(ctx, spec, customer_ids, store, now)
    held = todo[todo["arm"] == CONTROL]
    treat = todo[todo["arm"] != CONTROL]
    blocked = treat[~treat["eligible"].astype(bool)]
    go = _allocate(ctx, store, spec, treat[treat["eligible"].astype(bool)]
                   .reset_index(drop=True), batch_size)
    go, wait = timing.split(ctx, spec, go, book, as_naive_utc(now))
    # a held-out customer deferred only for now (cap, quiet hours) would have been sent
    # later: kept in the control group (no reason); the legal reasons are kept
    held_reason = held["reason"].where(~held["reason"].isin(DEFERRED), None)
    decided = [_decisions(held, "held_out", held_reason.to_numpy(dtype=object), False),
               _decisions(blocked, "suppressed", blocked["reason"].to_numpy(),
                          blocked["reason"].isin(DEFERRED).to_numpy()),
               _decisions(wait, "held", None, False).assign(due_at=wait["due_at"].to_numpy())]
    messages = _messages(ctx, spec, go, domain)
    bad = messages[messages["error"].notna()]
    decided.append(_decisions(bad, "failed", ("render: " + bad["error"].astype(str)).str[:200]
                              .to_numpy(), False))
    ledger.write(store, spec.id, STEP, spec.channel,
                 pd.concat([d for d in decided if not d.empty] or [decided[0]]), known)
    ready = messages[messages["error"].isna()].reset_index(drop=True)
    sent = _deliver(store, spec, channel, ready, known, batch_size, retry, bucket,
                    on_progress, owner)
    totals = ledger.summary(ledger.totals(store, spec.id))
    _finish(store, spec.id, "running" if totals["pending"] or totals["held"]
            or _retrying(store, spec.id) else "done")
    exposures = write_exposures(ctx, store, spec.id, spec.name, spec.channel, STEP)
    return cast(CampaignRun, {"campaign_id": spec.id, **totals, "sent": sent,
                              "exposures": exposures, "dry_run": False})


def _allocate(ctx: Context, store: OpsStore, spec: CampaignSpec, go: pd.DataFrame,
              batch_size: int) -> pd.DataFrame:
    """With ``allocation == "bandit"``: the variant of each new message (no kept label)
    drawn by Thompson sampling, batch by batch, after refreshing the bandit's rewards."""
    if spec.allocation != "bandit" or go.empty:
        return go
    fresh = np.flatnonzero((go["label"] == go["arm"]).to_numpy())
    if not len(fresh):
        return go
    bandit.ensure(store, spec.bandit_id, [v.name for v in spec.variants], spec.seed)
    bandit.refresh(ctx, store, spec.bandit_id)
    arms = go["arm"].to_numpy(dtype=object).copy()
    for start in range(0, len(fresh), batch_size):  # a batch per draw of the state
        rows = fresh[start:start + batch_size]
        arms[rows] = bandit.choose(store, spec.bandit_id, len(rows))
    return go.assign(arm=arms, label=arms)


def _retrying(store: OpsStore, cid: str) -> bool:
    book = ledger.rows_of(store, cid, STEP)
    return bool(not book.empty and ledger.open_rows(book).any())


def _messages(ctx: Context, spec: CampaignSpec, go: pd.DataFrame, domain: str
              ) -> pd.DataFrame:
    """``go`` with address, subject, text, html, error, message_id and idempotency_key."""
    parts = []
    for variant in spec.variants:  # a handful of arms, each rendered as one column
        rows = go[go["arm"] == variant.name]
        if rows.empty:
            continue
        content = render_variant(ctx, variant, rows["customer_id"].tolist(),
                                 {"campaign": spec.name, **spec.extra})
        parts.append(rows.reset_index(drop=True).join(
            content[["subject", "text", "html", "error"]].reset_index(drop=True)))
    cols = ["subject", "text", "html", "error"]
    out = (pd.concat(parts, ignore_index=True) if parts
           else go.assign(**{c: pd.Series(dtype=object) for c in cols}))
    out["address"] = (addresses(ctx, out["customer_id"].tolist()) if spec.channel == "email"
                      else pd.Series([None] * len(out), dtype=object))
    out["message_id"] = "<" + spec.id + "." + out["customer_hash"].astype(str) + "@" + \
        domain + ">"
    out["idempotency_key"] = spec.id + ":" + STEP + ":" + out["customer_id"].astype(str)
    return out


def _deliver(store: OpsStore, spec: CampaignSpec, channel: Channel, ready: pd.DataFrame,
             known: set[str], batch_size: int, retry: RetryPolicy, bucket: TokenBucket,
             on_progress: Progress | None, owner: str) -> int:
    """Claim each batch, deliver and confirm each message; the number delivered."""
    sent = 0
    total = len(ready)
    try:
        for start in range(0, total, batch_size):
            batch = ready.iloc[start:start + batch_size]
            claims = pd.DataFrame({
                "customer_id": batch["customer_id"].to_numpy(), "status": "claimed",
                "reason": None, "retry": False, "message_id": batch["message_id"].to_numpy(),
                "variant": batch["label"].to_numpy(), "attempts": 1})
            ledger.write(store, spec.id, STEP, spec.channel, claims, known)
            for row in batch.itertuples(index=False):  # one network round trip each
                message = Message(spec.id, str(row.customer_id), str(row.arm),
                                  None if pd.isna(row.address) else str(row.address),
                                  str(row.subject), str(row.text),
                                  None if pd.isna(row.html) else str(row.html),
                                  str(row.message_id), str(row.idempotency_key))
                bucket.take()
                out = deliver_with_retry(channel, message, retry)
                ledger.confirm(store, message.idempotency_key, out.status, out.reason,
                               out.retry, out.attempts)
                sent += out.status == "delivered"
            lease.renew(store, spec.id, owner)
            if on_progress is not None:
                on_progress(min(start + batch_size, total), total)
    finally:
        channel.close()
    return sent


def _dry(ctx: Context, spec: CampaignSpec, customer_ids: Sequence[str], store: OpsStore,
         now: datetime | None) -> CampaignRun:
    """What a run would do now, writing nothing: the final rows so far plus this run's
    decisions (``to_send``: the messages it would send)."""
    todo, book, _known = plan(ctx, spec, customer_ids, store, now)
    final = book.loc[~ledger.open_rows(book), ["status", "reason"]] if not book.empty \
        else pd.DataFrame(columns=["status", "reason"])
    held = (todo["arm"] == CONTROL).to_numpy()
    ok = todo["eligible"].astype(bool).to_numpy()
    status = np.where(held, "held_out", np.where(ok, "to_send", "suppressed")).astype(object)
    # a send at each customer's best hour would be held until then, not sent now
    _go, wait = timing.split(ctx, spec, todo[~held & ok], book, as_naive_utc(now))
    status[todo["customer_id"].isin(wait["customer_id"]).to_numpy() & ~held & ok] = "held"
    now_rows = pd.DataFrame({
        "status": status,
        "reason": np.where(held | ok, None, todo["reason"].to_numpy(dtype=object))})
    would = pd.concat([final, now_rows], ignore_index=True).assign(n=1)
    return cast(CampaignRun, {"campaign_id": spec.id, **ledger.summary(would), "sent": 0,
                              "to_send": int((would["status"] == "to_send").sum()),
                              "exposures": 0, "dry_run": True})


def channel_for(ctx: Context, spec: CampaignSpec, smtp: SmtpConfig | None = None,
                webhook: WebhookConfig | None = None) -> tuple[Channel, str]:
    """The channel ``spec`` names, configured, and the domain of its Message-IDs."""
    if spec.channel == "email":
        if smtp is None:
            raise ConfigError("channel email needs an SMTP server: give --smtp-host (or set "
                              "INSIGHTLOOP_SMTP_HOST)")
        return EmailChannel(smtp), smtp.domain
    if spec.channel == "webhook":
        if webhook is None:
            raise ConfigError("channel webhook needs --webhook-url (or "
                              "INSIGHTLOOP_WEBHOOK_URL) and a signing secret")
        return WebhookChannel(webhook), "insightloop.local"
    return OutboxChannel(open_ops(ctx.settings)), "insightloop.local"


def send_campaign(ctx: Context, spec: CampaignSpec, *, smtp: SmtpConfig | None = None,
                  webhook: WebhookConfig | None = None, dry_run: bool = False,
                  batch_size: int = 100, retry: RetryPolicy | None = None,
                  rate: float | None = None, on_progress: Progress | None = None,
                  now: datetime | None = None) -> CampaignRun:
    """Send ``spec`` to its audience as it is now (see :func:`run_campaign`)."""
    channel, domain = channel_for(ctx, spec, smtp, webhook)
    return run_campaign(ctx, spec, channel, members(ctx, spec), domain=domain,
                        dry_run=dry_run, batch_size=batch_size, retry=retry, rate=rate,
                        on_progress=on_progress, now=now,
                        delivery=delivery_of(smtp, webhook, rate, batch_size))


def delivery_of(smtp: SmtpConfig | None, webhook: WebhookConfig | None,
                rate: float | None = None, batch_size: int = 100) -> dict[str, Any]:
    """The channel settings a later run needs, without the password or the secret."""
    out: dict[str, Any] = {"rate": rate, "batch_size": batch_size}
    if smtp is not None:
        out["smtp"] = {k: v for k, v in asdict(smtp).items() if k != "password"}
    if webhook is not None:
        out["webhook"] = {k: v for k, v in asdict(webhook).items() if k != "secret"}
    return out


def define_campaign(ctx: Context, spec: CampaignSpec, *, smtp: SmtpConfig | None = None,
                    webhook: WebhookConfig | None = None, rate: float | None = None,
                    batch_size: int = 100) -> str:
    """Store ``spec`` and its channel settings without sending (a schedule runs it); the
    campaign's id. The channel is checked now, so a schedule cannot fail on it later."""
    channel, _domain = channel_for(ctx, spec, smtp, webhook)
    channel.close()
    store = open_ops(ctx.settings)
    owner = lease.new_owner()
    new = register(store, spec, owner, delivery_of(smtp, webhook, rate, batch_size))
    lease.give_back(store, spec.id, owner)
    if new:
        _finish(store, spec.id, "scheduled")
    return spec.id
