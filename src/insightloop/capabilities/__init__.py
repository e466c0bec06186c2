"""The capability registry: what each capability owns, declared once, read by every layer.

Adding a capability is its declaration module in this package plus one line in
:data:`CAPABILITIES`. The jobs API, the demo, the dashboard navigation, the
``customer_360`` view and the personal-data map are generated from these declarations by
the functions below, which read :data:`CAPABILITIES` when called (so a test can swap it).
"""

from __future__ import annotations

from typing import Any

from insightloop.capabilities import (
    assistant,
    audiences,
    campaigns,
    engagement,
    experiments,
    forecast,
    ingest,
    planning,
    predict,
    privacy,
    profiles,
    recommend,
    uplift,
    value,
    voice,
)
from insightloop.capabilities.spec import Capability, Columns360, Job, Page, Stage, Table
from insightloop.errors import ConfigError

CAPABILITIES: tuple[Capability, ...] = (
    ingest.CAPABILITY,
    profiles.CAPABILITY,
    value.CAPABILITY,
    predict.CAPABILITY,
    recommend.CAPABILITY,
    voice.CAPABILITY,
    uplift.CAPABILITY,
    experiments.CAPABILITY,
    audiences.CAPABILITY,
    engagement.CAPABILITY,
    campaigns.CAPABILITY,
    forecast.CAPABILITY,
    planning.CAPABILITY,
    assistant.CAPABILITY,
    privacy.CAPABILITY,
)


def _unique(kind: str, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, item in pairs:
        if name in out:
            raise ConfigError(f"{kind} {name!r} is declared twice in the capability registry")
        out[name] = item
    return out


def jobs() -> dict[str, Job]:
    """Every declared job by kind, in registry order."""
    return _unique("job kind", [(j.kind, j) for c in CAPABILITIES for j in c.jobs])


def pages() -> list[Page]:
    """Every declared dashboard page, in navigation order."""
    found = _unique("page", [(p.path, p) for c in CAPABILITIES for p in c.pages])
    return sorted(found.values(), key=lambda p: p.order)


def customer_360() -> list[Columns360]:
    """The ``customer_360`` declarations in registry order (the first is the spine)."""
    return [j for c in CAPABILITIES for j in c.customer_360]


def stages() -> list[Stage]:
    """The demo's stages in registry order."""
    found = _unique("demo stage", [(s.name, s) for c in CAPABILITIES for s in c.demo])
    return list(found.values())


def tables() -> dict[str, tuple[str, Table]]:
    """Every declared table: name -> (owning capability, declaration)."""
    return _unique("table", [(t.name, (c.name, t)) for c in CAPABILITIES for t in c.tables])


def personal_data_map() -> dict[str, dict[str, Any]]:
    """Where personal data lives: every declared table with its owner, what its rows are
    keyed by, the column holding the customer id (None: no row belongs to one customer)
    and the other columns holding personal data. Erasure (issue 18) walks this map."""
    return {name: {"capability": owner, "key": t.key, "customer": t.customer,
                   "personal": list(t.personal), "view": t.view}
            for name, (owner, t) in tables().items()}


__all__ = ["CAPABILITIES", "Capability", "customer_360", "jobs", "pages",
           "personal_data_map", "stages", "tables"]
