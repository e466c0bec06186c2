"""``insightloop ingest TABLE FILE``: load a file into the warehouse with quarantine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from insightloop.cli.app import app
from insightloop.cli.common import JsonOpt, WarehouseOpt, console, print_json, settings_for
from insightloop.errors import ConfigError


def _parse_maps(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        canonical, sep, source = item.partition("=")
        if not sep or not canonical or not source:
            raise ConfigError(f"--map expects CANONICAL=SOURCE, got {item!r}")
        out[canonical.strip()] = source.strip()
    return out


@app.command()
def ingest(
    table: Annotated[str, typer.Argument(help="Canonical table: orders, customers, products, "
                                              "events, reviews, campaigns, sends, consents.")],
    file: Annotated[Path, typer.Argument(help="CSV (any delimiter), Parquet or JSON lines.")],
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="YAML file mapping canonical columns to source columns.")] = None,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help="CANONICAL=SOURCE column mapping; repeatable.")] = None,
    preset: Annotated[str | None, typer.Option(
        help="Known export layout, e.g. online-retail.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).")] = None,
    timestamp_format: Annotated[list[str] | None, typer.Option(
        "--timestamp-format", help="strptime format tried after ISO 8601; repeatable.")] = None,
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Ingest FILE into TABLE: map, validate, quarantine bad rows, upsert by natural key."""
    from insightloop.storage.ingest import ingest_file, load_mapping_file
    from insightloop.storage.warehouse import Warehouse

    settings = settings_for(warehouse)
    cols = load_mapping_file(mapping) if mapping else {}
    cols.update(_parse_maps(map_ or []))
    if delimiter == "\\t":
        delimiter = "\t"
    stages = ("reading", "validating", "deduplicating", "writing", "done")
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=console, transient=True,
                  disable=json_) as progress:
        task = progress.add_task(f"ingest {file.name}", total=len(stages))
        result = ingest_file(
            Warehouse.from_settings(settings), table, file, mapping=cols, preset=preset,
            delimiter=delimiter, timestamp_formats=tuple(timestamp_format or ()),
            on_progress=lambda msg: progress.update(
                task, description=f"{file.name}: {msg}",
                completed=stages.index(msg) if msg in stages else None),
        )
    if json_:
        print_json(result.as_dict())
        return
    grid = Table(title=f"{result.file} → {result.table}", show_header=False)
    for label, value in [("rows in", result.rows_in), ("loaded", result.rows_loaded),
                         ("  of which updated", result.rows_updated),
                         ("quarantined", result.rows_quarantined),
                         ("duplicate (already loaded)", result.rows_duplicate)]:
        grid.add_row(label, f"{value:,}")
    console.print(grid)
    console.print(f"rows in = loaded + quarantined + duplicate: {result.rows_in:,} = "
                  f"{result.rows_loaded:,} + {result.rows_quarantined:,} + "
                  f"{result.rows_duplicate:,}")
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    if result.top_reasons:
        console.print("top quarantine reasons (see table `quarantine`):")
        for reason, n in result.top_reasons:
            console.print(f"  {n:>8,}  {reason}")
