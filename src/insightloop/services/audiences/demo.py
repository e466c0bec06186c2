"""The audiences stage of ``insightloop demo``: a few saved audiences a marketer would start
from, so the dashboard's /audiences page and the campaigns have something to use."""

from __future__ import annotations

from insightloop.errors import ConfigError
from insightloop.services.audiences.saved import create_audience
from insightloop.services.context import Context
from insightloop.services.results.audiences import AudienceDemo, AudienceDemoRow

#: (name, filter, description) saved by the demo.
DEMO_AUDIENCES: tuple[tuple[str, str, str], ...] = (
    ("at-risk-lapsed", "recency_days > 90 and segment = 'at risk'",
     "RFM 'at risk' customers quiet for more than a quarter: win-back"),
    ("champions", "segment = 'champions'", "RFM champions: early access, referrals"),
    ("high-value-quiet", "tier = 'high' and recency_days > 60",
     "High value tier, no order for two months: personal outreach"),
    ("uk-repeat", "country = 'united kingdom' and orders >= 2",
     "Repeat buyers in the United Kingdom"),
)


def demo_audiences(ctx: Context) -> AudienceDemo:
    """Save :data:`DEMO_AUDIENCES` (a new version only where a filter changed); one whose
    columns this warehouse lacks is skipped with the reason."""
    saved: list[AudienceDemoRow] = []
    skipped: dict[str, str] = {}
    for name, where, description in DEMO_AUDIENCES:
        try:
            out = create_audience(ctx, name, where, description, created_by="demo")
        except ConfigError as exc:  # FilterError: e.g. no RFM segments built
            skipped[name] = str(exc)
            continue
        saved.append({"name": name, "version": out["version"], "count": out["count"]})
    return {"saved": saved, "skipped": skipped}
