"""Protection of personal data: keyed pseudonyms (HMAC-SHA256, :mod:`insightloop.storage.
pseudonym`, re-exported here) and personal columns
encrypted at rest (AES-256-GCM, a key id in every value, rotation).

Encrypted values read ``enc1:<key id>:<base64(nonce | ciphertext | tag)>`` (the key id is
also the associated data, so a value cannot be moved to another key id). The keys come from
``Settings.encryption_keys`` (``INSIGHTLOOP_ENCRYPTION_KEYS="k2:<base64>,k1:<base64>"``):
the first encrypts, every one decrypts; :func:`encrypt_columns` with ``rotate`` re-encrypts
every value not under the first key, then the warehouse file is rewritten so the old
ciphertext and plaintext are gone from its free blocks. Code that needs the clear value
(an erasure collecting the e-mail, a campaign sending to it) calls :func:`decrypt_column`;
nothing else sees it (the API and the dashboard never return these columns).

AES-GCM runs per value (``cryptography`` has no batch call): a list comprehension over
the column's values, the one Python loop here.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

import pandas as pd
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from insightloop.errors import ConfigError
from insightloop.services.context import Context
from insightloop.services.privacy.warehouse import rewrite_warehouse, text_columns
from insightloop.settings import Settings
from insightloop.storage.pseudonym import pseudonym, pseudonym_sql
from insightloop.storage.sql import ident, literal
from insightloop.storage.warehouse import atomic

PREFIX = "enc1:"
#: Columns encrypted at rest: the direct identifiers of the customers table.
ENCRYPTED: dict[str, tuple[str, ...]] = {"customers": ("email", "name")}


def key_ring(settings: Settings) -> list[tuple[str, bytes]]:
    """``[(key id, 32-byte key), ...]`` from the settings, the encrypting key first."""
    ring = []
    for part in (p.strip() for p in settings.encryption_keys.split(",")):
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        try:
            key = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not sep or not kid.isalnum() or len(key) != 32:
            raise ConfigError(f"INSIGHTLOOP_ENCRYPTION_KEYS entry {kid[:20]!r}...: write "
                              "id:base64key with an alphanumeric id and a 32-byte key "
                              "(e.g. `openssl rand -base64 32`)")
        ring.append((kid, key))
    if not ring:
        raise ConfigError("no encryption key: set INSIGHTLOOP_ENCRYPTION_KEYS=id:base64key "
                          "(32 bytes, e.g. `openssl rand -base64 32`)")
    return ring


def encrypt_value(kid: str, key: bytes, text: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode("utf-8"), kid.encode("ascii"))
    return f"{PREFIX}{kid}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def decrypt_value(ring: dict[str, bytes], value: str) -> str:
    """The clear text of an encrypted value (a value without the prefix as it is)."""
    if not value.startswith(PREFIX):
        return value
    kid, _, b64 = value[len(PREFIX):].partition(":")
    if kid not in ring:
        raise ConfigError(f"a value is encrypted with key {kid!r}, which is not in "
                          "INSIGHTLOOP_ENCRYPTION_KEYS; add it back (old keys stay until "
                          "`insightloop privacy rotate-key` has run)")
    raw = base64.b64decode(b64)
    return AESGCM(ring[kid]).decrypt(raw[:12], raw[12:], kid.encode("ascii")).decode("utf-8")


def decrypt_column(settings: Settings, values: list[Any]) -> list[Any]:
    """The clear values of an encrypted column (None and clear text pass through): the one
    helper every service needing an address or a name calls."""
    if not any(isinstance(v, str) and v.startswith(PREFIX) for v in values):
        return values
    ring = dict(key_ring(settings))
    return [decrypt_value(ring, v) if isinstance(v, str) else v for v in values]


def encrypt_columns(ctx: Context, *, rotate: bool = False) -> dict[str, Any]:
    """Encrypt the clear values of :data:`ENCRYPTED` with the first key (``rotate``: also
    re-encrypt those under another key), then rewrite the warehouse file."""
    ring = key_ring(ctx.settings)
    kid, key = ring[0]
    keys = dict(ring)
    done: dict[str, int] = {}
    with ctx.warehouse.connect() as con, atomic(con):
        present = text_columns(con)
        for table, cols in ENCRYPTED.items():
            for col in (c for c in cols if c in present.get(table, ())):
                current = PREFIX + kid + ":"
                where = (f"{ident(col)} IS NOT NULL AND NOT starts_with({ident(col)}, "
                         f"{literal(current)})")
                if not rotate:
                    where += f" AND NOT starts_with({ident(col)}, {literal(PREFIX)})"
                rows = con.execute(f"SELECT rowid, {ident(col)} FROM {ident(table)} "
                                   f"WHERE {where}").fetchall()
                if not rows:
                    continue
                frame = pd.DataFrame({"rid": [r[0] for r in rows], "value": [
                    encrypt_value(kid, key, decrypt_value(keys, r[1])) for r in rows]})
                con.register("__sealed", frame)
                con.execute(f"UPDATE {ident(table)} SET {ident(col)} = s.value FROM __sealed s "
                            f"WHERE {ident(table)}.rowid = s.rid")
                con.unregister("__sealed")
                done[f"{table}.{col}"] = len(rows)
    size = rewrite_warehouse(ctx) if done else 0
    return {"key": kid, "encrypted": done, "rewritten_bytes": size}


__all__ = ["ENCRYPTED", "PREFIX", "decrypt_column", "decrypt_value", "encrypt_columns",
           "encrypt_value", "key_ring", "pseudonym", "pseudonym_sql"]
