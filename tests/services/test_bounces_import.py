"""``campaigns bounces import`` over real-format bounce reports (tests/fixtures/bounces:
RFC 3464 DSNs, Postfix and Exim text bounces, a maildir and an mbox) after a campaign sent
through a real local SMTP server: hard bounces are suppressed and marked in the ledger, soft
ones counted, a re-import changes nothing, and the next campaign skips the suppressed."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_data import build_warehouse, quiet_policy
from campaign_servers import Recorder, smtp_server
from insightloop.errors import InputFileError
from insightloop.services.campaigns import CampaignSpec, SmtpConfig, Variant, campaign_ledger
from insightloop.services.campaigns.bounces import import_bounces
from insightloop.services.campaigns.dsn import parse_report
from insightloop.services.campaigns.send import send_campaign
from insightloop.services.context import Context
from insightloop.services.engagement.suppression import list_suppressions

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"


def spec(name: str = "Bounce test") -> CampaignSpec:
    return CampaignSpec(name, "email", (Variant("treatment", "We miss you", "Hi {{ name }}"),),
                        audience_where="recency_days >= 0", holdout=0.0, seed=1)


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    quiet_policy(monkeypatch)
    return build_warehouse(tmp_path / "wh.duckdb")


def test_each_report_form_parses_to_its_recipient_status_and_kind() -> None:
    got = {p.name: [(b.recipient, b.kind, b.status, b.message_id)
                    for b in parse_report(p.read_bytes())]
           for p in FIXTURES.glob("*.eml")}
    assert got["rfc3464_hard.eml"] == [("c03@example.com", "hard", "5.1.1",
                                        "<bounce-test.6aae5b44bb1947e2@shop.test>")]
    assert got["postfix_text.eml"] == [("c04@example.com", "hard", "5.1.1",
                                        "<bounce-test.860e624684b1fc1d@shop.test>")]
    assert got["exim_text.eml"] == [("c06@example.com", "hard", "5.0.0", None)]
    assert got["not_a_bounce.eml"] == []


def test_import_suppresses_marks_counts_and_is_idempotent(ctx: Context) -> None:
    rec = Recorder()
    with smtp_server(rec) as port:
        smtp = SmtpConfig("127.0.0.1", port, sender="news@shop.test", timeout=5)
        first = send_campaign(ctx, spec(), smtp=smtp)
        out = import_bounces(ctx, FIXTURES, soft_limit=3)
        assert out == {"messages": 7, "not_bounces": 1, "bounces": 6, "new": 6, "hard": 3,
                       "soft": 3, "matched": 6, "marked_bounced": 3, "suppressed": 4}
        bounced = campaign_ledger(ctx, "bounce-test", "bounced")
        assert {r["customer_id"] for r in bounced} == {"c03", "c04", "c06"}
        assert {r["reason"] for r in bounced} == {"hard bounce 5.1.1", "hard bounce 5.0.0"}
        sup = list_suppressions(ctx, "email")
        reasons = dict(zip(sup["value"], sup["reason"], strict=True))
        assert reasons == {"c03@example.com": "hard bounce 5.1.1",
                           "c04@example.com": "hard bounce 5.1.1",
                           "c06@example.com": "hard bounce 5.0.0",
                           "c07@example.com": "3 or more soft bounces"}
        again = import_bounces(ctx, FIXTURES)
        assert again["new"] == again["marked_bounced"] == again["suppressed"] == 0
        assert again["bounces"] == 6
        before = len(rec.messages)
        nxt = send_campaign(ctx, spec("Bounce test 2"), smtp=smtp)
    assert nxt["suppressed"].get("suppressed") == 4
    received = {str(m["To"]) for m in rec.messages[before:]}
    assert not received & set(reasons)
    assert first["bounced"] == 0 and len(rec.ids) == len(set(rec.ids))


def test_soft_bounces_below_the_limit_are_only_counted(ctx: Context) -> None:
    out = import_bounces(ctx, FIXTURES / "soft.mbox", soft_limit=3)
    assert (out["messages"], out["soft"], out["suppressed"], out["matched"]) == (2, 2, 0, 2)
    assert out["marked_bounced"] == 0  # no campaign was sent; c07 is known by address
    with pytest.raises(InputFileError, match="no such file"):
        import_bounces(ctx, FIXTURES / "missing")
