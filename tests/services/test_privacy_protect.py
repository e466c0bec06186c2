"""Protection: the DuckDB pseudonym equals Python's HMAC-SHA256; personal columns encrypted
at rest and rotated to a new key (old values unreadable without the old key until rotated);
an erasure still finds the e-mail of an encrypted row in other rows' text; log lines never
hold an e-mail or a phone number; the API never returns the personal columns."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from contexts import ctx_of
from insightloop import logmask as masking
from insightloop.errors import ConfigError
from insightloop.services.privacy import erase_customer
from insightloop.services.privacy.protect import (
    PREFIX,
    decrypt_column,
    encrypt_columns,
    pseudonym,
    pseudonym_sql,
)
from insightloop.settings import Settings

K1 = "k1:" + base64.b64encode(bytes(range(32))).decode()
K2 = "k2:" + base64.b64encode(bytes(range(100, 132))).decode()


@pytest.mark.parametrize("secret", ["s3cret", "x" * 100])
def test_pseudonym_in_sql_is_hmac_sha256(secret: str) -> None:
    settings = Settings(privacy_key=secret)
    values = ["17850", "Zoë", "", "13047"]
    got = [r[0] for r in duckdb.execute(
        f"SELECT {pseudonym_sql(settings, 'v')} FROM (SELECT unnest(?) AS v)", [values]
    ).fetchall()]
    want = [hmac.new(secret.encode(), v.encode(), hashlib.sha256).hexdigest() for v in values]
    assert got == want == [pseudonym(settings, v) for v in values]
    with pytest.raises(ConfigError, match="INSIGHTLOOP_PRIVACY_KEY"):
        pseudonym(Settings(), "17850")


def _customers(path: Path) -> list[tuple[str, str, str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [(str(a), str(b), str(c)) for a, b, c in con.execute(
            "SELECT customer_id, email, name FROM customers ORDER BY 1").fetchall()]


def test_encrypt_rotate_and_erase(wh: Path) -> None:
    with duckdb.connect(str(wh)) as con:
        con.execute("INSERT INTO customers (customer_id, email, name) VALUES "
                    "('17850', 'jane@example.com', 'Jane Doe'), "
                    "('13047', 'otto@example.org', 'Otto Other')")
        con.execute("CREATE TABLE notes (note VARCHAR)")
        con.execute("INSERT INTO notes VALUES ('ask jane@example.com')")
    ctx = ctx_of(wh)
    ctx = replace(ctx, settings=replace(ctx.settings, encryption_keys=K1))
    assert encrypt_columns(ctx)["encrypted"] == {"customers.email": 2, "customers.name": 2}
    rows = _customers(wh)
    assert all(e.startswith(PREFIX + "k1:") and n.startswith(PREFIX + "k1:")
               for _, e, n in rows)
    assert decrypt_column(ctx.settings, [e for _, e, _ in rows]) == [
        "otto@example.org", "jane@example.com"]
    assert encrypt_columns(ctx)["encrypted"] == {}  # already encrypted: nothing to do

    rotated = replace(ctx, settings=replace(ctx.settings, encryption_keys=f"{K2},{K1}"))
    assert encrypt_columns(rotated, rotate=True)["encrypted"] == {
        "customers.email": 2, "customers.name": 2}
    rows = _customers(wh)
    assert all(e.startswith(PREFIX + "k2:") for _, e, _ in rows)
    only_new = replace(ctx.settings, encryption_keys=K2)
    assert decrypt_column(only_new, [n for _, _, n in rows]) == ["Otto Other", "Jane Doe"]
    with pytest.raises(ConfigError, match="key 'k2', which is not in"):
        decrypt_column(ctx.settings, [rows[0][1]])  # k1 alone cannot read k2 values

    erased = erase_customer(replace(ctx, settings=only_new), "17850")
    assert erased["verification"]["clean"]
    assert erased["warehouse"]["scrubbed"] == {"notes.note": 1}


def test_log_lines_mask_emails_and_phones(caplog: pytest.LogCaptureFixture) -> None:
    masking.install()
    log = logging.getLogger("insightloop.test_privacy")
    with caplog.at_level(logging.INFO):
        log.info("sent to %s at %s", "jane.doe@example.com", "+86 138 1234 5678")
        log.info("UK %s, CN %s, order %s on %s", "07700 900123", "13812345678", "536365",
                 "2011-12-09")
    assert [r.getMessage() for r in caplog.records] == [
        "sent to [email] at [phone]", "UK [phone], CN [phone], order 536365 on 2011-12-09"]


def test_the_api_never_returns_personal_columns(wh: Path) -> None:
    from serving_helpers import client_for, make_keys

    with duckdb.connect(str(wh)) as con:
        con.execute("INSERT INTO customers (customer_id, email, name) VALUES "
                    "('17850', 'jane@example.com', 'Jane Doe')")
    settings = Settings.load(warehouse=wh, env={})
    keys = make_keys(settings)
    with client_for(settings) as client:
        for role in ("read", "admin"):
            got = client.get("/api/v1/customers/17850", headers={"X-API-Key": keys[role]})
            assert got.status_code == 200
            assert "jane@example.com" not in got.text and "Jane Doe" not in got.text


def test_export_carries_the_pseudonym_instead_of_the_id(wh: Path) -> None:
    from serving_helpers import client_for, make_keys

    settings = Settings.load(warehouse=wh, env={})
    keys = make_keys(settings)
    keyed = replace(settings, privacy_key="export-secret")
    with client_for(keyed) as client:
        got = client.get("/api/v1/customers/export.csv", params={"pseudonymise": "true"},
                         headers={"X-API-Key": keys["read"]})
        plain = client.get("/api/v1/customers/export.csv", headers={"X-API-Key": keys["read"]})
    assert got.status_code == 200 and plain.status_code == 200
    ids = [line.split(",")[0] for line in plain.text.splitlines()[1:]]
    tokens = [line.split(",")[0] for line in got.text.splitlines()[1:]]
    assert len(tokens) == len(ids) > 300
    assert tokens == [pseudonym(keyed, i) for i in ids]
    assert "17850" not in got.text
    with client_for(settings) as client:
        refused = client.get("/api/v1/customers/export.csv", params={"pseudonymise": "true"},
                             headers={"X-API-Key": keys["read"]})
    assert refused.status_code == 422 and "INSIGHTLOOP_PRIVACY_KEY" in refused.text
