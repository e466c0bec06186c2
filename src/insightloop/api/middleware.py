"""ASGI middleware: body (413) and header (431) limits, security headers on every
response (errors included), 500 for unhandled exceptions, PII-free access log."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from insightloop.api.errors import INTERNAL_MESSAGE, error_json

log = logging.getLogger("insightloop.api.access")
errlog = logging.getLogger("insightloop.api")
_HTML_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
             "'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
             "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    body = error_json(code, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Cors(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the common error body."""

    def preflight_response(self, request_headers: Headers) -> Response:
        resp = super().preflight_response(request_headers)
        if resp.status_code < 400:
            return resp
        headers = {k: v for k, v in resp.headers.items()
                   if k not in ("content-length", "content-type")}
        return Response(error_json("cors_refused", f"{bytes(resp.body).decode()}: this "
                                   "origin, method or header is not allowed by --cors-origin"),
                        status_code=resp.status_code, headers=headers,
                        media_type="application/json")


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


def _header_problem(scope: Scope, max_total: int, max_line: int) -> str | None:
    """Why the request headers are too large, or None."""
    sizes = [len(name) + len(value) + 4 for name, value in scope.get("headers") or []]
    if sizes and max(sizes) > max_line:
        return f"a request header is over {max_line:,} bytes"
    if sum(sizes) > max_total:
        return f"request headers are over {max_total:,} bytes in all"
    return None


class HeadersAndLog:
    """Security headers on every response; one access-log line per request.

    Headers over ``max_header_bytes`` (all) or ``max_header_line_bytes`` (one) get 431.
    An exception no handler turned into a response becomes 500 ``internal_error`` with
    the common body; its log line holds the exception type and the route template only
    (messages and tracebacks can quote data values).

    The line names the route *template* (``/api/v1/customers/{customer_id}``),
    never the concrete path or query string, plus status, key id and duration:
    no key, customer id, e-mail or other PII reaches the log.
    """

    def __init__(self, app: ASGIApp, max_header_bytes: int = 16_384,
                 max_header_line_bytes: int = 8_192) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_header_line_bytes = max_header_line_bytes

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
            problem = _header_problem(scope, self.max_header_bytes, self.max_header_line_bytes)
            if problem is not None:
                await _reject(wrapped, 431, "headers_too_large",
                              f"{problem}; send smaller headers (cookies, tokens)")
            else:
                await self.app(scope, receive, wrapped)
        except Exception as exc:  # the last line of defence: answer 500
            errlog.error("unhandled %s on %s %s", type(exc).__name__, scope.get("method"),
                         _template(scope))
            if status == 0:
                await _reject(wrapped, 500, "internal_error", INTERNAL_MESSAGE)
        finally:
            state = scope.get("state") or {}
            log.info("%s %s %s key=%s %.1fms", scope.get("method"), _template(scope), status,
                     state.get("key_id", "-"), (time.perf_counter() - start) * 1000)


def _template(scope: Scope) -> str:
    """The route template of a request (never its concrete path)."""
    route = scope.get("route")
    template = getattr(route, "path", None) or (
        "/static/*" if scope["path"].startswith("/static/") else "(unmatched)")
    if scope["path"].startswith("/api/v1/") and not template.startswith("/api/"):
        template = "/api/v1" + template
    return str(template)


#: The route template of a request, public: the audit trail (``api/audit.py``) names
#: requests as the access log does.
template = _template
