"""``--allocation bandit``: over rounds of a campaign (its runs share one bandit) with one
clearly better variant, Thompson sampling sends most messages to it; rewards come from the
warehouse (orders after each send), sent through a real local SMTP server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from campaign_data import build_warehouse, quiet_policy
from campaign_servers import Recorder, smtp_server
from insightloop.errors import ConfigError
from insightloop.services.campaigns import CampaignSpec, SmtpConfig, Variant
from insightloop.services.campaigns.send import send_campaign
from insightloop.services.context import Context
from insightloop.services.experiments.bandit import bandit_state

RATES = {"a": 0.05, "b": 0.6}


def spec(name: str) -> CampaignSpec:
    return CampaignSpec(name, "email", (Variant("a", "Ten percent off", "Hi {{ name }}"),
                                        Variant("b", "Free gift inside", "Hi {{ name }}")),
                        audience_where="recency_days >= 0", holdout=0.1, seed=9,
                        allocation="bandit", bandit="promo")


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    quiet_policy(monkeypatch)
    return build_warehouse(tmp_path / "wh.duckdb")


def _convert(ctx: Context, campaign: str, rng: np.random.Generator) -> None:
    """Simulated outcome: customers who got variant b buy far more often, just after."""
    with ctx.read() as con:
        sends = con.execute("SELECT customer_id, variant, send_time FROM sends WHERE "
                            "campaign_id = ? AND variant <> 'control'", [campaign]).df()
    buyers = sends[rng.random(len(sends)) < sends["variant"].map(RATES).to_numpy()]
    orders = pd.DataFrame({
        "order_id": campaign + "-" + buyers["customer_id"], "line_no": 1,
        "customer_id": buyers["customer_id"].to_numpy(), "product_id": "p1", "quantity": 1,
        "unit_price": 10.0,
        "order_time": (buyers["send_time"] + pd.Timedelta(milliseconds=1)).to_numpy()})
    with ctx.warehouse.transaction() as con:
        con.register("o", orders)
        con.execute("INSERT INTO orders BY NAME SELECT * FROM o")


def test_the_bandit_sends_most_traffic_to_the_better_variant(ctx: Context) -> None:
    rng = np.random.default_rng(4)
    shares = []
    rec = Recorder()
    with smtp_server(rec) as port:
        smtp = SmtpConfig("127.0.0.1", port, sender="news@shop.test", timeout=5)
        for r in range(4):
            out = send_campaign(ctx, spec(f"Promo round {r}"), smtp=smtp, batch_size=10)
            subjects = [str(m["Subject"]) for m in rec.messages[-out["sent"]:]]
            shares.append(subjects.count("Free gift inside") / len(subjects))
            _convert(ctx, out["campaign_id"], rng)
        again = send_campaign(ctx, spec("Promo round 3"), smtp=smtp)
    assert again["sent"] == 0 and len(rec.ids) == len(set(rec.ids))
    assert np.mean(shares[2:]) > 0.8, shares
    state = bandit_state(ctx, "campaign-promo")
    pulls = {a["arm"]: a["pulls"] for a in state["arms"]}
    assert pulls["b"] > 2 * pulls["a"] and sum(pulls.values()) == len(rec.ids)
    with pytest.raises(ConfigError, match="two variants"):
        CampaignSpec("x", "email", (Variant("a", "s", "b"),), audience_where="frequency > 0",
                     allocation="bandit")
