"""Shared counters, dashboard sessions and rate-limit buckets in the operational store.

Everything here is safe with several processes: a session written by one worker is read
by another, and a token taken from a bucket in one process is gone for all of them.
"""

from __future__ import annotations

import hashlib
import random
import time

from sqlalchemy import Connection, case, delete, func, insert, select, update

from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import Counter, DashboardSession, RateBucket


def counter(conn: Connection, name: str) -> int:
    value = conn.execute(select(Counter.value).where(Counter.name == name)).scalar()
    return int(value or 0)


def bump(conn: Connection, name: str) -> int:
    """Add one to counter ``name`` (created at 1) inside the caller's write transaction."""
    done = conn.execute(update(Counter).where(Counter.name == name)
                        .values(value=Counter.value + 1)).rowcount
    if not done:
        conn.execute(insert(Counter).values(name=name, value=1))
    return counter(conn, name)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(store: OpsStore, token: str, key_id: str, seconds: float,
                   max_sessions: int) -> None:
    """Store a session (its token's hash); past ``max_sessions`` the oldest ones end."""
    now = time.time()
    with store.write(lock="sessions") as conn:
        conn.execute(delete(DashboardSession).where(DashboardSession.expires <= now))
        live = conn.execute(select(func.count()).select_from(DashboardSession)).scalar() or 0
        if live >= max_sessions:
            oldest = select(DashboardSession.token_hash).order_by(
                DashboardSession.created, DashboardSession.token_hash
            ).limit(live - max_sessions + 1).scalar_subquery()
            conn.execute(delete(DashboardSession).where(DashboardSession.token_hash.in_(oldest)))
        conn.execute(insert(DashboardSession).values(
            token_hash=token_hash(token), key_id=key_id, created=now, expires=now + seconds))


def session_key(store: OpsStore, token: str) -> str | None:
    """The key id of a live session, else None."""
    with store.read() as conn:
        found = conn.execute(select(DashboardSession.key_id).where(
            DashboardSession.token_hash == token_hash(token),
            DashboardSession.expires > time.time())).scalar()
    return None if found is None else str(found)


def drop_session(store: OpsStore, token: str) -> None:
    with store.write() as conn:
        conn.execute(delete(DashboardSession)
                     .where(DashboardSession.token_hash == token_hash(token)))


def count_sessions(store: OpsStore) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(DashboardSession)
                                .where(DashboardSession.expires > time.time())).scalar() or 0)


def take_token(store: OpsStore, scope: str, who: str, rate: float, burst: float,
               now: float | None = None) -> float:
    """Take one token from bucket ``scope:who``: 0.0 when allowed, else seconds until one
    refills (see :func:`take_tokens`)."""
    granted, wait = take_tokens(store, scope, who, rate, burst, 1, now)
    return 0.0 if granted else wait


def take_tokens(store: OpsStore, scope: str, who: str, rate: float, burst: float,
                want: int, now: float | None = None) -> tuple[int, float]:
    """Take up to ``want`` whole tokens from bucket ``scope:who`` in one write.

    Returns ``(granted, wait)``: ``granted`` tokens (0 when the bucket holds less than
    one) and, when none was granted, the seconds until one refills. The refill and the
    take happen in one transaction (the row is locked on PostgreSQL; SQLite's write lock
    is taken at BEGIN); a missing bucket starts full. Buckets idle long enough to have
    refilled are deleted now and then (they would start full anyway), so the table stays
    small.
    """
    now = time.time() if now is None else now
    name = f"{scope}:{who}"
    refilled = RateBucket.tokens + (now - RateBucket.updated) * rate
    level = case((refilled > burst, burst), else_=refilled)
    with store.write() as conn:
        tokens = conn.execute(select(level).where(RateBucket.name == name)
                              .with_for_update()).scalar()
        if tokens is None:
            granted = max(0, min(want, int(burst)))
            conn.execute(insert(RateBucket).values(name=name, tokens=burst - granted,
                                                   updated=now))
            if random.random() < 1 / 64:  # a pruning cadence, not security
                prune_buckets(conn, scope, rate, burst, now)
        else:
            granted = max(0, min(want, int(tokens)))
            conn.execute(update(RateBucket).where(RateBucket.name == name)
                         .values(tokens=float(tokens) - granted, updated=now))
    if granted:
        return granted, 0.0
    level_now = float(tokens) if tokens is not None else burst
    return 0, ((1.0 - level_now) / rate if rate > 0 else 60.0)


def prune_buckets(conn: Connection, scope: str, rate: float, burst: float, now: float) -> int:
    """Delete the buckets of ``scope`` that have refilled (nobody's limit changes: a new
    bucket starts full)."""
    if rate <= 0:
        return 0
    full_since = now - burst / rate
    return int(conn.execute(delete(RateBucket).where(
        RateBucket.name.startswith(f"{scope}:", autoescape=True),
        RateBucket.updated <= full_since)).rowcount or 0)


def count_buckets(store: OpsStore) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(RateBucket)).scalar() or 0)
