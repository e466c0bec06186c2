"""Campaign schedules and ``campaigns tick`` against a real local SMTP server (aiosmtpd):
each due time runs once (also with two schedulers ticking at once), pause/resume/delete,
and nothing is ever sent twice."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from campaign_data import build_warehouse, ids, quiet_policy
from campaign_servers import Recorder, smtp_server
from contexts import ctx_of
from insightloop.errors import ConfigError, NotFoundError
from insightloop.services.campaigns import CampaignSpec, SmtpConfig, Variant, campaign_ledger
from insightloop.services.campaigns.cadence import check_every, latest_due, next_due
from insightloop.services.campaigns.schedules import (
    delete_schedule,
    list_schedules,
    pause_schedule,
    schedule_campaign,
    tick,
)
from insightloop.services.campaigns.send import define_campaign
from insightloop.services.context import Context
from insightloop.storage.warehouse import Warehouse
from ops_helpers import ops_url_for

T0 = datetime(2026, 12, 1, 8, 0)


def spec(name: str = "Daily news") -> CampaignSpec:
    return CampaignSpec(name, "email", (Variant("treatment", "News", "Hi {{ name }}"),),
                        audience_where="recency_days >= 0", holdout=0.2, seed=7)


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    quiet_policy(monkeypatch)
    return build_warehouse(tmp_path / "wh.duckdb")


def smtp(port: int) -> SmtpConfig:
    return SmtpConfig("127.0.0.1", port, sender="news@shop.test", timeout=5)


def test_cadence_forms_and_errors() -> None:
    assert check_every(" 6H ".lower()) == "6h"
    assert check_every("daily 9:05 Europe/London") == "daily 09:05 Europe/London"
    # London is UTC+1 in summer: 09:00 local is 08:00 UTC
    assert next_due("daily 09:00 Europe/London", datetime(2026, 7, 1, 7, 0)) == \
        datetime(2026, 7, 1, 8, 0)
    assert next_due("daily 09:00 UTC", datetime(2026, 7, 1, 9, 0)) == datetime(2026, 7, 2, 9)
    assert next_due("6h", datetime(2026, 7, 1, 7, 0)) == datetime(2026, 7, 1, 12, 0)
    # three missed days collapse into the latest due time
    assert latest_due("daily 09:00 UTC", datetime(2026, 7, 1, 9), datetime(2026, 7, 4, 10)) \
        == datetime(2026, 7, 4, 9)
    assert latest_due("at 2026-07-01T09:00:00", datetime(2026, 7, 1), datetime(2026, 7, 1, 8)) \
        is None
    for bad in ("weekly", "daily 25:00", "daily 09:00 Mars/Base", "0h"):
        with pytest.raises(ConfigError):
            check_every(bad)


def test_a_daily_schedule_runs_once_per_due_time_even_with_two_tickers(ctx: Context) -> None:
    rec = Recorder()
    with smtp_server(rec) as port:
        define_campaign(ctx, spec(), smtp=smtp(port))
        info = schedule_campaign(ctx, "Daily news", every="daily 09:00 UTC", now=T0)
        assert info["next_run_at"] == "2026-12-01T09:00:00" and info["enabled"]
        assert tick(ctx, now=datetime(2026, 12, 1, 8, 59))["scheduled"] == []
        first = tick(ctx, now=datetime(2026, 12, 1, 9, 1))
        assert len(first["scheduled"]) == 1
        run = first["scheduled"][0]
        assert run["campaign_id"] == "daily-news-2026-12-01t09-00"
        assert len(rec.messages) == run["delivered"] == run["sent"] > 0
        assert run["delivered"] == run["audience"] - run["holdout"] \
            - sum(run["suppressed"].values()) - run["failed"]
        # the same due time again: nothing
        again = tick(ctx, now=datetime(2026, 12, 1, 9, 30))
        assert again["scheduled"] == [] and len(rec.messages) == run["delivered"]
        # next day, two schedulers at the same moment: one run, each message once
        results = []

        def one() -> None:
            results.append(tick(ctx, now=datetime(2026, 12, 2, 9, 0)))

        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ran = [r for out in results for r in out["scheduled"]]
        assert {r["campaign_id"] for r in ran} == {"daily-news-2026-12-02t09-00"}
        second = max(ran, key=lambda r: r["delivered"])
        assert sum(r["sent"] for r in ran) == second["delivered"] > 0
        assert len(rec.ids) == len(set(rec.ids)) == run["delivered"] + second["delivered"]
    [listed] = list_schedules(ctx)
    assert listed["runs"] == 2 and listed["next_run_at"] == "2026-12-03T09:00:00"
    assert listed["last_run_at"] == "2026-12-02T09:00:00"


def test_pause_resume_delete_and_a_one_off(ctx: Context) -> None:
    rec = Recorder()
    with smtp_server(rec) as port:
        define_campaign(ctx, spec("Flash sale"), smtp=smtp(port))
        schedule_campaign(ctx, "flash-sale", at="2026-12-01T10:00:00+01:00",
                          name="flash", now=T0)
        assert pause_schedule(ctx, "flash")["enabled"] is False
        assert tick(ctx, now=datetime(2026, 12, 1, 9, 30))["scheduled"] == []
        pause_schedule(ctx, "flash", paused=False)
        out = tick(ctx, now=datetime(2026, 12, 1, 9, 30))  # 10:00+01:00 is 09:00 UTC
        assert [r["campaign_id"] for r in out["scheduled"]] == ["flash-sale-2026-12-01t09-00"]
        assert tick(ctx, now=datetime(2026, 12, 5))["scheduled"] == []
        assert len(rec.messages) == out["scheduled"][0]["delivered"]
    held = campaign_ledger(ctx, "flash-sale-2026-12-01t09-00", "held_out")
    assert held and all(r["variant"] for r in held)
    assert delete_schedule(ctx, "flash")["runs"] == 1
    assert list_schedules(ctx) == []
    with pytest.raises(NotFoundError):
        pause_schedule(ctx, "flash")
    with pytest.raises(NotFoundError):
        schedule_campaign(ctx, "never defined", every="1d")
    with pytest.raises(ConfigError):
        schedule_campaign(ctx, "flash-sale", at="tomorrow")


def test_claims_and_held_sends_on_postgresql(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    quiet_policy(monkeypatch)
    build_warehouse(tmp_path / "wh.duckdb")
    Warehouse(tmp_path / "wh.duckdb").write_frame("send_times", pd.DataFrame({
        "customer_id": ids(), "hour": np.int32(10), "weekday": np.int32(1),
        "source": "customer", "events": np.int64(3), "own_weight": 0.8,
        "timezone": "Europe/London"}))
    pg = ctx_of(tmp_path / "wh.duckdb", ops_url=ops_url_for("postgresql", tmp_path))
    best = CampaignSpec("Pg best", "email", (Variant("treatment", "News", "Hi {{ name }}"),),
                        audience_where="recency_days >= 0", holdout=0.2, seed=7,
                        send_time="best", sto_holdout=0.3)
    rec = Recorder()
    with smtp_server(rec) as port:
        define_campaign(pg, best, smtp=smtp(port))
        schedule_campaign(pg, "pg-best", at="2026-12-01T09:00:00", now=T0)
        results = []

        def one() -> None:
            results.append(tick(pg, now=datetime(2026, 12, 1, 9, 0)))

        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        [first] = [r for out in results for r in out["scheduled"] if r["sent"] or r["held"]]
        assert first["held"] > 0 and first["sent"] == len(rec.messages) > 0
        released = tick(pg, now=datetime(2026, 12, 1, 10, 0))["released"]
        assert [r["sent"] for r in released] == [first["held"]]
        assert tick(pg, now=datetime(2026, 12, 1, 11, 0)) == {
            "now": "2026-12-01T11:00:00", "scheduled": [], "released": [], "skipped": []}
    assert len(rec.ids) == len(set(rec.ids)) == released[0]["delivered"]
