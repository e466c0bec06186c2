"""``--send-time best``: messages held until each customer's best hour and released by
``campaigns tick`` (real aiosmtpd server), a seeded send-time holdout sent at once, and the
experiments analysis finding a simulated send-time lift from the exposures."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from campaign_data import build_warehouse, ids, quiet_policy
from campaign_servers import Recorder, smtp_server
from contexts import ctx_of
from insightloop.errors import ConfigError
from insightloop.report.pages import campaigns as campaigns_page
from insightloop.services.campaigns import CampaignSpec, SmtpConfig, Variant, campaign_ledger
from insightloop.services.campaigns.schedules import tick
from insightloop.services.campaigns.send import send_campaign
from insightloop.services.context import Context
from insightloop.services.experiments import analyze_campaign
from insightloop.storage.warehouse import Warehouse

T0 = datetime(2026, 12, 1, 6, 20)  # London is on UTC in December


def spec(sto: float = 0.25, holdout: float = 0.1) -> CampaignSpec:
    return CampaignSpec("Best hour", "email", (Variant("treatment", "Hi", "Hi {{ name }}"),),
                        audience_where="recency_days >= 0", holdout=holdout, seed=3,
                        send_time="best", sto_holdout=sto)


def send_times(wh: Warehouse, customers: list[str], hours: np.ndarray) -> None:
    """The send-time model's table, given (the model itself is tested elsewhere)."""
    wh.write_frame("send_times", pd.DataFrame({
        "customer_id": customers, "hour": hours.astype(np.int32), "weekday": np.int32(1),
        "source": "customer", "events": np.int64(5), "own_weight": 0.8,
        "timezone": "Europe/London"}))


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    quiet_policy(monkeypatch)
    out = build_warehouse(tmp_path / "wh.duckdb")
    send_times(Warehouse(tmp_path / "wh.duckdb"), ids(),
               np.where(np.arange(len(ids())) % 2 == 0, 10, 6))
    return out


def test_sends_wait_for_the_best_hour_and_tick_releases_them_once(ctx: Context) -> None:
    rec = Recorder()
    with smtp_server(rec) as port:
        smtp = SmtpConfig("127.0.0.1", port, sender="news@shop.test", timeout=5)
        dry = send_campaign(ctx, spec(), smtp=smtp, now=T0, dry_run=True)
        first = send_campaign(ctx, spec(), smtp=smtp, now=T0)
        # the dry run predicted the split between sent now and held
        assert (dry["held"], dry["to_send"]) == (first["held"], first["sent"])
        held = campaign_ledger(ctx, "best-hour", "held")
        # the campaigns page shows the held sends beside the other statuses
        page = "".join(t for sec in campaigns_page.build(ctx) for t in sec.tables_html)
        assert "best hour ahead" in page and f"<td>{first['held']}</td>" in page
        assert first["held"] == len(held) > 0 and len(rec.messages) == first["sent"]
        # held: customers whose best hour (10:00) is ahead, not in the send-time holdout
        even = {c for i, c in enumerate(ids()) if i % 2 == 0}
        assert {r["customer_id"] for r in held} <= even
        assert {r["due_at"] for r in held} == {"2026-12-01T10:00:00"}
        early = {r["customer_id"]: r["variant"] for r in campaign_ledger(ctx, "best-hour",
                                                                         "delivered")}
        stos = {c for c, v in early.items() if v == "treatment:default_time"}
        assert stos & even and set(early) - stos <= set(ids()) - even
        with ctx.read() as con:  # a held send is not an exposure yet
            assert con.execute("SELECT count(*) FROM sends WHERE campaign_id = 'best-hour'"
                               ).fetchall() == [(first["exposures"],)]
        assert tick(ctx, now=datetime(2026, 12, 1, 8, 0))["released"] == []
        out = tick(ctx, now=datetime(2026, 12, 1, 10, 2))
        assert [r["sent"] for r in out["released"]] == [len(held)]
        assert tick(ctx, now=datetime(2026, 12, 1, 11, 0))["released"] == []
        again = send_campaign(ctx, spec(), smtp=smtp, now=datetime(2026, 12, 1, 12, 0))
    assert again["sent"] == 0 and again["held"] == 0
    assert len(rec.ids) == len(set(rec.ids)) == again["delivered"]
    assert again["delivered"] == again["audience"] - again["holdout"] \
        - sum(again["suppressed"].values()) - again["failed"]
    with ctx.read() as con:
        arms = dict(con.execute("SELECT variant, count(*) FROM sends GROUP BY 1").fetchall())
    assert set(arms) == {"control", "treatment", "treatment:default_time"}
    with pytest.raises(ConfigError, match="sto-holdout"):
        CampaignSpec("x", "email", (Variant("t", "s", "b"),), audience_where="frequency > 0",
                     sto_holdout=0.2)


def test_the_analysis_measures_a_simulated_send_time_lift(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    quiet_policy(monkeypatch)
    n = 500
    customers = [f"u{i:04d}" for i in range(n)]
    wh = Warehouse(tmp_path / "wh.duckdb")
    with wh.transaction() as con:
        con.register("c", pd.DataFrame({"customer_id": customers, "country": "United Kingdom",
                                        "email": [f"{c}@example.com" for c in customers]}))
        con.register("k", pd.DataFrame({"customer_id": customers, "channel": "outbox",
                                        "purpose": "marketing", "granted": True,
                                        "consent_time": pd.Timestamp("2024-01-01")}))
        con.execute("INSERT INTO customers BY NAME SELECT * FROM c")
        con.execute("INSERT INTO consents BY NAME SELECT * FROM k")
    wh.write_frame("customer_360", pd.DataFrame({"customer_id": customers,
                                                 "recency_days": np.int64(5)}))
    send_times(wh, customers, np.full(n, 10))
    ctx = ctx_of(tmp_path / "wh.duckdb")
    s = CampaignSpec("Lift", "outbox", (Variant("treatment", "Hi", "Hi"),),
                     audience_where="recency_days >= 0", holdout=0.0, seed=5,
                     send_time="best", sto_holdout=0.5)
    send_campaign(ctx, s, now=T0)
    tick(ctx, now=datetime(2026, 12, 1, 10, 0))
    with ctx.read() as con:
        sends = con.execute("SELECT customer_id, variant, send_time FROM sends").df()
    rng = np.random.default_rng(11)  # best-hour sends convert at 30 %, the others at 12 %
    rate = np.where(sends["variant"] == "treatment", 0.30, 0.12)
    buyers = sends[rng.random(len(sends)) < rate]
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(buyers))], "line_no": 1,
        "customer_id": buyers["customer_id"].to_numpy(), "product_id": "p1", "quantity": 1,
        "unit_price": 10.0, "order_time": (buyers["send_time"] + pd.Timedelta(hours=2))
        .to_numpy()})
    with ctx.warehouse.transaction() as con:
        con.register("o", orders)
        con.execute("INSERT INTO orders BY NAME SELECT * FROM o")
    assert send_campaign(ctx, s, now=datetime(2026, 12, 2))["sent"] == 0  # refreshes
    result = analyze_campaign(ctx, "lift", control="treatment:default_time",
                              metrics=["converted"], sequential=False, store=False)
    [row] = [r for r in result["results"] if r["metric"] == "converted"]
    assert row["variant"] == "treatment" and row["significant"]
    low, high = row["ci_low"], row["ci_high"]
    assert low is not None and high is not None and low < 0.18 < high  # simulated: +0.18
