"""Signed webhooks with httpx: a JSON body per message, its HMAC-SHA256 signature over
``"{timestamp}.{body}"`` in ``X-Insightloop-Signature`` (``sha256=<hex>``), the timestamp in
``X-Insightloop-Timestamp`` and the ledger's key in ``Idempotency-Key``, so a receiver can
verify the sender, refuse replays and drop a repeated delivery.

2xx is delivered; 5xx, 429, timeouts and connection errors are transient (retried with
backoff); any other 4xx is ``failed`` with the status as the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from insightloop.errors import ConfigError
from insightloop.services.campaigns.channels.base import Message, Outcome, TransientError

SIGNATURE = "X-Insightloop-Signature"
TIMESTAMP = "X-Insightloop-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *,
           tolerance: float = 300.0, now: float | None = None) -> bool:
    """True when ``signature`` is ours for ``body`` and ``timestamp`` is recent (receivers
    call this; a constant-time comparison)."""
    try:
        age = abs((time.time() if now is None else now) - float(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def payload(message: Message) -> bytes:
    """The JSON body of ``message`` (keys sorted, UTF-8)."""
    return json.dumps({"campaign_id": message.campaign_id, "customer_id": message.customer_id,
                       "variant": message.variant, "message_id": message.message_id,
                       "subject": message.subject, "text": message.text,
                       "html": message.html}, sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook URL {self.url[:100]!r} must start with http:// or "
                              "https://")
        if not self.secret:
            raise ConfigError("a webhook needs a signing secret: set "
                              "INSIGHTLOOP_WEBHOOK_SECRET or pass --webhook-secret")


class WebhookChannel:
    """POST each message to one URL over a reused HTTP connection."""

    name = "webhook"

    def __init__(self, config: WebhookConfig,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._client: httpx.Client | None = None

    def deliver(self, message: Message) -> Outcome:
        if self._client is None:
            self._client = httpx.Client(timeout=self.config.timeout)
        body = payload(message)
        stamp = str(int(self._clock()))
        headers = {"Content-Type": "application/json", TIMESTAMP: stamp,
                   SIGNATURE: sign(self.config.secret, stamp, body),
                   "Idempotency-Key": message.idempotency_key}
        try:
            response = self._client.post(self.config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientError(f"webhook {type(exc).__name__}: {exc}"[:200]) from None
        code = response.status_code
        if 200 <= code < 300:
            return Outcome("delivered")
        reason = f"webhook {code} {response.reason_phrase}".strip()
        if code >= 500 or code == 429:
            raise TransientError(reason)
        return Outcome("failed", reason)

    def reset(self) -> None:
        self.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
