"""Eligibility on known cases: every reason, its precedence, quiet hours in the customer's
zone, rolling frequency caps from the send ledger, suppression by id and by address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from engagement_helpers import consent, ledger, make_ctx
from insightloop.errors import ConfigError
from insightloop.services.engagement import (
    Cap,
    Policy,
    add_suppressions,
    eligibility,
    list_suppressions,
    remove_suppression,
)
from insightloop.services.engagement.policy import parse_caps, parse_quiet
from ops_helpers import ops_url_for

NOON = datetime(2024, 3, 6, 12, 0)  # a Wednesday, 12:00 UTC
NO_QUIET = Policy(quiet_start=0, quiet_end=0)

CUSTOMERS = pd.DataFrame({
    "customer_id": ["a", "b", "c", "d", "e", "f", "g", "i"],
    "email": ["a@x.org", "B@X.org ", "c@x.org", None, "not-an-address", "f@x.org", "g@x.org",
              "i@x.org"],
    "country": ["United Kingdom", "France", "Australia", "EIRE", "Germany", "USA", "Japan",
                "USA"],
    "timezone": [None, None, None, None, None, None, "Bogus/Zone", "America/Los_Angeles"],
})
CONSENTS = pd.DataFrame([
    consent("a", True, "2024-01-01"),
    consent("b", True, "2024-01-01"), consent("b", False, "2024-02-01"),  # withdrawn
    consent("c", False, "2024-01-01"), consent("c", True, "2024-02-01"),  # re-granted
    consent("d", True, "2024-01-01"),
    consent("e", True, "2024-01-01"),
    consent("f", True, "2024-01-01"), consent("f", False, "2024-01-01"),  # same time
    consent("g", True, "2024-01-01"), consent("g", False, "2024-05-01"),  # future record
    consent("i", True, "2024-01-01"),
    consent("a", False, "2024-02-01", channel="sms"),  # other channel
    consent("c", False, "2024-02-02", purpose="service"),  # other purpose
])


@pytest.fixture()
def ctx(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_ctx(tmp_path, CUSTOMERS, CONSENTS)


def reasons(frame: pd.DataFrame) -> dict[str, str | None]:
    return dict(zip(frame["customer_id"], frame["reason"], strict=True))


def test_consent_newest_wins_and_every_reason(ctx) -> None:  # type: ignore[no-untyped-def]
    out = eligibility(ctx, ["a", "b", "c", "d", "e", "f", "g", "zz", "h"], "email",
                      now=NOON, policy=NO_QUIET)
    assert list(out.columns) == ["customer_id", "eligible", "reason"]
    assert reasons(out) == {"a": None, "b": "consent_withdrawn", "c": None,
                            "d": "no_address", "e": "no_address", "f": "consent_withdrawn",
                            "g": None, "zz": "unknown_customer", "h": "unknown_customer"}
    assert out["eligible"].tolist() == [r is None for r in out["reason"]]
    # Ids are normalised like ingest does; order and duplicates kept.
    again = eligibility(ctx, [" c ", "a", "a"], "email", now=NOON, policy=NO_QUIET)
    assert again["customer_id"].tolist() == ["c", "a", "a"]
    assert again["eligible"].all()


def test_channel_and_purpose_are_separate(ctx) -> None:  # type: ignore[no-untyped-def]
    sms = eligibility(ctx, ["a", "b"], "sms", now=NOON, policy=NO_QUIET)
    assert reasons(sms) == {"a": "consent_withdrawn", "b": "no_consent"}
    service = eligibility(ctx, ["a", "c"], "email", purpose="service", now=NOON,
                          policy=NO_QUIET)
    assert reasons(service) == {"a": "no_consent", "c": "consent_withdrawn"}
    # Webhooks need no address; opt-out channels need no record, but a withdrawal stops them.
    hook = eligibility(ctx, ["a", "d"], "webhook", now=NOON, policy=NO_QUIET)
    assert reasons(hook) == {"a": "no_consent", "d": "no_consent"}
    opt_out = Policy(0, 0, (), frozenset({"webhook", "sms"}))
    assert reasons(eligibility(ctx, ["a", "d"], "webhook", now=NOON, policy=opt_out)) == \
        {"a": None, "d": None}
    assert reasons(eligibility(ctx, ["a", "b"], "sms", now=NOON, policy=opt_out)) == \
        {"a": "consent_withdrawn", "b": "no_address"}


def test_future_consent_records_do_not_count_yet(ctx) -> None:  # type: ignore[no-untyped-def]
    later = eligibility(ctx, ["g"], "email", now=datetime(2024, 6, 1, 12), policy=NO_QUIET)
    assert reasons(later) == {"g": "consent_withdrawn"}


def test_suppression_by_id_and_address_and_precedence(ctx) -> None:  # type: ignore[no-untyped-def]
    assert add_suppressions(ctx, ["a", "b@x.org"], reason="complaint")["added"] == 2
    assert add_suppressions(ctx, ["a"])["added"] == 0  # idempotent
    add_suppressions(ctx, ["c"], channel="sms")
    out = eligibility(ctx, ["a", "b", "c", "zz"], "email", now=NOON, policy=NO_QUIET)
    # b is withdrawn AND suppressed: consent comes first; c is suppressed on sms only.
    assert reasons(out) == {"a": "suppressed", "b": "consent_withdrawn", "c": None,
                            "zz": "unknown_customer"}
    listed = list_suppressions(ctx)
    assert set(listed["value"]) == {"a", "b@x.org", "c"}
    remove_suppression(ctx, "a")
    assert reasons(eligibility(ctx, ["a"], "email", now=NOON, policy=NO_QUIET)) == {"a": None}
    with pytest.raises(Exception, match="not suppressed"):
        remove_suppression(ctx, "a")


def test_quiet_hours_in_the_customers_zone(ctx) -> None:  # type: ignore[no-untyped-def]
    policy = Policy(caps=())  # quiet 21:00-08:00
    # 22:30 UTC: 22:30 London, 23:30 Paris, 09:30 Sydney (next day, AEDT +11),
    # 14:30 Los Angeles (PST), Bogus/Zone -> Japan's zone 07:30 (quiet).
    late = eligibility(ctx, ["a", "c", "i", "g"], "email",
                       now=datetime(2024, 3, 6, 22, 30), policy=policy)
    assert reasons(late) == {"a": "quiet_hours", "c": None, "i": None, "g": "quiet_hours"}
    # An aware `now` is converted to UTC first.
    aware = datetime(2024, 3, 6, 23, 30, tzinfo=UTC) - timedelta(hours=1)
    assert eligibility(ctx, ["a"], "email", now=aware, policy=policy)["reason"][0] == \
        "quiet_hours"
    day = eligibility(ctx, ["a", "c", "i", "g"], "email", now=NOON, policy=policy)
    # 12:00 UTC: 23:00 Sydney, 04:00 Los Angeles and 21:00 Tokyo are quiet; London is not.
    assert reasons(day) == {"a": None, "c": "quiet_hours", "i": "quiet_hours",
                            "g": "quiet_hours"}


def test_frequency_caps_over_rolling_windows(ctx) -> None:  # type: ignore[no-untyped-def]
    policy = Policy(0, 0, (Cap(2, timedelta(days=7)), Cap(1, timedelta(hours=24))))
    ledger(ctx, [
        ("a", "email", NOON - timedelta(hours=23), "delivered"),   # 1 in 24 h -> capped
        ("c", "email", NOON - timedelta(days=2), "claimed"),
        ("c", "email", NOON - timedelta(days=6), "delivered"),     # 2 in 7 days -> capped
        ("g", "email", NOON - timedelta(days=3), "delivered"),
        ("g", "email", NOON - timedelta(days=8), "delivered"),     # outside the window
        ("g", "email", NOON - timedelta(hours=1), "failed"),       # not counted
        ("g", "webhook", NOON - timedelta(hours=1), "delivered"),  # other channel
        ("g", "email", NOON + timedelta(hours=1), "delivered"),    # after now
    ])
    out = eligibility(ctx, ["a", "c", "g"], "email", now=NOON, policy=policy)
    assert reasons(out) == {"a": "frequency_cap", "c": "frequency_cap", "g": None}
    tomorrow = eligibility(ctx, ["a", "c"], "email", now=NOON + timedelta(hours=2),
                           policy=policy)
    assert reasons(tomorrow) == {"a": None, "c": "frequency_cap"}


def test_no_consents_table_means_nobody(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, CUSTOMERS)
    out = eligibility(ctx, ["a", "b"], "email", now=NOON, policy=NO_QUIET)
    assert set(out["reason"]) == {"no_consent"}


def test_policy_parsing_and_environment() -> None:
    assert parse_quiet("21-8") == (21 * 60, 8 * 60)
    assert parse_quiet("22:30-06:15") == (22 * 60 + 30, 6 * 60 + 15)
    assert parse_quiet("off") == (0, 0)
    assert parse_caps("3/7d, 1/12h") == (Cap(3, timedelta(days=7)), Cap(1, timedelta(hours=12)))
    with pytest.raises(ConfigError, match="INSIGHTLOOP_QUIET_HOURS '25-8'"):
        parse_quiet("25-8")
    with pytest.raises(ConfigError, match="not like 2/7d"):
        parse_caps("2 per week")
    env = Policy.from_env({"INSIGHTLOOP_QUIET_HOURS": "off",
                           "INSIGHTLOOP_FREQUENCY_CAPS": "1/1d",
                           "INSIGHTLOOP_OPT_OUT_CHANNELS": "Outbox"})
    assert env == Policy(0, 0, (Cap(1, timedelta(days=1)),), frozenset({"outbox"}))
    # quiet hours are opt-in from the environment; the caps apply by default
    assert Policy.from_env({}) == Policy(quiet_start=0, quiet_end=0)
    assert Policy.from_env({"INSIGHTLOOP_QUIET_HOURS": "21-8"}) == Policy()


def test_suppression_and_caps_on_postgresql(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, CUSTOMERS, CONSENTS, ops_url=ops_url_for("postgresql", tmp_path))
    assert add_suppressions(ctx, ["a", "C@x.org", "a"])["added"] == 2
    ledger(ctx, [("g", "email", NOON - timedelta(hours=2), "claimed")])
    out = eligibility(ctx, ["a", "c", "g", "i"], "email", now=NOON, policy=Policy(0, 0))
    assert reasons(out) == {"a": "suppressed", "c": "suppressed", "g": "frequency_cap",
                            "i": None}
