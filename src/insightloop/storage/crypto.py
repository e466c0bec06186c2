"""Personal columns encrypted at rest (AES-256-GCM, a key id in every value, rotation), at
the storage layer so ingest can seal what it loads and campaigns can open an address.

Encrypted values read ``enc1:<key id>:<base64(nonce | ciphertext | tag)>`` (the key id is
also the associated data, so a value cannot be moved to another key id). The keys come from
``Settings.encryption_keys`` (``INSIGHTLOOP_ENCRYPTION_KEYS="k2:<base64>,k1:<base64>"``):
the first encrypts, every one decrypts. Code that needs the clear value calls
:func:`decrypt_column`; nothing else sees it.

AES-GCM runs per value (``cryptography`` has no batch call): a list comprehension over the
column's values, the one Python loop here.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any

import duckdb
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from insightloop.errors import ConfigError
from insightloop.settings import Settings
from insightloop.storage.sql import ident, literal
from insightloop.storage.warehouse import Warehouse, atomic, has_table

PREFIX = "enc1:"
#: Columns encrypted at rest: the direct identifiers of the customers table (free text such
#: as review text stays clear: the models read it).
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


def seal_columns(con: duckdb.DuckDBPyConnection, settings: Settings, table: str,
                 columns: tuple[str, ...], rotate: bool = False,
                 only: str | None = None) -> dict[str, int]:
    """Encrypt, inside ``con``'s transaction, the clear values of ``columns`` of ``table``
    with the first key (``rotate``: also those under another key); ``{table.column: n}``.
    ``only``: a SQL condition (built by the caller from literals) limiting the rows."""
    ring = key_ring(settings)
    kid, key = ring[0]
    keys = dict(ring)
    done: dict[str, int] = {}
    for col in columns:
        where = (f"{ident(col)} IS NOT NULL AND NOT starts_with({ident(col)}, "
                 f"{literal(PREFIX + kid + ':')})" + (f" AND ({only})" if only else ""))
        if not rotate:
            where += f" AND NOT starts_with({ident(col)}, {literal(PREFIX)})"
        rows = con.execute(f"SELECT rowid, {ident(col)} FROM {ident(table)} WHERE {where}"
                           ).fetchall()
        if not rows:
            continue
        sealed = [encrypt_value(kid, key, decrypt_value(keys, r[1])) for r in rows]
        # both lists bound as two parameters and unnested: one UPDATE, no row loop in SQL
        con.execute(f"UPDATE {ident(table)} SET {ident(col)} = s.value FROM (SELECT "
                    "unnest(?::BIGINT[]) AS rid, unnest(?::VARCHAR[]) AS value) s "
                    f"WHERE {ident(table)}.rowid = s.rid", [[r[0] for r in rows], sealed])
        done[f"{table}.{col}"] = len(rows)
    return done


def seal_quarantine(con: duckdb.DuckDBPyConnection, settings: Settings,
                    tables: tuple[str, ...] = tuple(ENCRYPTED), rotate: bool = False
                    ) -> dict[str, int]:
    """Encrypt the raw text of the quarantined records of ``tables`` (those with
    :data:`ENCRYPTED` columns): a rejected customers line holds the same e-mail and name
    as a loaded one. The reason stays clear (it names the column and the rule, not these
    columns' values), so the quarantine can still be summarised and cleaned up."""
    tables = tuple(t for t in tables if t in ENCRYPTED)
    if not tables or not has_table(con, "quarantine"):
        return {}
    only = "table_name IN (" + ", ".join(literal(t) for t in tables) + ")"
    return seal_columns(con, settings, "quarantine", ("raw",), rotate=rotate, only=only)


def rewrite_file(warehouse: Warehouse, path: Path) -> int:
    """Copy the warehouse into a new file (``COPY FROM DATABASE``), fsync it and rename it
    over the old one while the write lock is held, so no deleted or overwritten value
    survives in free blocks; returns the new file's size in bytes."""
    tmp = path.with_name(path.name + ".erase-tmp")
    tmp.unlink(missing_ok=True)
    with warehouse.connect() as con:
        con.execute("CHECKPOINT")
        name = con.execute("SELECT current_database()").fetchone()
        assert name is not None
        con.execute(f"ATTACH {literal(str(tmp))} AS __erase_copy")
        try:
            con.execute(f"COPY FROM DATABASE {ident(str(name[0]))} TO __erase_copy")
        finally:
            con.execute("DETACH __erase_copy")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    Path(str(path) + ".wal").unlink(missing_ok=True)
    return path.stat().st_size


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def seal_ingested(warehouse: Warehouse, settings: Settings, table: str, *,
                  rewrite: bool = True) -> dict[str, int]:
    """After an ingest into ``table``: when an encryption key is set, encrypt the clear
    values of its :data:`ENCRYPTED` columns and its quarantined lines, and (``rewrite``)
    rewrite the file so the clear bytes the load wrote are gone; nothing without a key or
    for another table. A scratch file deleted right after skips the rewrite."""
    columns = ENCRYPTED.get(table, ())
    if not settings.encryption_keys or not columns or not isinstance(warehouse.path, Path):
        return {}
    with warehouse.connect() as con, atomic(con):
        if not has_table(con, table):
            return {}
        present = {r[0] for r in con.execute(f"DESCRIBE {ident(table)}").fetchall()}
        done = seal_columns(con, settings, table, tuple(c for c in columns if c in present))
        done.update(seal_quarantine(con, settings, (table,)))
    if done and rewrite:
        rewrite_file(warehouse, warehouse.path)
    return done
