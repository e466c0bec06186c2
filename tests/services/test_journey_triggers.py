"""Journey triggers on known cases: abandoned carts (no order or purchase within the
window), churn-risk and CLV-tier crossings after a baseline, plain events."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from engagement_helpers import make_ctx
from insightloop.services.journeys import create_journey, journey_states, tick
from insightloop.services.journeys.spec import Trigger
from insightloop.services.journeys.triggers import triggered
from insightloop.storage.warehouse import Warehouse

T0 = datetime(2024, 5, 1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_cart_abandoned_and_event_triggers(tmp_path: Path) -> None:
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"]})
    events = pd.DataFrame({
        "event_id": ["1", "2", "3", "4", "5", "6"],
        "customer_id": ["a", "b", "b", "c", "d", "d"],
        "event_type": ["cart", "add_to_cart", "purchase", "cart", "view", "cart"],
        "event_time": [at(1), at(2), at(3), at(1), at(5), at(-5)]})
    orders = pd.DataFrame({"order_id": ["o"], "line_no": [1], "customer_id": ["c"],
                           "product_id": ["p"], "quantity": [1], "unit_price": [1.0],
                           "order_time": [at(20)]})
    ctx = make_ctx(tmp_path, customers, events=events, orders=orders)
    cart = Trigger(kind="cart_abandoned", within_hours=24)
    # a: abandoned; b: bought within the hour; c: ordered 19 h later; d: before the start.
    assert triggered(ctx, cart, T0, at(48)) == ["a"]
    assert triggered(ctx, cart, T0, at(10)) == []  # a's window is not over yet
    assert triggered(ctx, Trigger(kind="event", event_type="VIEW"), T0, at(6)) == ["d"]


def test_state_triggers_enter_only_those_who_cross(tmp_path: Path) -> None:
    c360 = pd.DataFrame({"customer_id": ["a", "b", "c"], "churn_score": [0.9, 0.2, 0.1],
                         "value_tier": ["high", "low", "low"]})
    ctx = make_ctx(tmp_path, pd.DataFrame({"customer_id": ["a", "b", "c"], "email": "x@y.z"}),
                   customer_360=c360)
    steps = [{"id": "w", "wait": {"days": 30}}]
    create_journey(ctx, {"name": "risk", "channel": "outbox",
                         "trigger": {"kind": "churn_risk", "threshold": 0.5}, "steps": steps},
                   now=T0)
    create_journey(ctx, {"name": "vip", "channel": "outbox",
                         "trigger": {"kind": "clv_tier", "to": "high"}, "steps": steps},
                   now=T0)
    first = tick(ctx, at(1))
    assert first["entered"] == 0  # a is the baseline of both
    Warehouse(ctx.settings.warehouse).write_frame("customer_360", c360.assign(
        churn_score=[0.95, 0.7, 0.1], value_tier=["high", "high", "low"]))
    second = tick(ctx, at(2))
    assert second["entered"] == 2  # b crossed into both
    for name in ("risk", "vip"):
        states = journey_states(ctx, name).set_index("status")["customers"].to_dict()
        assert states == {"baseline": 1, "active": 1}
