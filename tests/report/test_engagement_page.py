"""The /engagement report page: nothing before journeys or send times exist; then a table
of journeys with their customers per status and the send-time chart."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from engagement_helpers import make_ctx
from insightloop.report.pages import engagement
from insightloop.services.engagement import build_send_times
from insightloop.services.journeys import create_journey


def test_sections_appear_with_their_data(tmp_path: Path) -> None:
    customers = pd.DataFrame({"customer_id": ["1", "2"], "country": ["France", "Japan"]})
    orders = pd.DataFrame({"order_id": ["a", "b"], "line_no": [1, 1],
                           "customer_id": ["1", "2"], "product_id": ["p", "p"],
                           "quantity": [1, 1], "unit_price": [1.0, 1.0],
                           "order_time": pd.to_datetime(["2024-01-02 09:00",
                                                         "2024-01-02 01:00"])})
    ctx = make_ctx(tmp_path, customers, orders=orders)
    assert engagement.build(ctx) == []
    build_send_times(ctx)
    create_journey(ctx, {"name": "j", "trigger": {"kind": "first_purchase"},
                         "steps": [{"id": "s", "send": {"text": "hi"}}]},
                   now=datetime(2024, 1, 1))
    sections = engagement.build(ctx)
    assert [s.title for s in sections] == ["Journeys", "Send time"]
    assert "<td>j</td>" in sections[0].tables_html[0]
    bars = sections[1].figures[0].data
    assert sum(sum(b.y) for b in bars) == 2
    assert "of 2 customers" in sections[1].intro
