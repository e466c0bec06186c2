"""ASGI middleware: request body limit (413), security headers, PII-free access log."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("insightloop.api.access")
_HTML_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
             "'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
             "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Answer 413 to bodies over ``max_bytes`` (declared or streamed), before the app reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_big = f"request body over {self.max_bytes:,} bytes"
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _reject(send, 400, "bad_request", "invalid Content-Length")
                return
            if size > self.max_bytes:
                await _reject(send, 413, "payload_too_large", too_big)
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        # Streamed (chunked) body: buffer up to the limit, then replay it to the app.
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await _reject(send, 413, "payload_too_large", too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class HeadersAndLog:
    """Security headers on every response; one access-log line per request.

    The line names the route *template* (``/api/v1/customers/{customer_id}``),
    never the concrete path or query string, plus status, key id and duration:
    no key, customer id, e-mail or other PII reaches the log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers: list[Any] = list(message.get("headers", []))
                names = {h[0].lower() for h in headers}
                extra = [(b"x-content-type-options", b"nosniff"),
                         (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin")]
                ctype = dict(headers).get(b"content-type", b"")
                if ctype.startswith(b"text/html"):
                    extra.append((b"content-security-policy", _HTML_CSP.encode()))
                if b"cache-control" not in names and not scope["path"].startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + extra}
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "/static/*" if scope["path"].startswith("/static/") else "(unmatched)")
            if scope["path"].startswith("/api/v1/") and not template.startswith("/api/"):
                template = "/api/v1" + template
            state = scope.get("state") or {}
            log.info("%s %s %s key=%s %.1fms", scope.get("method"), template, status,
                     state.get("key_id", "-"), (time.perf_counter() - start) * 1000)
