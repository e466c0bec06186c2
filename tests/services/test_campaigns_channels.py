"""The delivery channels against real local servers: SMTP (aiosmtpd) and an HTTP webhook
receiver; retries, permanent failures, signatures; the token bucket and the outbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_servers import Receiver, Recorder, free_port, smtp_server, webhook_server
from contexts import ctx_of
from insightloop.errors import ConfigError
from insightloop.services.campaigns.channels import (
    EmailChannel,
    Message,
    OutboxChannel,
    RetryPolicy,
    SmtpConfig,
    TokenBucket,
    WebhookChannel,
    WebhookConfig,
    deliver_with_retry,
    pull,
    verify,
)
from insightloop.services.campaigns.channels.webhook import SIGNATURE, TIMESTAMP
from insightloop.storage.operational import open_ops

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.02)


def msg(customer: str, address: str | None = None, html: str | None = "<p>Hi</p>"
        ) -> Message:
    return Message("winback", customer, "treatment", address or f"{customer}@example.com",
                   "Come back", "Hi there", html, f"<winback.{customer}@shop.test>",
                   f"winback:send:{customer}")


def test_email_is_multipart_with_the_deterministic_message_id() -> None:
    rec = Recorder()
    with smtp_server(rec) as port:
        channel = EmailChannel(SmtpConfig("127.0.0.1", port, sender="news@shop.test"))
        outs = [deliver_with_retry(channel, msg(c), FAST) for c in ("a", "b")]
        channel.close()
    assert [o.status for o in outs] == ["delivered", "delivered"]
    assert rec.ids == ["<winback.a@shop.test>", "<winback.b@shop.test>"]
    first = rec.messages[0]
    assert first.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in first.get_payload()]  # type: ignore[union-attr]
    assert parts == ["text/plain", "text/html"]
    assert first["From"] == "news@shop.test" and first["To"] == "a@example.com"
    assert SmtpConfig("h", sender="News <news@shop.test>").domain == "shop.test"


def test_a_5xx_recipient_fails_with_the_reason_and_others_still_go() -> None:
    rec = Recorder(reject={"b@example.com"})
    with smtp_server(rec) as port:
        channel = EmailChannel(SmtpConfig("127.0.0.1", port))
        outs = [deliver_with_retry(channel, msg(c), FAST) for c in ("a", "b", "c")]
        channel.close()
    assert [o.status for o in outs] == ["delivered", "failed", "delivered"]
    assert outs[1].reason is not None and outs[1].reason.startswith("smtp 550")
    assert "no such user" in outs[1].reason and not outs[1].retry and outs[1].attempts == 1
    assert rec.recipients == ["a@example.com", "c@example.com"]


def test_a_4xx_is_retried_with_backoff_until_it_goes() -> None:
    rec = Recorder(busy=2)
    waits: list[float] = []
    with smtp_server(rec) as port:
        channel = EmailChannel(SmtpConfig("127.0.0.1", port))
        out = deliver_with_retry(channel, msg("a"), RetryPolicy(attempts=3, base=0.01),
                                 sleep=waits.append)
        channel.close()
    assert out.status == "delivered" and out.attempts == 3
    assert waits == [0.01, 0.02]
    assert rec.ids == ["<winback.a@shop.test>"]


def test_smtp_down_fails_after_the_attempts_marked_for_retry() -> None:
    channel = EmailChannel(SmtpConfig("127.0.0.1", free_port(), timeout=2))
    out = deliver_with_retry(channel, msg("a"), FAST)
    assert out.status == "failed" and out.retry and out.attempts == 3
    assert out.reason is not None and "unreachable" in out.reason
    assert "after 3 attempts" in out.reason


def test_no_address_fails_without_a_connection() -> None:
    out = EmailChannel(SmtpConfig("127.0.0.1", free_port())).deliver(
        Message("c", "x", "t", None, "s", "t", None, "<m>", "k"))
    assert (out.status, out.reason, out.retry) == ("failed", "no_address", False)


def test_webhook_is_signed_retried_on_5xx_and_failed_on_4xx() -> None:
    receiver = Receiver(answers=[503, 200, 404])
    with webhook_server(receiver) as url:
        channel = WebhookChannel(WebhookConfig(url, "s3cret", timeout=5))
        first = deliver_with_retry(channel, msg("a"), FAST)
        second = deliver_with_retry(channel, msg("b"), FAST)
        channel.close()
    assert (first.status, first.attempts) == ("delivered", 2)
    assert (second.status, second.reason, second.retry) == ("failed", "webhook 404 Not Found",
                                                            False)
    assert len(receiver.requests) == 3
    for headers, body in receiver.requests:
        assert verify("s3cret", headers[TIMESTAMP], body, headers[SIGNATURE])
        assert not verify("other", headers[TIMESTAMP], body, headers[SIGNATURE])
        assert not verify("s3cret", headers[TIMESTAMP], body + b" ", headers[SIGNATURE])
    keys = [h["Idempotency-Key"] for h, _ in receiver.requests]
    assert keys == ["winback:send:a", "winback:send:a", "winback:send:b"]
    assert receiver.bodies()[0]["message_id"] == "<winback.a@shop.test>"
    headers, body = receiver.requests[0]
    assert not verify("s3cret", headers[TIMESTAMP], body, headers[SIGNATURE],
                      now=float(headers[TIMESTAMP]) + 301)


def test_webhook_timeouts_and_refused_connections_are_transient() -> None:
    channel = WebhookChannel(WebhookConfig(f"http://127.0.0.1:{free_port()}/x", "k",
                                           timeout=1))
    out = deliver_with_retry(channel, msg("a"), FAST)
    assert out.status == "failed" and out.retry and "ConnectError" in str(out.reason)
    with pytest.raises(ConfigError, match="signing secret"):
        WebhookConfig("http://127.0.0.1/x", "")
    with pytest.raises(ConfigError, match="http:// or https://"):
        WebhookConfig("ftp://x", "k")


def test_token_bucket_spaces_messages_at_the_rate() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    bucket = TokenBucket(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.take()
    assert waits == pytest.approx([0.1] * 4)
    assert now[0] == pytest.approx(0.4)
    free = TokenBucket(None, sleep=sleep)
    free.take()
    assert len(waits) == 4


def test_outbox_queues_once_per_key_and_pull_takes_each_once(tmp_path: Path) -> None:
    store = open_ops(ctx_of(tmp_path / "wh.duckdb").settings)
    channel = OutboxChannel(store)
    for c in ("a", "b", "a"):
        assert channel.deliver(msg(c)).status == "delivered"
    first = pull(store, limit=1)
    rest = pull(store, limit=10)
    assert [m["customer_id"] for m in first + rest] == ["a", "b"]
    assert pull(store) == [] and first[0]["message_id"] == "<winback.a@shop.test>"
