"""Journeys: definitions and per-customer state in the operational store, advanced by
:func:`tick`.

A tick, for each enabled journey: (1) customers the trigger selects enter at the first step
(once per customer: the state's key is (journey, customer)); (2) with
``exit_on_conversion``, those who ordered since entering leave (``converted``); (3) every
customer whose step is due is moved on, step by step, until nobody is due at ``now``:

- ``wait``: entering the step sets its due time; when due, on to the next;
- ``branch``: the audience filter (``insightloop.features.audiences`` language) over
  ``customer_360`` decides ``then``/``else``;
- ``split``: a seeded hash of (seed, journey, step, customer) picks an arm by weight;
- ``send``: :func:`insightloop.services.engagement.eligibility` decides first; quiet hours
  and frequency caps postpone the customer by :data:`RETRY_AFTER`, any other reason skips
  the message (the journey goes on); the eligible are *claimed* in ``journey_log``
  (unique per journey, step and customer) before the action runs and confirmed after.

Every step is logged once per customer (the unique key), so a second tick at the same
``now`` does nothing, and a tick that crashed is resumed by the next one: customers with a
claimed, unconfirmed send get the action again (the campaigns ledger under the default
action keeps that from sending twice). State lives only in the store: a restart loses
nothing. Work is done per step over all its due customers, never one customer at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from insightloop.errors import ConfigError, NotFoundError
from insightloop.services.audiences import audience_ids
from insightloop.services.context import Context
from insightloop.services.engagement import eligibility
from insightloop.services.engagement.eligibility import as_utc
from insightloop.services.journeys.delivery import campaign_action
from insightloop.services.journeys.spec import END, JourneySpec, Step, parse_journey
from insightloop.services.journeys.triggers import STATE_TRIGGERS, converted, triggered
from insightloop.services.results.engagement import JourneyInfo, TickResult
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.engagement_models import (
    JourneyDef,
    JourneyLog,
    JourneyState,
)
from insightloop.storage.operational.engine import OpsStore

#: What a send step does: (ctx, journey, step, customer ids, now) -> outcome per customer
#: ("sent", "failed: ...", ...; a customer left out counts as "sent").
Action = Callable[[Context, JourneySpec, Step, list[str], datetime], Mapping[str, str]]
RETRY_AFTER = timedelta(hours=1)
DEFERRED = frozenset({"quiet_hours", "frequency_cap"})
BASELINE = "__baseline__"


def _insert(store: OpsStore):  # type: ignore[no-untyped-def]
    return pg_insert if store.dialect == "postgresql" else sqlite_insert


def create_journey(ctx: Context, spec: JourneySpec | Mapping[str, object],
                   now: datetime | None = None, replace: bool = False) -> JourneyInfo:
    """Store a journey (its start is ``now``); the same name again needs ``replace``."""
    journey = spec if isinstance(spec, JourneySpec) else parse_journey(dict(spec))
    store = open_ops(ctx.settings)
    body = journey.model_dump(mode="json", by_alias=True)
    with store.write(lock=f"journey:{journey.name}") as conn:
        old = conn.execute(select(JourneyDef.definition)
                           .where(JourneyDef.name == journey.name)).scalar()
        if old is not None and old != body and not replace:
            raise ConfigError(f"journey {journey.name!r} exists with another definition; "
                              "use --replace (customers keep their state) or another name")
        if old is None:
            conn.execute(insert(JourneyDef).values(name=journey.name, definition=body,
                                                   enabled=True, created_at=as_utc(now)))
        else:
            conn.execute(update(JourneyDef).where(JourneyDef.name == journey.name)
                         .values(definition=body))
    return _info(store, journey, True)


def load(store: OpsStore, name: str) -> tuple[JourneySpec, bool, datetime]:
    with store.read() as conn:
        row = conn.execute(select(JourneyDef.definition, JourneyDef.enabled,
                                  JourneyDef.created_at).where(JourneyDef.name == name)).first()
    if row is None:
        raise NotFoundError(f"no journey {name!r}; see `insightloop journeys list`")
    return parse_journey(row.definition, name), bool(row.enabled), row.created_at


def _info(store: OpsStore, spec: JourneySpec, enabled: bool) -> JourneyInfo:
    with store.read() as conn:
        counts = {status: n for status, n in conn.execute(
            select(JourneyState.status, func.count()).where(JourneyState.journey == spec.name)
            .group_by(JourneyState.status))}
    return {"name": spec.name, "trigger": spec.trigger.kind, "steps": len(spec.steps),
            "enabled": enabled, "states": {str(k): int(v) for k, v in counts.items()}}


def list_journeys(ctx: Context) -> list[JourneyInfo]:
    store = open_ops(ctx.settings)
    with store.read() as conn:
        names = conn.execute(select(JourneyDef.name).order_by(JourneyDef.name)).scalars().all()
    out = []
    for name in names:  # journeys, not customers
        spec, enabled, _ = load(store, name)
        out.append(_info(store, spec, enabled))
    return out


def journey_states(ctx: Context, name: str) -> pd.DataFrame:
    """Customers per step and status of one journey (``step``, ``status``, ``customers``)."""
    store = open_ops(ctx.settings)
    load(store, name)
    with store.read() as conn:
        rows = conn.execute(select(JourneyState.step, JourneyState.status, func.count())
                            .where(JourneyState.journey == name)
                            .group_by(JourneyState.step, JourneyState.status)).all()
    return pd.DataFrame(rows, columns=["step", "status", "customers"])


def journey_log(ctx: Context, name: str) -> pd.DataFrame:
    """Every step done: ``customer_id``, ``step``, ``outcome``, ``at`` (oldest first)."""
    with open_ops(ctx.settings).read() as conn:
        rows = conn.execute(select(JourneyLog.customer_id, JourneyLog.step, JourneyLog.outcome,
                                   JourneyLog.at)
                            .where(JourneyLog.journey == name, JourneyLog.step != BASELINE)
                            .order_by(JourneyLog.id)).all()
    return pd.DataFrame(rows, columns=["customer_id", "step", "outcome", "at"])


def tick(ctx: Context, now: datetime | None = None, action: Action | None = None,
         names: Sequence[str] | None = None) -> TickResult:
    """Advance every enabled journey (or ``names``) to ``now`` (see the module doc)."""
    at = as_utc(now)
    store = open_ops(ctx.settings)
    with store.read() as conn:
        found = conn.execute(select(JourneyDef.name).where(JourneyDef.enabled)
                             .order_by(JourneyDef.name)).scalars().all()
    chosen = [n for n in found if names is None or n in names]
    result: TickResult = {"now": at.isoformat(), "entered": 0, "advanced": 0, "actions": {},
                          "skipped": {}, "exited": 0, "completed": 0}
    action = action or campaign_action
    for name in chosen:  # journeys, not customers
        spec, _, start = load(store, name)
        _enter(ctx, store, spec, start, at, result)
        _exit_converted(ctx, store, spec, at, result)
        for _ in range(len(spec.steps) + 1):  # each round moves everyone due one step
            if not _advance(ctx, store, spec, at, action, result):
                break
    return result


def _enter(ctx: Context, store: OpsStore, spec: JourneySpec, start: datetime, at: datetime,
           result: TickResult) -> None:
    ids = pd.Series(triggered(ctx, spec.trigger, start, at), dtype=object).unique()
    with store.read() as conn:
        known = set(conn.execute(select(JourneyState.customer_id)
                                 .where(JourneyState.journey == spec.name)).scalars())
        based = conn.execute(select(JourneyLog.id).where(
            JourneyLog.journey == spec.name, JourneyLog.step == BASELINE)).first()
    new = pd.DataFrame({"customer_id": ids})
    new = new[~new["customer_id"].isin(known)]
    baseline = spec.trigger.kind in STATE_TRIGGERS and based is None
    first = spec.steps[0]
    rows = new.assign(journey=spec.name, step=first.id, due_at=at + _wait(first),
                      status="baseline" if baseline else "active", entered_at=at,
                      updated_at=at).to_dict("records")
    with store.write(lock=f"journey:{spec.name}") as conn:
        if rows:
            conn.execute(_insert(store)(JourneyState).on_conflict_do_nothing(
                index_elements=["journey", "customer_id"]), rows)
        if baseline:
            conn.execute(_insert(store)(JourneyLog).on_conflict_do_nothing(
                index_elements=["journey", "customer_id", "step"]),
                [{"journey": spec.name, "customer_id": "", "step": BASELINE,
                  "outcome": f"{len(rows)} already in the state", "at": at}])
    if not baseline:
        result["entered"] += len(rows)


def _wait(step: Step) -> timedelta:
    return timedelta(seconds=step.wait.seconds) if step.wait else timedelta(0)


def _active(store: OpsStore, name: str, due_by: datetime | None = None) -> pd.DataFrame:
    query = select(JourneyState.customer_id, JourneyState.step, JourneyState.entered_at
                   ).where(JourneyState.journey == name, JourneyState.status == "active")
    if due_by is not None:
        query = query.where(JourneyState.due_at <= due_by)
    with store.read() as conn:
        rows = conn.execute(query.order_by(JourneyState.customer_id)).all()
    return pd.DataFrame(rows, columns=["customer_id", "step", "entered_at"])


def _exit_converted(ctx: Context, store: OpsStore, spec: JourneySpec, at: datetime,
                    result: TickResult) -> None:
    if not spec.exit_on_conversion:
        return
    gone = converted(ctx, _active(store, spec.name), at)
    if gone:
        _set_status(store, spec.name, sorted(gone), "converted", at)
        result["exited"] += len(gone)


def _set_status(store: OpsStore, name: str, ids: list[str], status: str,
                at: datetime) -> None:
    with store.write(lock=f"journey:{name}") as conn:
        conn.execute(update(JourneyState).where(
            JourneyState.journey == name, JourneyState.customer_id.in_(ids),
            JourneyState.status == "active").values(status=status, updated_at=at))


def _advance(ctx: Context, store: OpsStore, spec: JourneySpec, at: datetime, action: Action,
             result: TickResult) -> bool:
    due = _active(store, spec.name, at)
    if due.empty:
        return False
    for step_id, group in due.groupby("step", sort=False):  # steps, not customers
        step = spec.step(str(step_id))
        ids = group["customer_id"].astype(str).tolist()
        if step.send is not None:
            moves = _send(ctx, store, spec, step, ids, at, action, result)
        else:
            moves = _route(ctx, spec, step, ids)
        _move(store, spec, step, moves, at, result)
    return True


def _route(ctx: Context, spec: JourneySpec, step: Step, ids: list[str]) -> pd.DataFrame:
    """Where each customer goes after a wait, branch or split, and the logged outcome."""
    frame = pd.DataFrame({"customer_id": ids})
    if step.branch is not None:
        members = set(audience_ids(ctx, step.branch.where))
        hit = frame["customer_id"].isin(members).to_numpy()
        frame["next"] = np.where(hit, step.branch.then, step.branch.else_)
        frame["outcome"] = np.where(hit, "then", "else")
    elif step.split is not None:
        arms = list(step.split.arms)
        weights = np.array([step.split.arms[a] for a in arms], dtype=float)
        keys = (f"{step.split.seed}:{spec.name}:{step.id}:" + frame["customer_id"]).to_numpy()
        u = pd.util.hash_array(keys.astype(object)) / float(2 ** 64)
        pick = np.searchsorted(np.cumsum(weights) / weights.sum(), u, side="right")
        frame["next"] = np.array(arms, dtype=object)[np.minimum(pick, len(arms) - 1)]
        frame["outcome"] = frame["next"]
    else:
        frame["next"] = spec.targets(step)[0]
        frame["outcome"] = "waited"
    return frame


def _send(ctx: Context, store: OpsStore, spec: JourneySpec, step: Step, ids: list[str],
          at: datetime, action: Action, result: TickResult) -> pd.DataFrame:
    verdict = eligibility(ctx, ids, spec.channel, spec.purpose, at)
    verdict["customer_id"] = ids
    later = verdict["reason"].isin(DEFERRED).to_numpy()
    if later.any():
        _postpone(store, spec.name, verdict.loc[later, "customer_id"].tolist(),
                  at + RETRY_AFTER, at)
    skip = verdict[~verdict["eligible"].astype(bool) & ~later]
    for reason, n in skip["reason"].value_counts().items():
        result["skipped"][str(reason)] = result["skipped"].get(str(reason), 0) + int(n)
    go = verdict.loc[verdict["eligible"].astype(bool), "customer_id"].tolist()
    claimed = _claim(store, spec.name, step.id, go, at)
    outcomes = dict(action(ctx, spec, step, claimed, at)) if claimed else {}
    sent = pd.DataFrame({"customer_id": claimed})
    sent["outcome"] = (sent["customer_id"].map(pd.Series(outcomes, dtype=object))
                       .fillna("sent").astype(str).str[:64])
    for outcome, n in sent["outcome"].value_counts().items():
        result["actions"][str(outcome)] = result["actions"].get(str(outcome), 0) + int(n)
    skipped = pd.DataFrame({"customer_id": skip["customer_id"].tolist(),
                            "outcome": ("skipped: " + skip["reason"].astype(str)).tolist()})
    moves = pd.concat([sent, skipped], ignore_index=True)
    moves["next"] = spec.targets(step)[0]
    return moves


def _claim(store: OpsStore, name: str, step: str, ids: list[str], at: datetime) -> list[str]:
    """Claim the send for ``ids``; returns those to act on now: newly claimed, plus those
    a crashed tick claimed and never confirmed."""
    if not ids:
        return []
    with store.write(lock=f"journey:{name}") as conn:
        conn.execute(_insert(store)(JourneyLog).on_conflict_do_nothing(
            index_elements=["journey", "customer_id", "step"]),
            pd.DataFrame({"customer_id": ids}).assign(
                journey=name, step=step, outcome="claimed", at=at).to_dict("records"))
        mine = set(conn.execute(select(JourneyLog.customer_id).where(
            JourneyLog.journey == name, JourneyLog.step == step,
            JourneyLog.outcome == "claimed", JourneyLog.customer_id.in_(ids))).scalars())
    return pd.Series(ids, dtype=object)[lambda c: c.isin(mine)].tolist()


def _postpone(store: OpsStore, name: str, ids: list[str], due: datetime,
              at: datetime) -> None:
    with store.write(lock=f"journey:{name}") as conn:
        conn.execute(update(JourneyState).where(
            JourneyState.journey == name, JourneyState.customer_id.in_(ids))
            .values(due_at=due, updated_at=at))


def _move(store: OpsStore, spec: JourneySpec, step: Step, moves: pd.DataFrame, at: datetime,
          result: TickResult) -> None:
    """Log the step's outcome and move each customer on, in one transaction."""
    if moves.empty:
        return
    waits = pd.Series({s.id: _wait(s) for s in spec.steps} | {END: timedelta(0)})
    nxt = moves["next"].astype(str)
    ended = nxt == END
    logs = moves[["customer_id", "outcome"]].assign(journey=spec.name, step=step.id, at=at)
    states = pd.DataFrame({"b_c": moves["customer_id"], "b_step": nxt.where(~ended, step.id),
                           "b_due": at + pd.to_timedelta(nxt.map(waits)),
                           "b_status": np.where(ended, "done", "active")})
    with store.write(lock=f"journey:{spec.name}") as conn:
        _log(store, conn, logs)
        conn.execute(update(JourneyState).where(and_(
            JourneyState.journey == spec.name, JourneyState.customer_id == bindparam("b_c"),
            JourneyState.step == step.id, JourneyState.status == "active")).values(
            step=bindparam("b_step"), due_at=bindparam("b_due"),
            status=bindparam("b_status"), updated_at=at), states.to_dict("records"))
    result["advanced"] += len(moves)
    result["completed"] += int(ended.sum())


def _log(store: OpsStore, conn: Connection, logs: pd.DataFrame) -> None:
    """Insert log rows; a claimed send's row is confirmed with its outcome."""
    conn.execute(_insert(store)(JourneyLog).on_conflict_do_nothing(
        index_elements=["journey", "customer_id", "step"]), logs.to_dict("records"))
    conn.execute(update(JourneyLog).where(and_(
        JourneyLog.journey == bindparam("b_j"), JourneyLog.customer_id == bindparam("b_c"),
        JourneyLog.step == bindparam("b_s"), JourneyLog.outcome == "claimed"))
        .values(outcome=bindparam("b_o")),
        logs.rename(columns={"journey": "b_j", "customer_id": "b_c", "step": "b_s",
                             "outcome": "b_o"})[["b_j", "b_c", "b_s", "b_o"]]
        .to_dict("records"))
