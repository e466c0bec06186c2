"""A journey run over three weeks of simulated time (``now`` injected, no sleeping): who got
which step when, exits on conversion, eligibility at every step (consent, suppression,
quiet hours), seeded splits, branches on the audience filter language, idempotent ticks,
a crash mid-tick resumed, restarts (engines dropped between ticks)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from engagement_helpers import consent, make_ctx
from insightloop.errors import ConfigError
from insightloop.services.context import Context
from insightloop.services.engagement import add_suppressions
from insightloop.services.journeys import (
    JourneySpec,
    create_journey,
    journey_log,
    journey_states,
    list_journeys,
    parse_journey,
    tick,
)
from insightloop.services.journeys.spec import Step
from insightloop.storage.operational.engine import forget_stores
from ops_helpers import ops_url_for

START = datetime(2024, 3, 4)  # a Monday, London = UTC
JOURNEY = {
    "name": "welcome", "channel": "email", "trigger": {"kind": "first_purchase"},
    "steps": [
        {"id": "hello", "send": {"subject": "Welcome {{ name }}", "text": "Hi"}},
        {"id": "pause", "wait": {"days": 3}},
        {"id": "vip", "branch": {"where": "monetary > 100", "then": "thanks", "else": "nudge"}},
        {"id": "thanks", "send": {"text": "Thank you"}, "next": "end"},
        {"id": "nudge", "split": {"arms": {"offer": 0.5, "reminder": 0.5}, "seed": 7}},
        {"id": "offer", "send": {"text": "10% off"}, "next": "end"},
        {"id": "reminder", "send": {"text": "Remember us"}, "next": "end"},
    ]}


def order(cid: str, day: float, n: int) -> dict[str, object]:
    return {"order_id": f"o{n}", "line_no": 1, "customer_id": cid, "product_id": "p",
            "quantity": 1, "unit_price": 10.0,
            "order_time": START + timedelta(days=day, hours=1)}


def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ops_url: str = "") -> Context:
    monkeypatch.setenv("INSIGHTLOOP_QUIET_HOURS", "21-8")
    monkeypatch.setenv("INSIGHTLOOP_FREQUENCY_CAPS", "off")
    ids = ["c1", "c2", "c3", "c4", "c5", "c6"] + [f"s{i}" for i in range(40)]
    customers = pd.DataFrame({"customer_id": ids, "name": ids,
                              "email": [f"{c}@x.org" for c in ids],
                              "country": "United Kingdom"})
    consents = pd.DataFrame([consent(c, True, "2024-01-01") for c in ids if c != "c5"])
    orders = pd.DataFrame([order("c1", 1, 1), order("c2", 2, 2), order("c3", 3, 3),
                           order("c4", -10, 4), order("c5", 1, 5), order("c6", 2, 6),
                           order("c6", 4, 7)]
                          + [order(f"s{i}", 1, 100 + i) for i in range(40)])
    c360 = pd.DataFrame({"customer_id": ids,
                         "monetary": [500.0, 20.0, 20.0, 20.0, 20.0, 20.0] + [5.0] * 40})
    return make_ctx(tmp_path, customers, consents, ops_url=ops_url, orders=orders,
                    customer_360=c360)


@pytest.fixture()
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    return shop(tmp_path, monkeypatch)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_ctx(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Context:
    return shop(tmp_path, monkeypatch, ops_url_for(request.param, tmp_path))


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[tuple[str, str, datetime]] = []
        self.fail_on, self.n = fail_on, 0

    def __call__(self, ctx: Context, spec: JourneySpec, step: Step, ids: list[str],
                 now: datetime) -> dict[str, str]:
        self.n += 1
        if self.n == self.fail_on:
            raise RuntimeError("crash in the middle of a tick")
        self.calls += [(step.id, c, now) for c in ids]
        return {c: "delivered" for c in ids}


def run(ctx: Context, action: Recorder, days: int = 21) -> None:
    for k in range(days * 4):  # every 6 hours: 00, 06 (quiet), 12, 18
        now = START + timedelta(hours=6 * k)
        if k % 9 == 0:
            forget_stores()  # a restart: nothing but the store survives
        try:
            tick(ctx, now, action)
        except RuntimeError:
            tick(ctx, now, action)  # the next run resumes the crashed one


@pytest.mark.slow
def test_three_weeks_of_a_journey(ctx: Context) -> None:
    create_journey(ctx, JOURNEY, now=START)
    add_suppressions(ctx, ["c3@x.org"], reason="complaint")
    rec = Recorder(fail_on=2)
    run(ctx, rec)
    got = pd.DataFrame(rec.calls, columns=["step", "customer", "at"])
    # Everyone got each step at most once, and only in the daytime.
    assert not got.duplicated(["step", "customer"]).any()
    assert got["at"].dt.hour.between(8, 20).all()
    first = got[got.step == "hello"].set_index("customer")["at"]
    # c1 ordered on day 1 at 01:00: entered at the 06:00 tick (quiet), welcomed at 12:00.
    assert first["c1"] == START + timedelta(days=1, hours=12)
    assert first["c2"] == START + timedelta(days=2, hours=12)
    assert {"c4", "c5", "c3"}.isdisjoint(first.index)  # old buyer, no consent, suppressed
    # c1 spent more than 100: thanks 3 days after the welcome (at the first tick then).
    thanks = got[got.step == "thanks"].set_index("customer")["at"]
    assert list(thanks.index) == ["c1"] and thanks["c1"] == first["c1"] + timedelta(days=3)
    # c6 ordered again on day 4: converted, no further step.
    assert got.loc[got.customer == "c6", "step"].tolist() == ["hello"]
    # The split is seeded: 40 shoppers split about evenly, each to one arm.
    arms = got[got.step.isin(["offer", "reminder"]) & got.customer.str.startswith("s")]
    assert len(arms) == 40 and 10 < (arms.step == "offer").sum() < 30
    log = journey_log(ctx, "welcome")
    assert set(log.loc[log.customer_id == "c5", "outcome"]) >= {"skipped: no_consent"}
    assert "skipped: suppressed" in set(log.loc[log.customer_id == "c3", "outcome"])
    assert not log.duplicated(["customer_id", "step"]).any()
    states = journey_states(ctx, "welcome")
    by = states.groupby("status")["customers"].sum().to_dict()
    assert by == {"done": 44, "converted": 1}  # c1-c3, c5, 40 shoppers; c6
    assert list_journeys(ctx)[0]["states"] == {"done": 44, "converted": 1}


def test_a_second_tick_at_the_same_time_does_nothing(any_ctx: Context) -> None:
    ctx = any_ctx
    create_journey(ctx, JOURNEY, now=START)
    rec = Recorder()
    now = START + timedelta(days=1, hours=12)
    done = tick(ctx, now, rec)
    assert done["entered"] == 42 and done["actions"] == {"delivered": 41}
    assert done["skipped"] == {"no_consent": 1}
    again = tick(ctx, now, rec)
    assert again["entered"] == again["advanced"] == 0 and again["actions"] == {}
    assert len(rec.calls) == 41
    later = tick(ctx, now + timedelta(days=3), rec)  # the wait is over: branch, split, sends
    # c1, the 40 shoppers and c5 (every send skipped: no consent) reach the end
    assert later["entered"] == 3 and later["completed"] == 42
    calls = pd.DataFrame(rec.calls, columns=["step", "customer", "at"])
    assert not calls.duplicated(["step", "customer"]).any()
    assert calls["step"].isin(["thanks", "offer", "reminder"]).sum() == 41


def test_definitions_are_validated(ctx: Context) -> None:
    with pytest.raises(ConfigError, match="no step 'nowhere'"):
        parse_journey({**JOURNEY, "steps": [{"id": "a", "send": {"text": "x"},
                                             "next": "nowhere"}]})
    with pytest.raises(ConfigError, match="steps loop: a -> b -> a"):
        parse_journey({**JOURNEY, "steps": [{"id": "a", "wait": {"days": 1}, "next": "b"},
                                            {"id": "b", "wait": {"days": 1}, "next": "a"}]})
    with pytest.raises(ConfigError, match="exactly one of wait, send, branch, split"):
        parse_journey({**JOURNEY, "steps": [{"id": "a"}]})
    with pytest.raises(ConfigError, match=r"trigger\.kind"):
        parse_journey({**JOURNEY, "trigger": {"kind": "birthday"}})
    create_journey(ctx, JOURNEY, now=START)
    with pytest.raises(ConfigError, match="exists with another definition"):
        create_journey(ctx, {**JOURNEY, "purpose": "service"})
