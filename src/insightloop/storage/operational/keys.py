"""API key rows in the operational store, and the one-time import of the keys that the
previous release kept in the warehouse (DuckDB table ``api_keys``)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import Connection, insert, select, update

from insightloop.errors import WarehouseError
from insightloop.storage.operational.access import bump, counter
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import ApiKey
from insightloop.storage.warehouse import Warehouse, has_table

log = logging.getLogger("insightloop.ops")
KEYS_COUNTER = "keys"
COLUMNS = (ApiKey.key_id, ApiKey.salt, ApiKey.key_hash, ApiKey.role, ApiKey.name,
           ApiKey.created_at, ApiKey.revoked_at)


def insert_key(store: OpsStore, row: dict[str, Any]) -> None:
    with store.write() as conn:
        conn.execute(insert(ApiKey).values(**row))
        bump(conn, KEYS_COUNTER)


def key_rows(store: OpsStore) -> list[tuple[Any, ...]]:
    """Every key as ``(key_id, salt, key_hash, role, name, created_at, revoked_at)``."""
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(
            select(*COLUMNS).order_by(ApiKey.created_at, ApiKey.key_id))]


def revoke(store: OpsStore, key_id: str, when: datetime) -> bool:
    """Revoke ``key_id`` (kept revoked if it already was); False when there is no such key."""
    with store.write() as conn:
        found = conn.execute(select(ApiKey.revoked_at).where(ApiKey.key_id == key_id)).first()
        if found is None:
            return False
        if found[0] is None:
            conn.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(revoked_at=when))
            bump(conn, KEYS_COUNTER)
    return True


def keys_version(conn: Connection) -> int:
    return counter(conn, KEYS_COUNTER)


def _legacy_rows(warehouse: Path) -> list[tuple[Any, ...]] | None:
    """The warehouse's ``api_keys`` rows (None when there is no warehouse or it cannot be
    read just now: the import is tried again at the next open)."""
    wh = Warehouse(warehouse)
    if not wh.exists:
        return None
    try:
        with wh.connect(read_only=True) as con:
            if not has_table(con, "api_keys"):
                return []
            return [tuple(r) for r in con.execute(
                "SELECT key_id, salt, key_hash, role, coalesce(name, ''), created_at, "
                "revoked_at FROM api_keys ORDER BY created_at, key_id").fetchall()]
    except (duckdb.Error, WarehouseError) as exc:  # held by a writer: try at the next open
        log.warning("warehouse keys not imported yet (%s)", type(exc).__name__)
        return None


def import_warehouse_keys(store: OpsStore, warehouse: Path) -> int:
    """Copy the keys of a previous release's warehouse into the store, once; returns how many
    were new. Idempotent: a key already in the store (maybe revoked since) is left alone."""
    flag = "keys_imported:" + hashlib.sha256(
        str(warehouse.expanduser().absolute()).encode()).hexdigest()[:32]
    with store.read() as conn:
        if counter(conn, flag):
            return 0
    rows = _legacy_rows(warehouse)
    if rows is None:
        return 0
    added = 0
    with store.write(lock="api_keys") as conn:
        known = {r[0] for r in conn.execute(select(ApiKey.key_id))}
        fresh = [dict(zip([c.key for c in COLUMNS], r, strict=True)) for r in rows
                 if r[0] not in known]
        if fresh:
            conn.execute(insert(ApiKey), fresh)
            bump(conn, KEYS_COUNTER)
            added = len(fresh)
        bump(conn, flag)
    if added:
        log.info("imported %d API keys from the warehouse into the operational store", added)
    return added
