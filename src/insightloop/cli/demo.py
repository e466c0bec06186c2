"""``insightloop demo`` and ``insightloop report``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from insightloop.capabilities import stages
from insightloop.cli.app import app
from insightloop.cli.common import (
    JsonOpt,
    WarehouseOpt,
    console,
    context_for,
    err_console,
    print_json,
    progress_bar,
)

DEMO_WAREHOUSE = Path("insightloop_demo") / "warehouse.duckdb"


@app.command()
def demo(warehouse: WarehouseOpt = None, json_: JsonOpt = False,
         no_serve: Annotated[bool, typer.Option(
             "--no-serve", help="Stop after the report instead of serving the dashboard.")
         ] = False,
         host: Annotated[str, typer.Option("--host", help="Dashboard interface.")
                         ] = "127.0.0.1",
         port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                           help="Dashboard port.")] = 8000) -> None:
    """Run the whole loop on the bundled Online Retail sample, write the HTML report,
    then serve the dashboard and API on it (Ctrl-C stops; --no-serve skips).

    Uses --warehouse or $INSIGHTLOOP_WAREHOUSE when given, else ./insightloop_demo/.
    """
    _demo(warehouse, json_)
    if not no_serve:
        _serve_demo(warehouse if warehouse is not None or os.environ.get(
            "INSIGHTLOOP_WAREHOUSE") else DEMO_WAREHOUSE, host, port)


def _serve_demo(warehouse: Path | None, host: str, port: int) -> None:
    """Create a read key for the dashboard, print it with the address, and serve."""
    from insightloop.cli.serve import run_server
    from insightloop.services.keys import create_key

    ctx = context_for(warehouse)
    settings = ctx.settings
    key = create_key(ctx, "read", "demo dashboard")["key"]
    err_console.print(f"[bold green]dashboard:[/] http://{host}:{port}/  "
                      f"(API docs: http://{host}:{port}/api/docs)", highlight=False)
    err_console.print(f"[bold green]read key:[/] {key}", highlight=False, soft_wrap=True)
    err_console.print("log in with the key; Ctrl-C stops the server", highlight=False)
    run_server(settings, host, port)


def _demo(warehouse: Path | None, json_: bool) -> None:
    from insightloop.report.builder import write_report
    from insightloop.services.demo import run_demo

    if warehouse is None and not os.environ.get("INSIGHTLOOP_WAREHOUSE"):
        warehouse = DEMO_WAREHOUSE
    ctx = context_for(warehouse)
    if json_:
        result = run_demo(ctx)
        report_path = write_report(ctx)
        print_json({"warehouse": str(result.warehouse), "report": str(report_path),
                    **result.steps})
        return
    done = [0]
    with progress_bar("demo", len(stages()) + 1) as update:

        def on_step(message: str) -> None:
            update(message, done=done[0])
            done[0] += 1
            console.log(message)

        result = run_demo(ctx, on_step=on_step)
        on_step("writing the HTML report")
        report_path = write_report(ctx)
    ing = result.steps["ingest"]
    console.print(f"ingested {ing['rows_in']:,} sample rows: {ing['rows_loaded']:,} loaded, "
                  f"{ing['rows_quarantined']:,} quarantined, "
                  f"{ing['rows_duplicate']:,} already there")
    console.print(f"{result.steps['profiles']['customers']:,} customer profiles in "
                  f"{result.warehouse}")
    console.print(f"[bold green]report:[/] {report_path.resolve()}")


@app.command()
def report(
    warehouse: WarehouseOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="HTML file to write.")] = None,
) -> None:
    """Write the self-contained HTML report from what the warehouse holds."""
    from insightloop.report.builder import write_report

    path = write_report(context_for(warehouse), output)
    console.print(f"report: {path.resolve()}")
