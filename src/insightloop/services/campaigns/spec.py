"""A campaign's definition and its random assignment.

The arm of a customer is a pure function of (seed, campaign, customer): two uniform numbers
from MD5 (``u_holdout``, ``u_variant``, 53 bits each, computed by DuckDB over the whole
audience at once); ``u_holdout < holdout`` puts the customer in the ``control`` arm, else
``u_variant`` picks a variant by weight. Re-runs and customers who join the audience later
keep or get their arm without any stored random state. A third number, ``u_timing``, puts a
share of a ``--send-time best`` campaign in the send-time holdout (sent at once, arm
``<variant>:default_time``). With ``allocation == "bandit"`` the variant of a new message is
drawn by Thompson sampling instead (:mod:`.bandit`); the holdout stays hashed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from insightloop.errors import ConfigError

CONTROL = "control"
CHANNELS = ("email", "webhook", "outbox")
SEND_TIMES = ("now", "best")
ALLOCATIONS = ("weights", "bandit")
#: the suffix of the exposure arm of the send-time holdout (sent at the default time)
DEFAULT_TIME = ":default_time"
_ID_BAD = re.compile(r"[^a-z0-9_.-]+")
_TWO_53 = float(2 ** 53)


def campaign_id(name: str) -> str:
    """The id of a campaign named ``name``: lower case, runs of other characters as ``-``."""
    cid = _ID_BAD.sub("-", name.strip().lower()).strip("-.")[:100]
    if not cid:
        raise ConfigError(f"campaign name {name!r} has no letters or digits; give --name a "
                          "name such as 'winback-2026-12'")
    return cid


@dataclass(frozen=True)
class Variant:
    """One arm's content: Jinja2 templates of the subject, text and (optional) HTML."""

    name: str
    subject: str
    text: str
    html: str | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class CampaignSpec:
    """Audience (a filter or a saved audience), channel, content, holdout and seed."""

    name: str
    channel: str
    variants: tuple[Variant, ...]
    audience_where: str | None = None
    audience_name: str | None = None
    holdout: float = 0.1
    seed: int = 42
    purpose: str = "marketing"
    extra: dict[str, Any] = field(default_factory=dict)
    send_time: str = "now"
    sto_holdout: float = 0.0
    window_hours: int = 24
    allocation: str = "weights"
    bandit: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ConfigError(f"channel {self.channel!r} is not one of {', '.join(CHANNELS)}")
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError(f"--holdout {self.holdout} must be at least 0 and below 1 "
                              "(a share of the audience, e.g. 0.1)")
        if not self.variants:
            raise ConfigError("a campaign needs at least one variant (its content)")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names) or CONTROL in names:
            raise ConfigError(f"variant names {names} must be distinct and not {CONTROL!r}")
        if any(v.weight <= 0 for v in self.variants):
            raise ConfigError("variant weights must be positive")
        if self.send_time not in SEND_TIMES:
            raise ConfigError(f"--send-time {self.send_time!r} is not one of "
                              f"{', '.join(SEND_TIMES)}")
        if not 0.0 <= self.sto_holdout < 1.0 or (self.sto_holdout and self.send_time != "best"):
            raise ConfigError(f"--sto-holdout {self.sto_holdout} must be at least 0 and below "
                              "1, and needs --send-time best")
        if not 1 <= self.window_hours <= 168:
            raise ConfigError(f"--window {self.window_hours} h must be 1 to 168 hours")
        if self.allocation not in ALLOCATIONS:
            raise ConfigError(f"--allocation {self.allocation!r} is not one of "
                              f"{', '.join(ALLOCATIONS)}")
        if self.allocation == "bandit" and len(self.variants) < 2:
            raise ConfigError("--allocation bandit needs at least two variants "
                              "(--variant-subject twice or more)")
        if (self.audience_where is None) == (self.audience_name is None):
            raise ConfigError("give the audience as a filter (--audience-where) or a saved "
                              "audience's name (--audience), one of the two")

    @property
    def id(self) -> str:
        return campaign_id(self.name)

    @property
    def audience(self) -> str:
        return (f"where: {self.audience_where}" if self.audience_where is not None
                else f"audience: {self.audience_name}")

    @property
    def bandit_id(self) -> str:
        """The bandit whose state picks this campaign's variants (a schedule's runs share
        it)."""
        return "campaign-" + (self.bandit or self.id)

    def fingerprint(self) -> str:
        """A hash of what decides who gets what (a re-run must match it)."""
        facts: dict[str, Any] = {"channel": self.channel, "audience": self.audience,
                                 "holdout": self.holdout, "seed": self.seed,
                                 "purpose": self.purpose,
                                 "variants": [asdict(v) for v in self.variants]}
        # timing and allocation only when not the defaults: older campaigns keep their hash
        for key, default in (("send_time", "now"), ("sto_holdout", 0.0),
                             ("window_hours", 24), ("allocation", "weights")):
            if getattr(self, key) != default:
                facts[key] = getattr(self, key)
        body = json.dumps(facts, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """The definition as plain JSON (stored with the campaign; see :func:`from_json`)."""
        return {**asdict(self), "variants": [asdict(v) for v in self.variants]}


def from_json(data: dict[str, Any], **changes: Any) -> CampaignSpec:
    """The spec :meth:`CampaignSpec.to_json` stored, with ``changes`` (e.g. another name)."""
    body = {**data, **changes}
    body["variants"] = tuple(Variant(**v) for v in body["variants"])
    return CampaignSpec(**body)


def assign(customer_ids: Sequence[str], cid: str, seed: int, holdout: float,
           variants: Sequence[Variant]) -> pd.DataFrame:
    """``customer_id``, ``arm``, ``customer_hash`` (16 hex digits of MD5, for the
    Message-ID) and ``u_timing`` (uniform, for the send-time holdout) of each distinct
    customer, in first-seen order."""
    ids = pd.Series(pd.unique(pd.Series(list(customer_ids), dtype=object).astype(str)),
                    dtype=object)
    frame = pd.DataFrame({"customer_id": ids})
    con = duckdb.connect()
    try:
        con.register("ids", frame)
        prefix = f"{seed}:{cid}:"
        u = con.execute(
            "SELECT (md5_number_lower($p || 'holdout:' || customer_id) >> 11)::DOUBLE / $d, "
            "(md5_number_lower($p || 'variant:' || customer_id) >> 11)::DOUBLE / $d, "
            "substr(md5(customer_id), 1, 16), "
            "(md5_number_lower($p || 'timing:' || customer_id) >> 11)::DOUBLE / $d FROM ids",
            {"p": prefix, "d": _TWO_53}).fetchnumpy()
    finally:
        con.close()
    keys = list(u)
    u_hold, u_var = np.asarray(u[keys[0]], float), np.asarray(u[keys[1]], float)
    weights = np.array([v.weight for v in variants], dtype=float)
    edges = np.cumsum(weights / weights.sum())
    pick = np.minimum(np.searchsorted(edges, u_var, side="right"), len(variants) - 1)
    names = np.array([v.name for v in variants], dtype=object)
    frame["arm"] = np.where(u_hold < holdout, CONTROL, names[pick])
    frame["customer_hash"] = np.asarray(u[keys[2]], dtype=object)
    frame["u_timing"] = np.asarray(u[keys[3]], float)
    return frame
