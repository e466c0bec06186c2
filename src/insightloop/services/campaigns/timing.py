"""Send-time optimisation in a campaign run (``--send-time best``): each message waits for
the customer's best hour (:func:`insightloop.services.engagement.sendtime.next_best_times`)
within the campaign's window, as a ``held`` ledger row with its ``due_at``;
``insightloop campaigns tick`` releases it once due (eligibility, quiet hours and caps are
checked again then). A seeded share (``--sto-holdout``, :data:`~.spec.DEFAULT_TIME` arm) is
sent at once, the campaign's default time, so the lift of send-time optimisation is
measured by ``insightloop experiment analyze --campaign ID --control
'<variant>:default_time'`` rather than assumed.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from insightloop.services.campaigns.spec import DEFAULT_TIME, CampaignSpec
from insightloop.services.context import Context
from insightloop.services.engagement.sendtime import next_best_times


def split(ctx: Context, spec: CampaignSpec, go: pd.DataFrame, book: pd.DataFrame,
          now: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(``go`` rows to send now, rows to hold with ``due_at``); labels the send-time
    holdout's rows ``<variant>:default_time``."""
    if spec.send_time != "best" or go.empty:
        return go, go.iloc[:0].assign(due_at=pd.Series(dtype="datetime64[ns]"))
    # held before (due now, or deferred at release by quiet hours or a cap): goes now
    released = go["customer_id"].isin(book.loc[book["due_at"].notna(), "customer_id"]) \
        if not book.empty else pd.Series(False, index=go.index)
    seen = go["label"].astype(str).str.contains(DEFAULT_TIME, regex=False)
    sto = ~released & ~seen & (go["u_timing"].to_numpy() < spec.sto_holdout)
    go = go.assign(label=np.where(sto, go["arm"].astype(str) + DEFAULT_TIME, go["label"]))
    fresh = (~released & ~sto & ~seen).to_numpy()
    due = pd.Series(pd.Timestamp(now), index=go.index, dtype="datetime64[ns]")
    if fresh.any():
        best = next_best_times(ctx, go.loc[fresh, "customer_id"].tolist(), now,
                               spec.window_hours)
        due[fresh] = best["due_at"].to_numpy()
    wait = (due > pd.Timestamp(now)).to_numpy()
    return (go[~wait].reset_index(drop=True),
            go[wait].assign(due_at=due[wait].to_numpy()).reset_index(drop=True))
