"""Options and helpers shared by every command (thin: no business logic here)."""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from insightloop.errors import InsightloopError
from insightloop.settings import Settings, env_flag

if TYPE_CHECKING:
    from insightloop.services.context import Context

__all__ = ["DEBUG_ENV", "describe_error", "env_flag"]

DEBUG_ENV = "INSIGHTLOOP_DEBUG"

WarehouseOpt = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        "-w",
        help="DuckDB warehouse file (default: $INSIGHTLOOP_WAREHOUSE or "
        ".insightloop/warehouse.duckdb).",
        show_default=False,
    ),
]
UnusedWarehouseOpt = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        "-w",
        help="Accepted for uniformity with every other command; evaluation reads only --data "
        "and never touches a warehouse.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON object.")]

console = Console()
err_console = Console(stderr=True)


def settings_for(warehouse: Path | None) -> Settings:
    """Resolve settings for a command from its ``--warehouse`` option and the environment."""
    return Settings.load(warehouse=warehouse)


def context_for(warehouse: Path | None) -> Context:
    """The one context of a command: its settings (``--warehouse``, the environment, the
    config file) and the warehouse, model store and engine built from them."""
    # lazy: the context loads the model registry (scipy); `--help` starts without it
    from insightloop.services.context import Context

    return Context.from_settings(settings_for(warehouse))


def print_json(payload: Any) -> None:
    """Write one JSON object to stdout (numpy/pandas scalars and dates made plain)."""
    sys.stdout.write(json.dumps(payload, default=_plain, allow_nan=False) + "\n")
    sys.stdout.flush()


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def describe_error(exc: BaseException) -> str:
    """One line for any error: what happened and what to do (no traceback)."""
    if isinstance(exc, InsightloopError):
        return f"{exc} ({type(exc).__name__})"
    if type(exc).__module__.startswith(("duckdb", "_duckdb")):
        return _duckdb_error(exc)
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, MemoryError):
        return ("out of memory; lower INSIGHTLOOP_MEMORY_LIMIT (DuckDB then spills to disk) or "
                "free memory and rerun")
    return (f"unexpected {type(exc).__name__}: {_first_line(exc)}; this is a bug in "
            "insightloop: rerun with --debug and report the traceback")


def _duckdb_error(exc: BaseException) -> str:
    from insightloop.storage.integrity import is_damage

    text = _first_line(exc)
    if is_damage(exc):
        return (f"a warehouse file is damaged ({text}); restore it from a backup, or rebuild it "
                "from your source files with `insightloop ingest`")
    if "could not set lock" in text.lower():
        return (f"the warehouse is in use by another process ({text}); wait for it to finish "
                "or stop it")
    if "no space left" in text.lower() or "disk full" in text.lower():
        return (f"no space left on the device ({text}); free space or move the warehouse; the "
                "unfinished write was rolled back")
    if "out of memory" in text.lower():
        return (f"DuckDB ran out of memory ({text}); lower INSIGHTLOOP_MEMORY_LIMIT or free "
                "memory")
    if text.startswith(("Binder Error", "Catalog Error")):
        return (f"the warehouse lacks what this command reads ({text}); a table built by an "
                "older release or not built yet: run `insightloop migrate`, then the table's "
                "build command (e.g. `insightloop profiles build`)")
    return (f"the warehouse query failed: {text}; rerun with --debug for the traceback")


def _os_error(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"no space left on the device writing{where}; free space or point --warehouse / "
                "INSIGHTLOOP_REPORTS elsewhere; an unfinished warehouse write was rolled back")
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return (f"cannot write or read{where}: {reason}; fix the permissions or choose another "
                "location")
    if isinstance(exc, FileNotFoundError):
        return f"no such file or folder:{where}; check the path"
    if isinstance(exc, IsADirectoryError):
        return f"{where.strip()} is a folder; give a file"
    return f"{reason}{':' + where if where else ''}"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
