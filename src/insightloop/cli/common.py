"""Options and helpers shared by every command (thin: no business logic here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from insightloop.settings import Settings

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
