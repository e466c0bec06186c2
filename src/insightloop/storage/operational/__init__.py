"""The operational store: API keys, jobs, sessions, rate limits and campaign state in a
transactional database shared by every server process (SQLAlchemy 2 + Alembic).

:func:`open_ops` gives the process's store for some settings, upgraded to this release's
schema on first use (see :mod:`.schema`), with the previous release's warehouse keys
imported once (:mod:`.keys`). See ``docs/operations.md``.
"""

from __future__ import annotations

import threading

from insightloop.settings import Settings
from insightloop.storage.operational.engine import OpsStore, ops_url, store_for
from insightloop.storage.operational.keys import import_warehouse_keys
from insightloop.storage.operational.schema import OpsMigration, upgrade

__all__ = ["OpsMigration", "OpsStore", "migrate_ops", "open_ops", "ops_url"]
_ready: set[tuple[str, str]] = set()
_ready_lock = threading.Lock()


def migrate_ops(settings: Settings) -> OpsMigration:
    """Upgrade the store of ``settings`` and import the warehouse's old keys (idempotent)."""
    store = store_for(ops_url(settings))
    out = upgrade(store)
    import_warehouse_keys(store, settings.warehouse)
    return out


def open_ops(settings: Settings) -> OpsStore:
    """The store of ``settings``, migrated (once per process) and ready to use."""
    url = ops_url(settings)
    store = store_for(url)
    key = (url, str(settings.warehouse))
    if key not in _ready:
        with _ready_lock:
            if key not in _ready:
                migrate_ops(settings)
                _ready.add(key)
    return store
