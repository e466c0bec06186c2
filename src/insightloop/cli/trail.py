"""The CLI's audit trail: every command that changes or exports data is appended to the
operational store's audit log (``storage/operational/audit.py``) once it has run.

One entry per run: the actor (``cli:<operating-system user>``), the action (``cli`` and the
command path, e.g. ``cli audiences export``), the target (the command path) and a detail
with the exit code and the outcome (``ok``, ``error``, ``usage``, ``interrupted``). Argument
and option values are never recorded: they may hold a customer id, an address or a file
name. Commands that only read (``show``, ``list``, ``count``, ``evaluate ...``) are not
audited from the CLI (the API logs every request, reads included); ``privacy erase`` writes
its own, richer entry. Every command is in exactly one of :data:`AUDITED`,
:data:`SELF_AUDITED` and :data:`READ_ONLY` (tested), so a new command must be classified.

With the default store (SQLite beside the warehouse) the entry is inserted with the standard
library's ``sqlite3``, so a command such as ``ingest`` does not load SQLAlchemy and Alembic
for it (``tests/cli/test_cli_startup.py``). When that store does not exist yet, the entry
waits in ``<warehouse stem>.audit-pending.jsonl`` beside the warehouse and moves into the log
with the next entry written once the store exists, or when the log is read (``audit list``,
``audit export``: :func:`flush_pending`). Another store (PostgreSQL) is written through the
operational store's own code.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from insightloop.cli.common import EXIT_INTERRUPTED, EXIT_OK, err_console, settings_for
from insightloop.settings import Settings

#: Commands that change the warehouse, the model registry, the operational store, or write
#: or hand out data (exports, reports, outbox messages, pseudonyms).
AUDITED = frozenset({
    "cohorts", "demo", "report", "ingest", "migrate", "train", "score", "quality", "topics",
    "profiles build", "segments build",
    "audiences create", "audiences export", "audiences delete", "audiences from-text",
    "assistant copy", "assistant approve",
    "campaigns send", "campaigns bounce", "campaigns outbox", "campaigns schedule",
    "campaigns tick", "campaigns schedules pause", "campaigns schedules resume",
    "campaigns schedules delete", "campaigns bounces import", "clv build",
    "suppress add", "suppress remove", "suppress import",
    "journeys create", "journeys tick", "sendtime build", "experiment bandit create",
    "forecast build", "inventory plan", "trends build",
    "privacy encrypt", "privacy rotate-key", "privacy pseudonym", "privacy retain",
    "audit export", "recommend build", "sentiment score", "sentiment train",
    "keys create", "keys revoke", "serving build", "uplift build", "uplift plan",
    "uplift audience",
})
#: Reads of customers' personal data: who read them is audited (values never recorded).
PERSONAL_READS = frozenset({
    "profile", "explain", "preview", "campaigns ledger", "consent show", "recommend show",
})
#: Commands whose service writes its own audit entry (with more detail than the trail's).
SELF_AUDITED = frozenset({"privacy erase"})
#: Commands that only read (or touch no warehouse at all).
READ_ONLY = frozenset({
    "check", "similar", "basket-rules", "serve",
    "evaluate aspects", "evaluate assistant", "evaluate clv", "evaluate sendtime",
    "evaluate forecast", "evaluate classify", "evaluate recommend", "evaluate sentiment",
    "evaluate uplift", "segments show", "models list", "models show", "audiences list",
    "audiences show", "audiences count", "audiences columns", "assistant summarize",
    "campaigns list", "campaigns show", "suppress list",
    "journeys list", "journeys show", "experiment analyze", "experiment power",
    "experiment bandit show", "forecast show", "llm serve", "llm settings", "inventory show",
    "inventory whatif", "trends show", "privacy scan", "privacy map", "audit list",
    "sentiment text", "sentiment show", "keys list", "serving status",
})
_USAGE = 2


def command_path(group: Any, argv: list[str]) -> str:
    """The command ``argv`` runs (``"audiences export"``), or "" when it names none."""
    path: list[str] = []
    cmd = group
    for tok in argv:
        if tok == "--":
            break
        sub = (getattr(cmd, "commands", None) or {}).get(tok)
        if sub is None:
            if not tok.startswith("-") and path:
                break
            continue
        path.append(tok)
        cmd = sub
        if not hasattr(sub, "commands"):
            return " ".join(path)
    return ""


def _warehouse(argv: list[str]) -> Path | None:
    for i, tok in enumerate(argv):
        if tok == "--":
            break
        if tok in ("--warehouse", "-w") and i + 1 < len(argv):
            return Path(argv[i + 1])
        if tok.startswith("--warehouse="):
            return Path(tok.partition("=")[2])
    return None


def _outcome(status: int) -> str:
    if status == EXIT_OK:
        return "ok"
    return {_USAGE: "usage", EXIT_INTERRUPTED: "interrupted"}.get(status, "error")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (a bare container)
        return "cli:unknown"


def _store_file(settings: Settings) -> Path | None:
    """The default SQLite store's file (None when ``ops_url`` names another database)."""
    if settings.ops_url:
        return None
    wh = settings.warehouse.expanduser().absolute()
    return wh.parent / f"{wh.stem}.ops.sqlite"


def _pending_file(settings: Settings) -> Path:
    wh = settings.warehouse.expanduser().absolute()
    return wh.parent / f"{wh.stem}.audit-pending.jsonl"


def _insert(db: Path, rows: list[dict[str, Any]]) -> bool:
    """Append ``rows`` to ``audit_log`` in one transaction; False when the store has no
    log yet (never migrated)."""
    con = sqlite3.connect(db, timeout=30)
    try:
        if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'audit_log'").fetchone() is None:
            return False
        with con:
            con.executemany(
                "INSERT INTO audit_log (at, actor, action, target, detail, note) "
                "VALUES (?, ?, ?, ?, ?, NULL)",
                [(r["at"], r["actor"], r["action"], r["target"], json.dumps(r["detail"]))
                 for r in rows])
        return True
    finally:
        con.close()


def _pending(settings: Settings) -> list[dict[str, Any]]:
    path = _pending_file(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def flush_pending(settings: Settings) -> int:
    """Move entries waiting beside the warehouse into the (existing, migrated) default
    store; returns how many moved."""
    db = _store_file(settings)
    rows = _pending(settings)
    if db is None or not rows or not db.exists() or not _insert(db, rows):
        return 0
    _pending_file(settings).unlink()
    return len(rows)


def _write(settings: Settings, row: dict[str, Any]) -> None:
    db = _store_file(settings)
    if db is None:
        # lazy: the operational store loads SQLAlchemy; only a non-default store needs it
        from insightloop.storage.operational import audit, open_ops

        audit.record(open_ops(settings), row["actor"], row["action"], row["target"],
                     row["detail"])
        return
    waiting = _pending(settings)
    if db.exists() and _insert(db, [*waiting, row]):
        if waiting:
            _pending_file(settings).unlink()
        return
    with _pending_file(settings).open("a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")


def record_run(group: Any, argv: list[str], status: int) -> None:
    """Append the run of ``argv`` (ended with ``status``) to the audit log when its command
    changes or exports data, or reads a customer's personal data. A usage error (the command
    never ran) or a warehouse that does not exist is not recorded; a log that cannot be
    written is a warning, not a failure of the command that already ran."""
    path = command_path(group, argv)
    if path not in AUDITED | PERSONAL_READS or status == _USAGE:
        return
    try:
        settings = settings_for(_warehouse(argv))
        if not settings.warehouse.exists():
            return
        now = datetime.now().isoformat(sep=" ", timespec="microseconds")
        _write(settings, {"at": now, "actor": _actor(), "action": f"cli {path}", "target": path,
                          "detail": {"exit": status, "outcome": _outcome(status)}})
    except Exception as exc:  # the command already ran: its result stands, say what failed
        err_console.print(f"[yellow]warning[/]: the audit log did not record `{path}`: {exc}",
                          highlight=False, soft_wrap=True)
