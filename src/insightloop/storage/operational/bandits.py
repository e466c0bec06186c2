"""Bandit state in the operational store: every server process assigns and rewards the
same bandits, and each change is one atomic write.

An assignment reads the bandit and its arms, lets the caller choose an arm from that state
(the choice is Thompson sampling, in the services; this layer only stores), and advances
the bandit's draw counter and the arm's pulls, all inside one write transaction that holds
the write lock (SQLite ``BEGIN IMMEDIATE``; a transaction advisory lock per bandit on
PostgreSQL), so concurrent workers see every draw exactly once. A reward is a single
``UPDATE ... SET successes = successes + r``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from insightloop.errors import ConfigError, NotFoundError
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import Bandit, BanditArm

HOLDOUT = "holdout"


@dataclass(frozen=True)
class ArmState:
    arm: str
    pulls: int
    successes: float
    failures: float


@dataclass(frozen=True)
class BanditState:
    id: str
    arms: list[str]
    holdout: float
    seed: int
    draws: int
    created_at: datetime
    stats: list[ArmState]  # the arms in declared order, then the holdout


def _read(conn: Connection, bandit_id: str) -> BanditState | None:
    row = conn.execute(select(Bandit.id, Bandit.arms, Bandit.holdout, Bandit.seed,
                              Bandit.draws, Bandit.created_at)
                       .where(Bandit.id == bandit_id)).first()
    if row is None:
        return None
    found = {arm: ArmState(arm, int(pulls), float(wins), float(losses))
             for arm, pulls, wins, losses in conn.execute(
                 select(BanditArm.arm, BanditArm.pulls, BanditArm.successes,
                        BanditArm.failures).where(BanditArm.bandit_id == bandit_id))}
    order = [*row.arms, HOLDOUT]
    return BanditState(row.id, list(row.arms), float(row.holdout), int(row.seed),
                       int(row.draws), row.created_at, [found[a] for a in order if a in found])


def _missing(bandit_id: str) -> NotFoundError:
    return NotFoundError(f"no bandit {bandit_id!r}; create it first (POST /api/v1/experiments "
                         "or `insightloop experiment bandit create`)")


def create(store: OpsStore, bandit_id: str, arms: Sequence[str], holdout: float,
           seed: int) -> BanditState:
    """Create the bandit (idempotent for the same arms, holdout and seed)."""
    with store.write(lock=f"bandit:{bandit_id}") as conn:
        old = _read(conn, bandit_id)
        if old is not None:
            if old.arms != list(arms) or old.holdout != holdout or old.seed != seed:
                raise ConfigError(f"bandit {bandit_id!r} exists with arms {old.arms}, holdout "
                                  f"{old.holdout} and seed {old.seed}; choose another id")
            return old
        conn.execute(insert(Bandit).values(id=bandit_id, arms=list(arms), holdout=holdout,
                                           seed=seed, draws=0, created_at=datetime.now()))
        conn.execute(insert(BanditArm), [
            {"bandit_id": bandit_id, "arm": a, "pulls": 0, "successes": 0.0, "failures": 0.0}
            for a in [*arms, HOLDOUT]])
        made = _read(conn, bandit_id)
    assert made is not None
    return made


def state(store: OpsStore, bandit_id: str) -> BanditState:
    with store.read() as conn:
        found = _read(conn, bandit_id)
    if found is None:
        raise _missing(bandit_id)
    return found


def assign(store: OpsStore, bandit_id: str,
           choose: Callable[[BanditState], str]) -> tuple[str, int]:
    """The arm ``choose`` picks from the current state, recorded atomically; returns it
    and the draw's index."""
    with store.write(lock=f"bandit:{bandit_id}") as conn:
        current = _read(conn, bandit_id)
        if current is None:
            raise _missing(bandit_id)
        arm = choose(current)
        conn.execute(update(Bandit).where(Bandit.id == bandit_id)
                     .values(draws=Bandit.draws + 1))
        conn.execute(update(BanditArm).where(BanditArm.bandit_id == bandit_id,
                                             BanditArm.arm == arm)
                     .values(pulls=BanditArm.pulls + 1))
    return arm, current.draws


def reward(store: OpsStore, bandit_id: str, arm: str, value: float) -> ArmState:
    """Add a reward in [0, 1] to ``arm`` (``value`` successes, ``1 - value`` failures)."""
    with store.write(lock=f"bandit:{bandit_id}") as conn:
        done = conn.execute(update(BanditArm).where(BanditArm.bandit_id == bandit_id,
                                                    BanditArm.arm == arm)
                            .values(successes=BanditArm.successes + value,
                                    failures=BanditArm.failures + (1.0 - value))).rowcount
        current = _read(conn, bandit_id)
    if current is None:
        raise _missing(bandit_id)
    if not done:
        raise NotFoundError(f"bandit {bandit_id!r} has no arm {arm!r}; its arms are: "
                            f"{', '.join([*current.arms, HOLDOUT])}")
    return next(s for s in current.stats if s.arm == arm)
