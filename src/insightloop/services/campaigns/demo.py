"""The demo's campaign: "win back lapsed customers" sent over real SMTP to a local server the
stage starts (aiosmtpd, in a thread on 127.0.0.1, an ephemeral port), then the ledger totals.

The bundled sample has orders only: no customer rows, no e-mail addresses, no consent
records. So that the demo shows a real send, the stage adds *synthetic* contact data when
(and only when) the warehouse has no customers at all: one ``customers`` row per profiled
customer with the address ``customer-<id>@example.com`` (RFC 2606: never deliverable), and
consent records from a hash of the id: 80 % granted, 5 % granted then withdrawn, the rest
none. Its result says so (``synthetic_contacts``). Eligibility is evaluated at 12:00 UTC of
the day the demo runs, so quiet hours do not depend on the hour of the demo.
Without aiosmtpd installed the stage uses the outbox channel instead and says so.
"""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime
from typing import Any

from insightloop.services.campaigns.audience import members
from insightloop.services.campaigns.channels import (
    EmailChannel,
    OutboxChannel,
    RetryPolicy,
    SmtpConfig,
)
from insightloop.services.campaigns.send import run_campaign
from insightloop.services.campaigns.spec import CampaignSpec, Variant
from insightloop.services.context import Context
from insightloop.storage.operational import open_ops
from insightloop.storage.warehouse import has_table

try:  # a test and demo dependency: the product itself needs only smtplib
    from aiosmtpd.controller import Controller
except ImportError:  # pragma: no cover - the outbox stands in
    Controller = None  # type: ignore[misc, assignment]

WHERE = "recency_days > 90 and frequency >= 2"
SUBJECT = "We miss you, customer {{ customer_id }}"
TEXT = ("Hello,\n\nit has been {{ recency_days }} days since your last order. "
        "Here is 10% off your next one.\n")
HTML = ("<p>Hello,</p><p>it has been <b>{{ recency_days }}</b> days since your last order. "
        "Here is 10% off your next one.</p>")


class _Counter:
    """An aiosmtpd handler that counts what arrives (the demo shows the number)."""

    def __init__(self) -> None:
        self.received = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received += 1
        return "250 Message accepted"


def synthetic_contacts(ctx: Context) -> int:
    """Add demo customers, addresses and consents when the warehouse has no customers;
    returns how many customers were added (0: the warehouse's own data is used)."""
    with ctx.warehouse.transaction() as con:
        if not has_table(con, "customer_360"):
            return 0
        row = con.execute("SELECT count(*) FROM customers").fetchone()
        if row is None or int(row[0]) > 0:
            return 0
        con.execute("INSERT INTO customers (customer_id, email, country) SELECT customer_id, "
                    "'customer-' || customer_id || '@example.com', country FROM customer_360")
        bucket = "(md5_number_lower('demo-consent:' || customer_id) % 100)"
        con.execute(
            "INSERT INTO consents (customer_id, channel, purpose, granted, consent_time) "
            "SELECT customer_id, 'email', 'marketing', true, TIMESTAMP '2011-01-01' "
            f"FROM customers WHERE {bucket} < 85 UNION ALL "
            "SELECT customer_id, 'email', 'marketing', false, TIMESTAMP '2011-06-01' "
            f"FROM customers WHERE {bucket} >= 80 AND {bucket} < 85")
        added = con.execute("SELECT count(*) FROM customers").fetchone()
    return int(added[0]) if added else 0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_campaign(ctx: Context) -> dict[str, Any]:
    """Run the demo campaign; the ledger totals, what the local server received, and
    whether contact data was synthesised."""
    added = synthetic_contacts(ctx)
    spec = CampaignSpec("demo-winback", "email" if Controller is not None else "outbox",
                        (Variant("treatment", SUBJECT, TEXT, HTML),), audience_where=WHERE,
                        holdout=0.1, seed=42)
    ids = members(ctx, spec)
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0,
                                     tzinfo=None)
    fast = RetryPolicy(attempts=2, base=0.05)
    if Controller is None:
        run = run_campaign(ctx, spec, OutboxChannel(open_ops(ctx.settings)), ids, now=noon,
                           retry=fast)
        return {**run, "channel": "outbox (aiosmtpd is not installed)",
                "synthetic_contacts": added}
    handler = _Counter()
    port = _port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        smtp = SmtpConfig("127.0.0.1", port, sender="demo@insightloop.example")
        run = run_campaign(ctx, spec, EmailChannel(smtp), ids, domain=smtp.domain, now=noon,
                           retry=fast)
    finally:
        server.stop()
    return {**run, "channel": f"email via a local SMTP server on 127.0.0.1:{port}",
            "received": handler.received, "synthetic_contacts": added}
