"""API keys with roles, stored hashed in the operational store (table ``api_keys``).

A key reads ``il_<key_id>_<secret>``: ``key_id`` (12 hex characters) is public and
names the key in logs and listings; ``secret`` is 256 random bits. Only a salted
SHA-256 of the secret is stored (the secret is high-entropy, so a slow KDF adds
nothing but latency to every request); presented keys are compared in constant
time (:func:`hmac.compare_digest`). The full key is shown once, at creation.

Roles are ordered: ``read`` < ``write`` (may start jobs) < ``admin`` (may manage keys).

The keys live in the operational store (:mod:`insightloop.storage.operational`), which
every server process shares, so keys can be managed while the server runs; keys that the
previous release kept in the warehouse are copied there on first open.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from insightloop.errors import ConfigError, NotFoundError
from insightloop.services.context import Context
from insightloop.services.results import KeyInfo, NewKey
from insightloop.storage.operational import keys as rows
from insightloop.storage.operational import open_ops

ROLES = ("read", "write", "admin")
KEY_PATTERN = re.compile(r"^il_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class KeyRecord:
    """A stored key: never the secret, only its salted hash."""

    key_id: str
    salt: str
    key_hash: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> KeyInfo:
        return {"key_id": self.key_id, "role": self.role, "name": self.name,
                "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
                "active": self.active}


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed`` (read < write < admin)."""
    return ROLES.index(role) >= ROLES.index(needed)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("ascii")).hexdigest()


def create_key(ctx: Context, role: str, name: str = "") -> NewKey:
    """Create a key; returns ``{"key", "key_id", "role", "name", "created_at"}``.

    The returned ``key`` is the only copy of the secret.
    """
    if role not in ROLES:
        raise ConfigError(f"role must be one of {ROLES}, got {role!r}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    now = datetime.now().replace(microsecond=0)
    rows.insert_key(open_ops(ctx.settings), {
        "key_id": key_id, "salt": salt, "key_hash": _hash(salt, secret), "role": role,
        "name": name, "created_at": now, "revoked_at": None})
    return {"key": f"il_{key_id}_{secret}", "key_id": key_id, "role": role, "name": name,
            "created_at": now.isoformat()}


def load_keys(ctx: Context) -> dict[str, KeyRecord]:
    """Every stored key by id."""
    return {r[0]: KeyRecord(*r) for r in rows.key_rows(open_ops(ctx.settings))}


def list_keys(ctx: Context) -> list[KeyInfo]:
    """Public view of every key (id, role, name, dates; never the hash)."""
    return [rec.public() for rec in load_keys(ctx).values()]


def revoke_key(ctx: Context, key_id: str) -> KeyInfo:
    """Revoke a key by id (idempotent); NotFoundError for an unknown id."""
    if not rows.revoke(open_ops(ctx.settings), key_id, datetime.now().replace(microsecond=0)):
        raise NotFoundError(f"no API key with id {key_id!r}")
    return load_keys(ctx)[key_id].public()


def verify_key(records: dict[str, KeyRecord], presented: str) -> KeyRecord | None:
    """The active record matching ``presented``, else None (constant-time hash compare)."""
    match = KEY_PATTERN.match(presented)
    if match is None:
        return None
    rec = records.get(match.group(1))
    if rec is None or not rec.active:
        return None
    if not hmac.compare_digest(_hash(rec.salt, match.group(2)), rec.key_hash):
        return None
    return rec
