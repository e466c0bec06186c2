"""What every channel shares: the message, the outcome of one delivery, retries with backoff
and a token-bucket rate limit.

A channel's :meth:`Channel.deliver` makes one attempt. It returns an :class:`Outcome`
(delivered, or failed for good: a 5xx SMTP reply, a 4xx webhook answer) or raises
:class:`TransientError` (a 4xx SMTP reply, a refused connection, a timeout, a 5xx webhook
answer); :func:`deliver_with_retry` retries those with exponential backoff and, once the
attempts are spent, reports ``failed`` with ``retry=True`` so a later run tries again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from insightloop.errors import ConfigError


@dataclass(frozen=True)
class Message:
    """One rendered message to one customer."""

    campaign_id: str
    customer_id: str
    variant: str
    address: str | None
    subject: str
    text: str
    html: str | None
    message_id: str
    idempotency_key: str


@dataclass(frozen=True)
class Outcome:
    """The result of delivering one message: ``retry`` marks a transient failure."""

    status: Literal["delivered", "failed"]
    reason: str | None = None
    retry: bool = False
    attempts: int = 1


class TransientError(Exception):
    """A failure worth retrying (the server is down or busy); its text is the reason."""


class Channel(Protocol):
    """A way to deliver messages: e-mail, webhook, outbox."""

    name: str

    def deliver(self, message: Message) -> Outcome:
        """One attempt (raises :class:`TransientError` for a failure worth retrying)."""

    def reset(self) -> None:
        """Drop the connection after a transient failure (the next attempt reconnects)."""

    def close(self) -> None:
        """Release the connection at the end of a run."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: ``attempts`` tries in all, waiting ``base * factor**k`` seconds
    (at most ``cap``) between them."""

    attempts: int = 4
    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"retry attempts must be at least 1, not {self.attempts}")
        if self.base < 0 or self.cap < 0:
            raise ConfigError("retry delays must not be negative")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.cap, self.base * self.factor ** (attempt - 1)))


def deliver_with_retry(channel: Channel, message: Message, policy: RetryPolicy,
                       sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Deliver ``message``, retrying transient failures as ``policy`` says."""
    reason = ""
    for attempt in range(1, policy.attempts + 1):
        try:
            out = channel.deliver(message)
        except TransientError as exc:
            reason = str(exc)[:200]
            channel.reset()
            if attempt < policy.attempts:
                sleep(policy.delay(attempt))
            continue
        return Outcome(out.status, out.reason, out.retry, attempt)
    return Outcome("failed", f"{reason} (after {policy.attempts} attempts)"[:200], True,
                   policy.attempts)


class TokenBucket:
    """At most ``rate`` messages a second on average, bursts of ``burst``; ``rate`` None or
    0 means no limit."""

    def __init__(self, rate: float | None, burst: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate is not None and rate < 0:
            raise ConfigError(f"rate limit must be positive, not {rate}")
        self.rate = rate or None
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self._clock, self._sleep = clock, sleep
        self._last = clock()

    def take(self) -> None:
        """Wait until one token is available and take it."""
        if self.rate is None:
            return
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens < 1.0:
            wait = (1.0 - self.tokens) / self.rate
            self._sleep(wait)
            self._last = self._clock()
            self.tokens = 1.0
        self.tokens -= 1.0
