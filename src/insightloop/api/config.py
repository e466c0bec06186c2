"""Options of a running server (beside the warehouse :class:`~insightloop.settings.Settings`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServeConfig:
    """Security and limits of the API/dashboard process.

    Parameters
    ----------
    rate_per_s, burst : float, int
        Token bucket per API key: ``burst`` requests at once, refilled at ``rate_per_s``.
    failed_auth_per_s, failed_auth_burst : float, int
        Token bucket per client address for requests with a missing or wrong key.
    max_body_bytes : int
        Larger request bodies get 413 before they are read.
    cors_origins : tuple of str
        Origins allowed by CORS; empty (the default) means CORS stays off.
    read_wait_s : float
        How long a read waits for a running job's write to finish before answering 503.
    session_hours : float
        Lifetime of a dashboard session (HttpOnly cookie).
    ingest_root : Path, optional
        Folder that ingest jobs may read files from; ingest jobs are refused without it.
    secure_cookies : bool
        Mark the session cookie ``Secure`` (serve behind HTTPS). It is also set on requests
        that a trusted proxy (``forwarded_allow_ips``) reports as ``https``.
    forwarded_allow_ips : tuple of str
        Addresses (IPs or networks) of reverse proxies whose ``X-Forwarded-For`` and
        ``X-Forwarded-Proto`` headers are believed. Empty (the default): none is, so
        every client is known by its own address (rate limits cannot be dodged by
        rotating the header).
    cache_bytes : int
        Bound of the in-memory cache of aggregates and dashboard pages (least recently
        used entries go first).
    max_header_bytes, max_header_line_bytes : int
        Requests whose headers exceed these sizes (all together, or one header) get 431.
    max_queued_jobs : int
        Jobs waiting to run at most; more get 429 with ``Retry-After``.
    workers : int
        Server processes (``insightloop serve --workers``); they share keys, sessions, rate
        limits and jobs through the operational store (see ``docs/operations.md``).
    """

    rate_per_s: float = 100.0
    burst: int = 200
    failed_auth_per_s: float = 5.0
    failed_auth_burst: int = 20
    max_body_bytes: int = 1_048_576
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    read_wait_s: float = 30.0
    session_hours: float = 8.0
    ingest_root: Path | None = None
    secure_cookies: bool = False
    forwarded_allow_ips: tuple[str, ...] = field(default_factory=tuple)
    cache_bytes: int = 32 * 1024 * 1024
    max_header_bytes: int = 16_384
    max_header_line_bytes: int = 8_192
    max_queued_jobs: int = 16
    workers: int = 1
