"""The API's audit trail: one audit-log entry per API request (who, what, the answer).

An entry holds the key id and its role (the actor ``key:<id>/<role>``, ``anonymous`` before
authentication), the method and the route *template* (``GET
/api/v1/customers/{customer_id}``: never the concrete path, the query string or the body,
which may hold personal data) and the status. Entries are buffered in memory and appended
in batches by one thread (:meth:`AuditTrail.flush`, every second or 500 entries, and when
the server stops), so a request never waits for the operational store's write lock.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from insightloop import logmask as masking
from insightloop.api.middleware import template
from insightloop.settings import Settings
from insightloop.storage.operational import audit, open_ops

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
FLUSH_ROWS = 500
#: Paths not recorded (liveness probes, static assets).
QUIET = ("/api/v1/health", "/static/")


class AuditTrail:
    """ASGI middleware appending an audit entry per ``/api/`` request (see the module)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        masking.install()  # the server's log lines mask e-mails and phone numbers too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._thread is None and "app" in scope:
            scope["app"].state.audit_trail = self  # the audit endpoint flushes it first
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/api/") or path.startswith(QUIET):
            await self.app(scope, receive, send)
            return
        status = 0

        async def wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            self.add(scope, status)

    def add(self, scope: Scope, status: int) -> None:
        state = scope.get("state") or {}
        key, role = state.get("key_id"), state.get("role")
        actor = f"key:{key}/{role}" if key else "anonymous"
        row = {"at": datetime.now(), "actor": actor[:64],
               "action": f"{scope.get('method')} {template(scope)}"[:64],
               "target": "api", "detail": {"status": status}, "note": None}
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= FLUSH_ROWS
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="insightloop-audit",
                                                daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Append the buffered entries now; returns how many."""
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            try:
                audit.record_many(open_ops(self.settings), rows)
            except Exception as exc:  # never fail a request over the trail; say so
                log.error("audit trail: %d entries not written (%s)", len(rows),
                          type(exc).__name__)
        return len(rows)

