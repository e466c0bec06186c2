"""Real local servers for the campaigns tests: an SMTP server (aiosmtpd, in a thread on
127.0.0.1) whose handler records every message and can refuse, delay or fail on purpose,
and an HTTP receiver (http.server in a thread) for webhooks."""

from __future__ import annotations

import asyncio
import email
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Recorder:
    """An aiosmtpd handler: ``messages`` received (parsed), with knobs for failures."""

    messages: list[email.message.Message] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)      # 550 at RCPT for these addresses
    busy: int = 0                                       # 451 at DATA for the next n messages
    delay: float = 0.0                                  # seconds before accepting DATA
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.reject:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.busy > 0:
                self.busy -= 1
                return "451 4.3.0 try again later"
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"

    @property
    def ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]

    @property
    def recipients(self) -> list[str]:
        with self.lock:
            return [str(m["To"]) for m in self.messages]


@contextmanager
def smtp_server(handler: Recorder, port: int | None = None) -> Iterator[int]:
    """Serve ``handler`` on 127.0.0.1; yields the port."""
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass
class Receiver:
    """What the webhook receiver got: (headers, body) per request, and the answers to give
    (a list of status codes used in turn, then 200)."""

    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(b) for _, b in self.requests]


@contextmanager
def webhook_server(receiver: Receiver) -> Iterator[str]:
    """An HTTP server recording POSTs; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append(({k: v for k, v in self.headers.items()}, body))
                code = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
