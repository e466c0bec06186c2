"""``insightloop migrate`` and ``insightloop check``: the warehouse file itself.

Write commands migrate on open anyway; ``migrate`` does only that, so a warehouse
from an older release can be upgraded before read-only use. It also upgrades the
operational store (keys, jobs, sessions: :mod:`insightloop.storage.operational`), which
is upgraded on every first use as well. ``check`` verifies the
whole file (header, length, the checksum of every block) without writing.
"""

from __future__ import annotations

import time

from insightloop.cli.app import app
from insightloop.cli.common import JsonOpt, WarehouseOpt, console, context_for, print_json
from insightloop.errors import WarehouseError


@app.command("migrate")
def migrate(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Upgrade the warehouse schema and the operational store to this release (every write
    command, and every use of the store, also does this)."""
    # lazy: the operational store loads SQLAlchemy and Alembic
    from insightloop.storage.operational import migrate_ops

    ctx = context_for(warehouse)
    settings, wh = ctx.settings, ctx.warehouse
    if not wh.exists:
        raise WarehouseError(f"warehouse {wh.path} does not exist; nothing to migrate")
    with wh.connect():
        pass
    if wh.last_migration is None:
        raise WarehouseError(f"warehouse {wh.path} was not opened for writing")
    before, after = wh.last_migration
    ops = migrate_ops(settings)  # the operational store too (keys, jobs, sessions)
    payload = {"warehouse": str(wh.path), "from_schema": before.version,
               "from_release": before.release, "to_schema": after.version,
               "release": after.release, "migrated": before.version != after.version,
               "ops_store": ops.where, "ops_from_revision": ops.before,
               "ops_revision": ops.after}
    if json_:
        print_json(payload)
        return
    if ops.migrated:
        console.print(f"operational store {ops.where} upgraded from revision "
                      f"{ops.before or 'none'} to {ops.after}", highlight=False, soft_wrap=True)
    if payload["migrated"]:
        console.print(f"migrated {wh.path} from schema {before.version} (release "
                      f"{before.release}) to schema {after.version}", highlight=False,
                      soft_wrap=True)
    else:
        console.print(f"{wh.path} is up to date (schema {after.version})", highlight=False,
                      soft_wrap=True)


@app.command("check")
def check(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Verify the warehouse file without writing: header, length, every block's checksum."""
    from insightloop.storage.integrity import check_file, forget_file
    from insightloop.storage.migrations import SCHEMA_VERSION, schema_state

    ctx = context_for(warehouse)
    wh, path = ctx.warehouse, ctx.settings.warehouse
    if not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist; nothing to check")
    forget_file(path)
    start = time.perf_counter()
    check_file(path, checksums=True)  # before DuckDB reads anything
    seconds = time.perf_counter() - start
    with wh.connect(read_only=True) as con:
        state = schema_state(con)
    payload = {"warehouse": str(path), "ok": True, "bytes": path.stat().st_size,
               "check_seconds": round(seconds, 4), "schema": state.version,
               "release": state.release, "current_schema": SCHEMA_VERSION}
    if json_:
        print_json(payload)
        return
    note = "" if state.version == SCHEMA_VERSION else (
        f"; schema {state.version} is older than this release's {SCHEMA_VERSION}: "
        "`insightloop migrate` upgrades it")
    console.print(f"{path}: ok ({payload['bytes']:,} bytes verified in {seconds * 1000:.0f} ms; "
                  f"schema {state.version}, release {state.release}){note}", highlight=False,
                  soft_wrap=True)
