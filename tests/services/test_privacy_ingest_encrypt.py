"""Ingest encrypts, campaigns decrypt: with an encryption key set, a customers file is
sealed as it is loaded (AES-GCM, key id in each value) and the warehouse file rewritten, so
its bytes hold no clear e-mail or name; a campaign still delivers every message to the
right address on a real SMTP server (the address is opened right before it is handed to
the channel), and eligibility judges the opened address."""

from __future__ import annotations

import base64
from pathlib import Path

import duckdb
import pytest

from campaign_data import build_warehouse, eligible_ids, ids, quiet_policy
from campaign_servers import Recorder, smtp_server
from contexts import ctx_of
from insightloop.errors import ConfigError
from insightloop.services.campaigns import (
    CampaignSpec,
    RetryPolicy,
    SmtpConfig,
    Variant,
    run_campaign,
)
from insightloop.services.campaigns.channels import EmailChannel
from insightloop.services.ingest import ingest_result

K1 = "k1:" + base64.b64encode(bytes(range(32))).decode()


def test_ingest_seals_and_a_campaign_delivers(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    quiet_policy(monkeypatch)
    path = tmp_path / "wh.duckdb"
    build_warehouse(path)  # customers written in clear, as before this change
    data = tmp_path / "customers.csv"
    data.write_text("customer_id,email,name,country\n" + "".join(
        f"{c},{c}@example.com,Customer {c},United Kingdom\n" for c in ids()), encoding="utf-8")
    ctx = ctx_of(path, encryption_keys=K1)
    res = ingest_result(ctx, "customers", data)
    assert res.rows_in == len(ids())
    with duckdb.connect(str(path), read_only=True) as con:
        stored = con.execute("SELECT email, name FROM customers").fetchall()
    assert len(stored) == len(ids()) and all(
        e.startswith("enc1:k1:") and n.startswith("enc1:k1:") for e, n in stored)
    raw = path.read_bytes()
    assert b"@example.com" not in raw and b"Customer c0" not in raw
    assert not Path(f"{path}.wal").exists()
    body = "Hello, you last ordered {{ recency_days }} days ago."
    spec = CampaignSpec("Sealed", "email", (Variant("treatment", "We miss you", body,
                                                    "<p>" + body + "</p>"),),
                        audience_where="recency_days >= 0", holdout=0.0, seed=7)
    rec = Recorder()
    with smtp_server(rec) as port:
        out = run_campaign(ctx, spec, EmailChannel(SmtpConfig(
            "127.0.0.1", port, sender="news@shop.test", timeout=5)), ids(),
            domain="shop.test", retry=RetryPolicy(attempts=2, base=0.01, cap=0.01))
    expected = {f"{c}@example.com" for c in eligible_ids()}
    assert out["delivered"] == len(expected) > 0
    assert set(rec.recipients) == expected
    # without the key the sealed addresses cannot be opened: one clear error, nothing sent
    ctx_no_key = ctx_of(path)
    idle = Recorder()
    with smtp_server(idle) as port, pytest.raises(ConfigError,
                                                  match="INSIGHTLOOP_ENCRYPTION_KEYS"):
        run_campaign(ctx_no_key, CampaignSpec("Sealed 2", "email", spec.variants,
                                              audience_where="recency_days >= 0",
                                              holdout=0.0, seed=7),
                     EmailChannel(SmtpConfig("127.0.0.1", port, sender="news@shop.test",
                                             timeout=5)), ids(), domain="shop.test")
    assert idle.messages == []


def test_quarantined_customer_lines_are_sealed_and_still_erasable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rejected customers line holds the same e-mail and name as a loaded one: with a
    key it is sealed too (no clear byte in the file), and an erasure opens the sealed lines
    to find the subject's, by id or by e-mail."""
    from insightloop.services.privacy import erase_customer

    quiet_policy(monkeypatch)
    path = tmp_path / "wh.duckdb"
    build_warehouse(path)
    first, second = ids()[0], ids()[1]
    data = tmp_path / "customers.csv"
    data.write_text(
        "customer_id,email,name,country\n"
        + "".join(f"{c},{c}@example.com,Customer {c},United Kingdom\n" for c in ids())
        # the same id again with another address: quarantined (same key, other values)
        + f"{first},moved.away@example.net,Customer {first},France\n"
        # no id, the second customer's address: quarantined (required id missing)
        + f",{second}@example.com,Customer {second},France\n", encoding="utf-8")
    ctx = ctx_of(path, encryption_keys=K1)
    res = ingest_result(ctx, "customers", data)
    assert res.rows_quarantined == 2
    with duckdb.connect(str(path), read_only=True) as con:
        raws = [r[0] for r in con.execute(
            "SELECT raw FROM quarantine WHERE table_name = 'customers'").fetchall()]
    assert len(raws) == 2 and all(r.startswith("enc1:k1:") for r in raws)
    assert b"moved.away@example.net" not in path.read_bytes()

    out = erase_customer(ctx, first, actor="test")
    assert out["warehouse"]["deleted"]["quarantine"] == 1  # found by its id inside the sealed line
    out = erase_customer(ctx, second, actor="test")
    assert out["warehouse"]["deleted"]["quarantine"] == 1  # found by its opened e-mail address
    with duckdb.connect(str(path), read_only=True) as con:
        left = con.execute("SELECT count(*) FROM quarantine WHERE table_name = 'customers'"
                           ).fetchone()
    assert left == (0,)
