"""Report page: campaigns and their send ledgers (totals per campaign; per status and
reason for the newest ones)."""

from __future__ import annotations

from typing import Any

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html
from insightloop.services.campaigns import list_campaigns

MAX_DETAILED = 6


def build(ctx: ReportContext) -> list[Section]:
    """A table of every campaign, then one section per recent campaign; [] before any."""
    try:
        campaigns: list[Any] = list(list_campaigns(ctx))
    except InsightloopError:
        return []
    if not campaigns:
        return []
    overview = [{"campaign": c["campaign_id"], "channel": c["channel"], "status": c["status"],
                 "runs": c["runs"], "audience": c["audience"], "holdout": c["holdout"],
                 "suppressed": sum(c["suppressed"].values()), "delivered": c["delivered"],
                 "failed": c["failed"], "bounced": c["bounced"], "pending": c["pending"],
                 "held": c.get("held", 0), "updated": c["updated_at"]} for c in campaigns]
    sections = [Section(title="Campaigns", page="campaigns",
                        intro="Every decision of every campaign is in the send ledger: "
                              "held out at random, suppressed (and why), delivered, failed "
                              "(and why). Received = audience - holdout - suppressed - "
                              "failed - pending - held (held: waiting for the customer's best "
                              "hour, released by `insightloop campaigns tick`).",
                        tables_html=[table_html(overview)])]
    for c in campaigns[:MAX_DETAILED]:
        rows = [{"status": "held_out", "reason": "", "customers": c["holdout"]}]
        rows += [{"status": "suppressed", "reason": r, "customers": n}
                 for r, n in sorted(c["suppressed"].items())]
        rows += [{"status": s, "reason": "", "customers": c[s]}
                 for s in ("delivered", "failed", "bounced", "pending")]
        rows.append({"status": "held", "reason": "best hour ahead", "customers": c.get("held", 0)})
        sections.append(Section(
            title=f"Campaign {c['campaign_id']}", page="campaigns",
            intro=f"{c['name']}: {c['audience_definition']}; channel {c['channel']}; "
                  f"holdout {c['holdout_share']:.0%} (seed {c['seed']}); variants "
                  f"{', '.join(c['variants'])}. Measure it with `insightloop experiment "
                  f"analyze --campaign {c['campaign_id']}`.",
            tables_html=[table_html(rows)]))
    return sections
