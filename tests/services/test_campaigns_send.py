"""Campaign runs against a real local SMTP server (aiosmtpd): who receives what, the ledger,
holdouts, consent, failures, crashes and re-runs, exposures in the warehouse."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import update

from campaign_data import NO_RECORD, WITHDRAWN, build_warehouse, eligible_ids, ids, quiet_policy
from campaign_servers import Receiver, Recorder, free_port, smtp_server, webhook_server
from contexts import ctx_of
from insightloop.errors import ConfigError, NotFoundError, WarehouseError
from insightloop.services.campaigns import (
    CampaignSpec,
    RetryPolicy,
    SmtpConfig,
    Variant,
    WebhookConfig,
    campaign_ledger,
    run_campaign,
    show_campaign,
)
from insightloop.services.campaigns.channels import EmailChannel, Message, Outcome, WebhookChannel
from insightloop.services.campaigns.channels.webhook import SIGNATURE, TIMESTAMP, verify
from insightloop.services.context import Context
from insightloop.services.experiments import analyze_campaign
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.campaign_models import CampaignDef
from ops_helpers import ops_url_for

FAST = RetryPolicy(attempts=2, base=0.01, cap=0.01)
BODY = "Hello {{ name }}, you last ordered {{ recency_days }} days ago."


def spec(name: str = "Win back", holdout: float = 0.2, channel: str = "email",
         variants: tuple[Variant, ...] | None = None, body: str = BODY) -> CampaignSpec:
    return CampaignSpec(name, channel, variants or (Variant("treatment", "We miss you", body,
                                                            "<p>" + body + "</p>"),),
                        audience_where="recency_days >= 0", holdout=holdout, seed=42)


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    quiet_policy(monkeypatch)
    return build_warehouse(tmp_path / "wh.duckdb")


def email(port: int) -> EmailChannel:
    return EmailChannel(SmtpConfig("127.0.0.1", port, sender="news@shop.test", timeout=5))


def run(ctx: Context, port: int, s: CampaignSpec | None = None, **kw: Any) -> Any:
    return run_campaign(ctx, s or spec(), email(port), ids(), domain="shop.test",
                        retry=FAST, **kw)


def test_received_is_audience_minus_holdout_suppressed_failed(ctx: Context) -> None:
    rec = Recorder(reject={"c03@example.com"})
    with smtp_server(rec) as port:
        out = run(ctx, port, batch_size=7)
    suppressed = sum(out["suppressed"].values())
    assert out["audience"] == len(ids())
    assert len(rec.messages) == out["delivered"] == out["sent"]
    assert out["delivered"] == out["audience"] - out["holdout"] - suppressed - out["failed"]
    assert out["pending"] == 0 and out["failed"] == (0 if "c03" in _held(ctx) else 1)
    received = {r.split("@")[0] for r in rec.recipients}
    assert not received & (NO_RECORD | WITHDRAWN)  # nobody without consent
    assert received <= eligible_ids() - _held(ctx)
    reasons = out["suppressed"]
    assert set(reasons) <= {"no_consent", "consent_withdrawn"}
    assert sum(reasons.values()) == len((NO_RECORD | WITHDRAWN) - _held(ctx))
    first = rec.messages[0]
    assert first["Message-ID"] == f"<win-back.{_hash(first['To'])}@shop.test>"
    assert first["Subject"] == "We miss you"
    text = first.get_payload()[0].get_payload()  # type: ignore[index, union-attr]
    assert "Hello Customer" in text and "days ago" in text


def _held(ctx: Context) -> set[str]:
    return {r["customer_id"] for r in campaign_ledger(ctx, "win-back", "held_out")}


def _hash(address: str) -> str:
    return hashlib.md5(address.split("@")[0].encode()).hexdigest()[:16]


def test_a_second_run_sends_nothing_and_exposures_do_not_duplicate(ctx: Context) -> None:
    rec = Recorder()
    with smtp_server(rec) as port:
        first = run(ctx, port)
        second = run(ctx, port)
    assert second["sent"] == 0 and len(rec.messages) == first["sent"]
    assert {k: v for k, v in second.items() if k != "sent"} == \
        {k: v for k, v in first.items() if k != "sent"}
    with ctx.read() as con:
        arms = dict(con.execute("SELECT variant, count(*) FROM sends WHERE campaign_id = "
                                "'win-back' GROUP BY 1").fetchall())
        dupes = con.execute("SELECT count(*) - count(DISTINCT send_id) FROM sends").fetchone()
        rows = con.execute("SELECT count(*) FROM campaigns WHERE campaign_id = 'win-back'"
                           ).fetchone()
    held_eligible = len(_held(ctx) & eligible_ids())
    assert arms == {"treatment": first["delivered"], "control": held_eligible}
    assert dupes == (0,) and rows == (1,)
    info = show_campaign(ctx, "Win back")
    assert info["status"] == "done" and info["runs"] == 2


def test_the_holdout_is_deterministic_and_keeps_arms_for_new_members(ctx: Context) -> None:
    with smtp_server(Recorder()) as port:
        run_campaign(ctx, spec(), email(port), ids()[:20], retry=FAST)
        before = _held(ctx)
        run_campaign(ctx, spec(), email(port), ids(), retry=FAST)
    after = _held(ctx)
    assert before == {c for c in after if c in ids()[:20]}
    assert 0 < len(after) < len(ids())


def test_a_changed_definition_under_the_same_name_is_refused(ctx: Context) -> None:
    with smtp_server(Recorder()) as port:
        run(ctx, port)
        with pytest.raises(ConfigError, match="re-run must repeat them exactly"):
            run(ctx, port, spec(holdout=0.3))


def test_smtp_down_fails_with_the_reason_and_a_rerun_delivers(ctx: Context) -> None:
    port = free_port()
    down = run(ctx, port)
    assert down["delivered"] == 0 and down["sent"] == 0
    assert down["failed"] == len(eligible_ids() - _held(ctx))
    failed = campaign_ledger(ctx, "win-back", "failed")
    assert all(r["retry"] and "unreachable" in str(r["reason"]) for r in failed)
    assert {r["attempts"] for r in failed} == {2}
    rec = Recorder()
    with smtp_server(rec, port):
        back = run(ctx, port)
    assert back["sent"] == down["failed"] == len(rec.messages) and back["failed"] == 0
    assert show_campaign(ctx, "win-back")["status"] == "done"


class Crashing:
    """Delivers through ``inner`` and dies (as a killed process would) after ``n``."""

    name = "email"

    def __init__(self, inner: EmailChannel, n: int) -> None:
        self.inner, self.n = inner, n

    def deliver(self, message: Message) -> Outcome:
        out = self.inner.deliver(message)
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt  # the message left; its confirmation never happens
        return out

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()


def test_a_crash_in_flight_repeats_at_most_that_message(ctx: Context) -> None:
    rec = Recorder()
    with smtp_server(rec) as port:
        with pytest.raises(KeyboardInterrupt):
            run_campaign(ctx, spec(), Crashing(email(port), 5), ids(), domain="shop.test",
                         batch_size=10, retry=FAST)
        assert len(rec.messages) == 5
        assert len(campaign_ledger(ctx, "win-back", "claimed")) == 10 - 4
        out = run(ctx, port)
    sent_ids = rec.ids
    repeated = len(sent_ids) - len(set(sent_ids))
    assert repeated == 1  # the one in flight, with the same Message-ID
    assert len(set(sent_ids)) == out["delivered"] == out["sent"] + 4
    assert out["pending"] == 0


def test_render_errors_fail_that_customer_only(ctx: Context) -> None:
    bad = spec(body="Hi {{ no_such_field }}")
    rec = Recorder()
    with smtp_server(rec) as port:
        out = run(ctx, port, bad)
    assert out["delivered"] == 0 and rec.messages == []
    rows = campaign_ledger(ctx, "win-back", "failed")
    assert rows and all(str(r["reason"]).startswith("render: ") for r in rows)
    assert all(not r["retry"] for r in rows)


def test_variants_split_the_treated_and_dry_run_writes_nothing(ctx: Context) -> None:
    two = spec(variants=(Variant("a", "Subject A", BODY), Variant("b", "Subject B", BODY)),
               holdout=0.1)
    dry = run(ctx, free_port(), two, dry_run=True)
    assert dry["dry_run"] and dry["sent"] == 0
    with pytest.raises(NotFoundError, match="no campaign"):
        show_campaign(ctx, "win-back")
    rec = Recorder()
    with smtp_server(rec) as port:
        out = run(ctx, port, two)
    assert dry["to_send"] == out["sent"] and dry["holdout"] == out["holdout"]
    assert dry["suppressed"] == out["suppressed"]
    subjects = {str(m["Subject"]) for m in rec.messages}
    assert subjects == {"Subject A", "Subject B"}


def test_a_webhook_campaign_is_signed_and_carries_the_ledger_key(ctx: Context) -> None:
    receiver = Receiver(answers=[503])
    with webhook_server(receiver) as url:
        out = run_campaign(ctx, spec(channel="webhook"),
                           WebhookChannel(WebhookConfig(url, "k3y", timeout=5)), ids(),
                           retry=FAST)
    bodies = receiver.bodies()
    assert out["delivered"] == len({b["customer_id"] for b in bodies}) == out["sent"]
    assert len(bodies) == out["sent"] + 1  # one 503 retried
    for headers, body in receiver.requests:
        assert verify("k3y", headers[TIMESTAMP], body, headers[SIGNATURE])
        assert headers["Idempotency-Key"] == f"win-back:send:{_body_id(body)}"
    assert not {b["customer_id"] for b in bodies} & (NO_RECORD | WITHDRAWN)


def _body_id(body: bytes) -> str:
    return str(json.loads(body)["customer_id"])


def test_a_second_run_is_refused_while_one_is_sending(ctx: Context) -> None:
    rec = Recorder(delay=0.05)
    errors: list[BaseException] = []

    def first() -> None:
        try:
            run(ctx, port)
        except BaseException as exc:  # reported below
            errors.append(exc)

    with smtp_server(rec) as port:
        worker = threading.Thread(target=first)
        worker.start()
        deadline = time.monotonic() + 30
        while not rec.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(WarehouseError, match="being sent by another run"):
            run(ctx, port)
        worker.join(60)
        assert not errors
        again = run(ctx, port)  # the lease was given back at the end
    assert again["sent"] == 0 and len(rec.ids) == len(set(rec.ids)) == again["delivered"]


def test_a_dead_runs_lease_is_taken_over_on_this_machine(ctx: Context) -> None:
    with smtp_server(Recorder()) as port:
        run(ctx, port, dry_run=False)
        store = open_ops(ctx.settings)
        with store.write() as conn:  # as if a process that no longer exists held it
            conn.execute(update(CampaignDef).values(
                lease_owner=f"{socket.gethostname()}:{2**22 + 12345}:dead",
                lease_until=time.time() + 600))
        assert run(ctx, port)["sent"] == 0
        with store.write() as conn:  # another machine's live lease holds until it expires
            conn.execute(update(CampaignDef).values(lease_owner="elsewhere:1:x",
                                                    lease_until=time.time() + 600))
        with pytest.raises(WarehouseError, match="elsewhere:1:x"):
            run(ctx, port)


def test_outcomes_refresh_on_a_rerun_and_experiments_measure_the_campaign(
        ctx: Context) -> None:
    with smtp_server(Recorder()) as port:
        first = run(ctx, port, spec(holdout=0.4))
        with ctx.read() as con:
            sends = con.execute("SELECT customer_id, variant, send_time FROM sends").df()
        buyers = sends.groupby("variant").head(6)  # six orders per arm, the day after
        orders = pd.DataFrame({
            "order_id": [f"o{i}" for i in range(len(buyers))], "line_no": 1,
            "customer_id": buyers["customer_id"].to_numpy(), "product_id": "p1",
            "quantity": 1, "unit_price": 10.0,
            "order_time": (buyers["send_time"] + pd.Timedelta(days=1)).to_numpy()})
        with ctx.warehouse.transaction() as con:
            con.register("new_orders", orders)
            con.execute("INSERT INTO orders BY NAME SELECT * FROM new_orders")
        again = run(ctx, port, spec(holdout=0.4))
    assert again["sent"] == 0 and again["exposures"] == first["exposures"]
    with ctx.read() as con:
        got = dict(con.execute("SELECT variant, sum(converted::INT) FROM sends GROUP BY 1"
                               ).fetchall())
    assert got == {"control": 6, "treatment": 6}
    result = analyze_campaign(ctx, "win-back", metrics=["converted"])
    row = result["results"][0]
    assert row["variant"] == "treatment" and row["metric"] == "converted"


def test_deferred_customers_are_retried_and_stay_in_the_control_group(
        ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLOOP_QUIET_HOURS", "0-23:59")  # night all day
    rec = Recorder()
    with smtp_server(rec) as port:
        night = run(ctx, port)
        monkeypatch.setenv("INSIGHTLOOP_QUIET_HOURS", "off")
        day = run(ctx, port)
    held = _held(ctx)
    assert night["sent"] == 0 and night["suppressed"]["quiet_hours"] == \
        len(eligible_ids() - held)
    assert day["sent"] == len(rec.messages) == len(eligible_ids() - held)
    assert "quiet_hours" not in day["suppressed"]
    with ctx.read() as con:
        control = {r[0] for r in con.execute("SELECT customer_id FROM sends WHERE variant = "
                                             "'control'").fetchall()}
    assert control == held & eligible_ids()


def test_the_ledger_on_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quiet_policy(monkeypatch)
    build_warehouse(tmp_path / "wh.duckdb")
    pg = ctx_of(tmp_path / "wh.duckdb", ops_url=ops_url_for("postgresql", tmp_path))
    rec = Recorder(reject={"c02@example.com"})
    with smtp_server(rec) as port:
        with pytest.raises(KeyboardInterrupt):
            run_campaign(pg, spec(), Crashing(email(port), 3), ids(), domain="shop.test",
                         batch_size=5, retry=FAST)
        out = run(pg, port)
        again = run(pg, port)
    sent = rec.ids
    assert len(sent) - len(set(sent)) == 1 and again["sent"] == 0
    assert len(set(sent)) == out["delivered"] == out["audience"] - out["holdout"] - \
        sum(out["suppressed"].values()) - out["failed"]
    assert not {r.split("@")[0] for r in rec.recipients} & (NO_RECORD | WITHDRAWN)
