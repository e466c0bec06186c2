"""Protection of personal data: keyed pseudonyms (HMAC-SHA256, :mod:`insightloop.storage.
pseudonym`) and personal columns encrypted at rest (AES-256-GCM, a key id in every value,
rotation: :mod:`insightloop.storage.crypto`, where ingest seals what it loads), re-exported
here.

:func:`encrypt_columns` with ``rotate`` re-encrypts every value not under the first key,
then the warehouse file is rewritten so the old ciphertext and plaintext are gone from its
free blocks. Code that needs the clear value (an erasure collecting the e-mail, a campaign
sending to it) calls :func:`decrypt_column`; nothing else sees it (the API and the
dashboard never return these columns).
"""

from __future__ import annotations

from typing import Any

from insightloop.services.context import Context
from insightloop.services.privacy.warehouse import rewrite_warehouse, text_columns
from insightloop.storage.crypto import (
    ENCRYPTED,
    PREFIX,
    decrypt_column,
    decrypt_value,
    encrypt_value,
    key_ring,
    seal_columns,
    seal_quarantine,
)
from insightloop.storage.pseudonym import pseudonym, pseudonym_sql
from insightloop.storage.warehouse import atomic


def encrypt_columns(ctx: Context, *, rotate: bool = False) -> dict[str, Any]:
    """Encrypt the clear values of :data:`ENCRYPTED` and the quarantined lines of those
    tables with the first key (``rotate``: also re-encrypt those under another key), then
    rewrite the warehouse file."""
    kid = key_ring(ctx.settings)[0][0]
    done: dict[str, int] = {}
    with ctx.warehouse.connect() as con, atomic(con):
        present = text_columns(con)
        for table, cols in ENCRYPTED.items():
            mine = tuple(c for c in cols if c in present.get(table, ()))
            done.update(seal_columns(con, ctx.settings, table, mine, rotate=rotate))
        done.update(seal_quarantine(con, ctx.settings, rotate=rotate))
    size = rewrite_warehouse(ctx) if done else 0
    return {"key": kid, "encrypted": done, "rewritten_bytes": size}


__all__ = ["ENCRYPTED", "PREFIX", "decrypt_column", "decrypt_value", "encrypt_columns",
           "encrypt_value", "key_ring", "pseudonym", "pseudonym_sql"]
