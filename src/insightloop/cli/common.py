"""Options and helpers shared by every command (thin: no business logic here)."""

from __future__ import annotations

import errno
import json
import math
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from insightloop.errors import ConfigError, InputFileError, InsightloopError, SchemaError
from insightloop.settings import Settings, env_flag

if TYPE_CHECKING:
    from insightloop.services.context import Context

__all__ = ["DEBUG_ENV", "describe_error", "env_flag", "error_code", "exit_code"]

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

# log_path=False: user-facing log lines end with the message, not the source file.
console = Console(log_path=False)
err_console = Console(stderr=True, log_path=False)

#: Exit codes of every command (docs/cli.md).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def settings_for(warehouse: Path | None) -> Settings:
    """Resolve settings for a command from its ``--warehouse`` option and the environment."""
    return Settings.load(warehouse=warehouse)


def context_for(warehouse: Path | None) -> Context:
    """The one context of a command: its settings (``--warehouse``, the environment, the
    config file) and the warehouse, model store and engine built from them."""
    # lazy: the context loads the model registry (scipy); `--help` starts without it
    from insightloop.services.context import Context

    return Context.from_settings(settings_for(warehouse))


def choice(values: Sequence[str], name: str) -> Callable[[str], str]:
    """A parser for an option or argument taking one of ``values`` (case-insensitive): a
    value outside them is a usage error (exit 2, with the usage text) at parse time."""
    allowed = {v.lower(): v for v in values}

    def parse(value: str) -> str:
        if str(value).lower() not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(values)}",
                                     param_hint=f"'{name}'")
        return allowed[str(value).lower()]

    return parse


def print_json(payload: Any, *, stderr: bool = False) -> None:
    """Write one JSON object to stdout (``stderr``: to stderr); numpy/pandas scalars and
    dates made plain, NaN and infinities (which JSON cannot hold) as null."""
    stream = sys.stderr if stderr else sys.stdout
    stream.write(json.dumps(_finite(payload), default=_plain, allow_nan=False) + "\n")
    stream.flush()


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _finite(value.tolist())
    if hasattr(value, "item"):
        return _finite(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def exit_code(exc: BaseException) -> int:
    """2 for bad input or options (the user can fix the command), 1 for other errors."""
    return EXIT_USAGE if isinstance(exc, ConfigError | InputFileError | SchemaError) \
        else EXIT_ERROR


def error_code(exc: BaseException) -> str:
    """The ``code`` of a JSON error: the error type in snake case (``config_error``,
    ``not_found_error``, ...), or ``database_error``, ``os_error``, ``internal_error``."""
    if isinstance(exc, InsightloopError):
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()
    if type(exc).__module__.startswith(("duckdb", "_duckdb")):
        return "database_error"
    if isinstance(exc, OSError):
        return "os_error"
    if isinstance(exc, MemoryError):
        return "out_of_memory"
    return "internal_error"


def print_json_error(code: str, message: str) -> None:
    """An error under ``--json``: ``{"error": {"code", "message"}}`` on stderr (stdout
    carries results only, so it stays empty when a command fails)."""
    print_json({"error": {"code": code, "message": message}}, stderr=True)


@contextmanager
def progress_bar(label: str, total: float | None = None, *, enabled: bool = True
                 ) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr (so ``--json`` output stays clean) with elapsed time and,
    once a total is known, the ETA. Yields ``update(message=None, done=None, total=None)``
    for a service's ``on_progress`` callback. Shown only on a terminal."""
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TaskProgressColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=err_console, transient=True,
                  disable=not (enabled and err_console.is_terminal)) as bar:
        task = bar.add_task(label, total=total)

        def update(message: str | None = None, done: float | None = None,
                   total: float | None = None) -> None:
            bar.update(task, description=f"{label}: {message}" if message else label,
                       completed=done, total=total)

        yield update


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
