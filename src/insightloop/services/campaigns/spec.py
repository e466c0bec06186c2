"""A campaign's definition and its random assignment.

The arm of a customer is a pure function of (seed, campaign, customer): two uniform numbers
from MD5 (``u_holdout``, ``u_variant``, 53 bits each, computed by DuckDB over the whole
audience at once); ``u_holdout < holdout`` puts the customer in the ``control`` arm, else
``u_variant`` picks a variant by weight. Re-runs and customers who join the audience later
keep or get their arm without any stored random state.
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

    def fingerprint(self) -> str:
        """A hash of what decides who gets what (a re-run must match it)."""
        body = json.dumps({"channel": self.channel, "audience": self.audience,
                           "holdout": self.holdout, "seed": self.seed,
                           "purpose": self.purpose,
                           "variants": [asdict(v) for v in self.variants]}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()


def assign(customer_ids: Sequence[str], cid: str, seed: int, holdout: float,
           variants: Sequence[Variant]) -> pd.DataFrame:
    """``customer_id``, ``arm`` and ``customer_hash`` (16 hex digits of MD5, for the
    Message-ID) of each distinct customer, in first-seen order."""
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
            "substr(md5(customer_id), 1, 16) FROM ids",
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
    return frame
