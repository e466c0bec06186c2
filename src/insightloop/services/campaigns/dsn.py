"""Parsing bounce reports: RFC 3464 delivery status notifications (``multipart/report;
report-type=delivery-status``) and the common plain-text forms (Postfix's "This is the mail
system at host ...", Exim's "The following address(es) failed"), read from ``.eml`` files,
a folder of them, a maildir (``new``/``cur``) or an mbox file.

A report gives one :class:`Bounce` per failed or delayed recipient: the address, the
enhanced status code (RFC 3463; derived from the SMTP reply code when absent), the
diagnostic, the original message's Message-ID when the report quotes it, and whether it is
``hard`` (permanent: 5.x.x, except 5.2.2 "mailbox full", which passes) or ``soft``.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from insightloop.errors import InputFileError

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY = re.compile(r"\b([45])(\d)(\d)\b")
_MESSAGE_ID = re.compile(r"^message-id:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_POSTFIX = re.compile(r"^<([^<>\s@]+@[^<>\s]+)>:[ \t]*(.*?)(?=\n\s*\n|\n<|\Z)",
                      re.MULTILINE | re.DOTALL)
_EXIM = re.compile(r"following address(?:\(es\))? failed:\s*\n(.*?)(?=\n\s*\n-|\Z)",
                   re.IGNORECASE | re.DOTALL)
_ADDRESS = re.compile(r"^[ \t]+([^<>\s@]+@[^<>\s:]+)[ \t]*$", re.MULTILINE)
_DAEMON = re.compile(r"mailer-daemon|postmaster|mail delivery", re.IGNORECASE)
_SUBJECT = re.compile(r"undeliver|returned mail|delivery (status|fail)|mail delivery failed|"
                      r"delayed mail|failure notice", re.IGNORECASE)
MESSAGE_FILES = (".eml", ".mbox", ".msg")
#: permanent codes that are not the address's fault (the mailbox is full): counted as soft
SOFT_PERMANENT = frozenset({"5.2.2"})


@dataclass(frozen=True)
class Bounce:
    recipient: str
    status: str
    kind: str  # hard, soft
    diagnostic: str
    message_id: str | None


def _kind(status: str, action: str = "failed") -> str:
    if action == "delayed" or status.startswith("4") or status in SOFT_PERMANENT:
        return "soft"
    return "hard"


def _status(text: str, default: str) -> str:
    found = _STATUS.search(text)
    if found:
        return ".".join(found.groups())
    reply = _REPLY.search(text)
    return f"{reply.group(1)}.0.0" if reply else default


def _address(value: str) -> str:
    """``rfc822; Name@Host`` or ``<Name@Host>`` as a lower-case address."""
    return value.split(";", 1)[-1].strip().strip("<>").strip().lower()


def _text(part: email.message.Message) -> str:
    inner = part.get_payload()
    if isinstance(inner, list):  # message/rfc822 and similar: the quoted message
        return "\n".join(m.as_string() for m in inner if isinstance(m, email.message.Message))
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return str(inner)


def _original_id(msg: email.message.Message, skip: str | None) -> str | None:
    """The Message-ID of the returned message, from the parts or quoted text."""
    texts = [_text(p) for p in msg.walk() if not p.is_multipart()
             or p.get_content_type() == "message/rfc822"]
    for found in _MESSAGE_ID.finditer("\n".join(texts)):
        if found.group(1) != skip:
            return found.group(1)
    return None


def _delivery_status(msg: email.message.Message) -> list[tuple[str, str, str, str]]:
    """(recipient, action, status, diagnostic) of each per-recipient block."""
    out = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, email.message.Message):
                continue
            recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
            if not recipient:
                continue
            action = str(block.get("Action", "failed")).strip().lower()
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            out.append((_address(str(recipient)), action,
                        str(block.get("Status", "")).strip() or _status(diagnostic, "5.0.0"),
                        diagnostic))
    return out


def _plain(msg: email.message.Message) -> list[tuple[str, str, str, str]]:
    """The text forms (Postfix, Exim), only for messages that look like bounces."""
    if not (_DAEMON.search(str(msg.get("From", ""))) or _SUBJECT.search(
            str(msg.get("Subject", ""))) or msg.get("X-Failed-Recipients")):
        return []
    body = "\n".join(_text(p) for p in msg.walk() if p.get_content_type() == "text/plain")
    warning = bool(re.search(r"warning only|temporary error|delayed|still being retried",
                             body, re.IGNORECASE))
    fallback = "4.0.0" if warning else "5.0.0"
    out = []
    for found in _POSTFIX.finditer(body.split("\n------", 1)[0]):
        diagnostic = " ".join(found.group(2).split())
        status = _status(diagnostic, fallback)
        out.append((found.group(1).lower(), "delayed" if warning else "failed", status,
                    diagnostic))
    for block in _EXIM.finditer(body):
        text = block.group(1)
        diagnostic = " ".join(line.strip() for line in text.splitlines()
                              if line.strip() and not _ADDRESS.fullmatch(line))
        permanent = "permanent error" in body.lower()
        status = _status(diagnostic, "5.0.0" if permanent else fallback)
        out += [(a.lower(), "failed", status, diagnostic) for a in _ADDRESS.findall(text)]
    return out


def parse_report(raw: bytes) -> list[Bounce]:
    """The bounces in one message (empty when it is not a bounce report)."""
    msg = email.message_from_bytes(raw)
    own = msg.get("Message-ID")
    found = _delivery_status(msg) if msg.get_content_type() == "multipart/report" else []
    found = found or _plain(msg)
    rows = [(r, a, s, d) for r, a, s, d in found if a in ("failed", "delayed")]
    if not rows:
        return []
    original = _original_id(msg, str(own).strip() if own else None)
    return [Bounce(r, s, _kind(s, a), d[:300], original) for r, a, s, d in rows]


def read_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, raw message) of every message under ``path``: an ``.eml`` file, an mbox
    file, a maildir (``new``, ``cur``) or a folder of any of these."""
    if not path.exists():
        raise InputFileError(f"{path}: no such file or folder; give a .eml file, an mbox "
                             "file, a maildir or a folder of .eml files")
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if child.is_dir() and child.name in ("new", "cur"):
                for item in sorted(child.iterdir()):
                    if item.is_file():
                        yield str(item), item.read_bytes()
            elif child.is_dir() or child.suffix.lower() in MESSAGE_FILES:
                yield from read_messages(child)
        return
    head = path.read_bytes()[:5]
    if head == b"From ":
        box = mailbox.mbox(str(path), create=False)
        try:
            for i, key in enumerate(box.iterkeys()):
                yield f"{path}#{i + 1}", box.get_bytes(key)
        finally:
            box.close()
        return
    yield str(path), path.read_bytes()
