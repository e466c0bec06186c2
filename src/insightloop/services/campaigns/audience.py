"""A campaign's audience: the customers its filter (or saved audience, latest version)
selects now, from the audiences service (the one filter language over ``customer_360``)."""

from __future__ import annotations

from insightloop.services.audiences import audience_ids, get_audience
from insightloop.services.campaigns.spec import CampaignSpec
from insightloop.services.context import Context


def members(ctx: Context, spec: CampaignSpec) -> list[str]:
    """The audience's customer ids now."""
    if spec.audience_where is not None:
        return list(audience_ids(ctx, spec.audience_where))
    saved = get_audience(ctx, str(spec.audience_name), live=False)
    return list(audience_ids(ctx, saved["canonical"]))
