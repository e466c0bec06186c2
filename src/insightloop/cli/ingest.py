"""``insightloop ingest TABLE FILE``: load a file into the warehouse with quarantine."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from insightloop.capabilities.ingest import MAX_QUARANTINE_SHARE, PRESETS, TABLES
from insightloop.cli.app import app
from insightloop.cli.common import (
    JsonOpt,
    WarehouseOpt,
    choice,
    console,
    context_for,
    print_json,
)
from insightloop.errors import ConfigError

if TYPE_CHECKING:
    from insightloop.storage.ingest import IngestResult


def _parse_maps(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        canonical, sep, source = item.partition("=")
        if not sep or not canonical or not source:
            raise ConfigError(f"--map expects CANONICAL=SOURCE, got {item!r}")
        out[canonical.strip()] = source.strip()
    return out


def _expand(files: list[Path]) -> list[Path]:
    """Files as given, with unexpanded glob patterns (quoted ``'exports/*.csv'``) expanded."""
    out: list[Path] = []
    for f in files:
        if any(ch in str(f) for ch in "*?["):
            matches = sorted(Path(f.anchor or ".").glob(str(f.relative_to(f.anchor)))
                             if f.is_absolute() else Path(".").glob(str(f)))
            if not matches:
                raise ConfigError(f"no file matches {str(f)!r}")
            out.extend(matches)
        else:
            out.append(f)
    return out


@app.command()
def ingest(
    table: Annotated[str, typer.Argument(
        parser=choice(TABLES, "TABLE"), help=f"Canonical table: {', '.join(TABLES)}.")],
    files: Annotated[list[Path], typer.Argument(
        help="CSV (any delimiter), Parquet or JSON lines; several files or a quoted glob "
             "load one after another, each in its own transaction.")],
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="YAML file mapping canonical columns to source columns.")] = None,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help="CANONICAL=SOURCE column mapping; repeatable.")] = None,
    preset: Annotated[str | None, typer.Option(
        parser=choice(PRESETS, "--preset"),
        help=f"Known export layout: {', '.join(PRESETS)}.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).")] = None,
    date_format: Annotated[list[str] | None, typer.Option(
        "--date-format", "--timestamp-format",
        help="How dates are read: day-first, month-first, iso or a strptime format like "
             "'%d/%m/%Y %H:%M' (repeatable). Default: decided from the data; a file whose "
             "dates read two ways is refused.")] = None,
    max_quarantine_share: Annotated[float, typer.Option(
        "--max-quarantine-share", min=0.0, max=1.0,
        help="Refuse the load (exit 1, nothing written) when more than this share of the "
             "rows is quarantined, or when no row is valid.")] = MAX_QUARANTINE_SHARE,
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Ingest FILES into TABLE: map, validate, quarantine bad rows, upsert by natural key.

    With --json: one object {"table", "rows_in", "rows_loaded", "rows_quarantined",
    "rows_duplicate", "notes"} (notes: encoding problems, renamed columns, ...); for
    several files the counts are totals and "files" lists each.
    """
    # lazy: the ingest service's context loads the model registry (scipy)
    from insightloop.services.ingest import (
        committed,
        ingest_result,
        load_mapping_file,
        summary,
    )

    ctx = context_for(warehouse)
    cols = load_mapping_file(mapping) if mapping else {}
    cols.update(_parse_maps(map_ or []))
    if delimiter == "\\t":
        delimiter = "\t"
    paths = _expand(files)
    stages = ("reading", "validating", "deduplicating", "writing", "done")
    results: list[IngestResult] = []
    for file in paths:
        with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                      TimeElapsedColumn(), console=console, transient=True,
                      disable=json_) as progress:
            task = progress.add_task(f"ingest {file.name}", total=len(stages))

            def on_progress(msg: str, task: TaskID = task, progress: Progress = progress,
                            name: str = file.name) -> None:
                progress.update(task, description=f"{name}: {msg}",
                                completed=stages.index(msg) if msg in stages else None)

            ingest_id = uuid.uuid4().hex[:12]
            try:
                results.append(ingest_result(
                    ctx, table, file, mapping=cols,
                    preset=preset, delimiter=delimiter,
                    timestamp_formats=tuple(date_format or ()), on_progress=on_progress,
                    ingest_id=ingest_id, max_quarantine_share=max_quarantine_share,
                ))
            except KeyboardInterrupt:
                # Ctrl-C may land after DuckDB finished the COMMIT: report what happened.
                done = committed(ctx, ingest_id)
                if done is None:
                    raise
                results.append(done)
        if not json_:
            _show(results[-1])
    if json_:
        if len(results) == 1:
            print_json(summary(results[0]))
        else:
            total = {k: sum(getattr(r, k) for r in results)
                     for k in ("rows_in", "rows_loaded", "rows_quarantined", "rows_duplicate")}
            print_json({"table": table, **total,
                        "files": [{"file": r.file, **summary(r)} for r in results]})


def _show(result: IngestResult) -> None:
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
