"""A property test that tries to get around eligibility: random consent histories (grants
and withdrawals in any order, equal timestamps, other channels and purposes, records after
now), suppression entries by id and address, ledger rows against the caps, and any hour.
The eligible set must equal a plain reference computed here, and nobody whose newest
consent for the channel and purpose is not a grant is ever eligible."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from engagement_helpers import ledger, make_ctx
from insightloop.services.context import Context
from insightloop.services.engagement import Cap, Policy, add_suppressions, eligibility
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.engagement_models import Suppression
from insightloop.storage.operational.models import SendLedger
from insightloop.storage.warehouse import Warehouse

IDS = [f"c{i}" for i in range(8)]
BASE = datetime(2024, 1, 1)
NOW = BASE + timedelta(days=10)
POLICY = Policy(21 * 60, 8 * 60, (Cap(2, timedelta(days=7)), Cap(1, timedelta(hours=24))))

records = st.lists(st.tuples(
    st.sampled_from(IDS), st.sampled_from(["email", "sms"]),
    st.sampled_from(["marketing", "service"]), st.booleans(),
    st.integers(0, 12)), max_size=40)  # day offsets: 11 and 12 are after now
sends = st.lists(st.tuples(st.sampled_from(IDS), st.integers(1, 24 * 9),
                           st.sampled_from(["delivered", "claimed", "failed"])), max_size=20)
emails = st.lists(st.sampled_from([None, "", "x", "ok"]), min_size=len(IDS),
                  max_size=len(IDS))


@pytest.fixture(scope="module")
def base_ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    return make_ctx(tmp_path_factory.mktemp("prop"), pd.DataFrame({"customer_id": ["x"]}))


def reference(history: list[tuple[str, str, str, bool, int]], address: dict[str, str | None],
              suppressed: set[str], sent: list[tuple[str, int, str]], hour: int,
              channel: str) -> set[str]:
    allowed = set()
    at = NOW + timedelta(hours=hour)
    for cid in IDS[:-1]:  # the last id is not a customer
        mine = [(day, g) for c, ch, p, g, day in history
                if c == cid and ch == "email" and p == "marketing"
                and BASE + timedelta(days=day) <= at]
        if not mine:
            continue
        newest = max(day for day, _ in mine)
        if not all(g for day, g in mine if day == newest):
            continue
        mail = address[cid]
        if cid in suppressed or (mail is not None and mail.lower() in suppressed):
            continue
        if mail is None or "@" not in mail:
            continue
        ages = [at - (NOW - timedelta(hours=h)) for c, h, s in sent
                if c == cid and s != "failed"]
        if sum(a < timedelta(days=7) for a in ages) >= 2 or \
                sum(a < timedelta(hours=24) for a in ages) >= 1:
            continue
        if not 8 <= at.hour < 21:
            continue
        allowed.add(cid)
    return allowed if channel == "email" else set()


@pytest.mark.slow
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=records, mails=emails, sent=sends, hour=st.integers(0, 23),
       blocked=st.sets(st.sampled_from(IDS + [f"{i}@x.org" for i in IDS]), max_size=4))
def test_eligibility_equals_an_independent_reference(
        base_ctx: Context, history: list[tuple[str, str, str, bool, int]],
        mails: list[str | None], sent: list[tuple[str, int, str]], hour: int,
        blocked: set[str]) -> None:
    address = {cid: (None if m is None else f"{cid}@x.org" if m == "ok" else m)
               for cid, m in zip(IDS, mails, strict=True)}
    wh = Warehouse(base_ctx.settings.warehouse)
    wh.write_frame("customers", pd.DataFrame({"customer_id": IDS[:-1],
                                              "email": [address[c] for c in IDS[:-1]]}))
    wh.write_frame("consents", pd.DataFrame(
        [{"customer_id": c, "channel": ch, "purpose": p, "granted": g,
          "consent_time": BASE + timedelta(days=d)} for c, ch, p, g, d in history],
        columns=["customer_id", "channel", "purpose", "granted", "consent_time"]).astype(
            {"customer_id": str, "channel": str, "purpose": str, "granted": bool,
             "consent_time": "datetime64[ns]"}))
    with open_ops(base_ctx.settings).write() as conn:
        conn.execute(delete(Suppression))
        conn.execute(delete(SendLedger))
    add_suppressions(base_ctx, sorted(blocked))
    ledger(base_ctx, [(c, "email", NOW - timedelta(hours=h), s) for c, h, s in sent])
    at = NOW + timedelta(hours=hour)
    out = eligibility(base_ctx, IDS, "email", now=at, policy=POLICY)
    got = set(out.loc[out["eligible"], "customer_id"])
    assert got == reference(history, address, blocked, sent, hour, "email")
    # The invariant on its own: an eligible customer's newest record is a grant.
    for cid in got:
        mine = [(d, g) for c, ch, p, g, d in history if c == cid and ch == "email"
                and p == "marketing" and BASE + timedelta(days=d) <= at]
        newest = max(d for d, _ in mine)
        assert all(g for d, g in mine if d == newest)
    assert out["reason"].isna().tolist() == out["eligible"].tolist()
