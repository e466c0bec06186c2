"""Thompson-sampling bandits for live allocation, with a fixed random holdout.

A customer is in the holdout when a hash of (bandit, customer) falls below the holdout
share, so the same customer is always held out or never (an anonymous request draws it);
everyone else gets the arm with the highest draw from each arm's Beta(1 + successes,
1 + failures) posterior. The random stream is ``numpy.random.default_rng([seed, draw])``
where ``draw`` is the bandit's assignment counter in the operational store: the same seed
and the same sequence of calls give the same arms, in tests and across workers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from insightloop.errors import ConfigError
from insightloop.services.context import Context
from insightloop.services.results.experiments import ArmInfo, Assignment, BanditInfo
from insightloop.storage.operational import bandits, open_ops
from insightloop.storage.operational.bandits import HOLDOUT, ArmState, BanditState

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
MAX_ARMS = 20
_BEST_DRAWS = 20_000


def _check_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise ConfigError(f"{what} {value[:80]!r}: use 1-100 letters, digits, '_', '.', ':' or "
                          "'-', starting with a letter or digit")
    return value


def _info(s: BanditState) -> BanditInfo:
    arms = [a for a in s.stats if a.arm != HOLDOUT]
    a = np.array([x.successes for x in arms]) + 1
    b = np.array([x.failures for x in arms]) + 1
    rng = np.random.default_rng([s.seed, 2**32 - 1])
    draws = rng.beta(a, b, size=(_BEST_DRAWS, len(arms)))
    best = np.bincount(np.argmax(draws, axis=1), minlength=len(arms)) / _BEST_DRAWS
    chance = {x.arm: float(p) for x, p in zip(arms, best, strict=True)}
    return {"id": s.id, "holdout": s.holdout, "seed": s.seed, "draws": s.draws,
            "created_at": s.created_at.isoformat(),
            "arms": [_arm(x, chance.get(x.arm)) for x in s.stats]}


def _arm(x: ArmState, chance: float | None = None) -> ArmInfo:
    total = x.successes + x.failures
    return {"arm": x.arm, "pulls": x.pulls, "successes": x.successes, "failures": x.failures,
            "mean": x.successes / total if total else 0.0, "chance_best": chance}


def create_bandit(ctx: Context, bandit_id: str, arms: Sequence[str], holdout: float = 0.1,
                  seed: int = 0) -> BanditInfo:
    """Create a bandit over ``arms`` holding out ``holdout`` of customers at random
    (idempotent for the same definition)."""
    _check_id(bandit_id, "bandit id")
    names = [_check_id(a, "arm") for a in arms]
    if len(set(names)) != len(names) or not 2 <= len(names) <= MAX_ARMS:
        raise ConfigError(f"a bandit needs 2 to {MAX_ARMS} distinct arms, got {names}")
    if HOLDOUT in names:
        raise ConfigError(f"{HOLDOUT!r} is the holdout's name; call the arm something else")
    if not 0 <= holdout <= 0.5:
        raise ConfigError(f"holdout must be a share between 0 and 0.5, got {holdout}")
    if not 0 <= seed < 2**31:
        raise ConfigError(f"seed must be between 0 and 2^31 - 1, got {seed}")
    return _info(bandits.create(open_ops(ctx.settings), bandit_id, names, holdout, seed))


def bandit_state(ctx: Context, bandit_id: str) -> BanditInfo:
    """Arms, pulls, rewards and each arm's chance of being best."""
    return _info(bandits.state(open_ops(ctx.settings), bandit_id))


def in_holdout(bandit_id: str, customer_id: str, share: float) -> bool:
    """Whether the customer is in the bandit's fixed random holdout."""
    digest = hashlib.sha256(f"{bandit_id}\x00{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def thompson(state: BanditState, customer_id: str | None = None) -> str:
    """The arm for the next draw of ``state`` (the holdout, or Thompson sampling)."""
    rng = np.random.default_rng([state.seed, state.draws])
    held = (in_holdout(state.id, customer_id, state.holdout) if customer_id is not None
            else rng.random() < state.holdout)
    if held:
        return HOLDOUT
    arms = [a for a in state.stats if a.arm != HOLDOUT]
    draws = rng.beta(np.array([a.successes for a in arms]) + 1,
                     np.array([a.failures for a in arms]) + 1)
    return arms[int(np.argmax(draws))].arm


def assign_arm(ctx: Context, bandit_id: str, customer_id: str | None = None) -> Assignment:
    """Assign the next unit (a customer, or anonymous) to an arm, recorded atomically."""
    arm, draw = bandits.assign(open_ops(ctx.settings), bandit_id,
                               lambda s: thompson(s, customer_id))
    return {"experiment": bandit_id, "arm": arm, "holdout": arm == HOLDOUT, "draw": draw}


def record_reward(ctx: Context, bandit_id: str, arm: str, reward: float) -> ArmInfo:
    """Record an outcome in [0, 1] (1 = converted) for a unit assigned to ``arm``."""
    if not 0 <= reward <= 1:
        raise ConfigError(f"reward must be between 0 and 1, got {reward}")
    return _arm(bandits.reward(open_ops(ctx.settings), bandit_id, arm, float(reward)))
