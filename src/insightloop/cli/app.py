"""The Typer application objects; command modules in this package attach to them."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import typer

app = typer.Typer(
    name="insightloop",
    help="Model-driven marketing intelligence: warehouse, customer 360, value, predictions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
evaluate_app = typer.Typer(
    help="Evaluate a model capability on any dataset in the documented format; prints JSON.",
    no_args_is_help=True,
)
profiles_app = typer.Typer(help="Customer 360 profiles.", no_args_is_help=True)
segments_app = typer.Typer(help="Behavioural segments with strategies.", no_args_is_help=True)
models_app = typer.Typer(help="The model registry.", no_args_is_help=True)

app.add_typer(evaluate_app, name="evaluate")
app.add_typer(profiles_app, name="profiles")
app.add_typer(segments_app, name="segments")
app.add_typer(models_app, name="models")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"insightloop {_package_version()}")
        raise typer.Exit()


def _package_version() -> str:
    try:
        return metadata.version("insightloop")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown (not installed)"


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True,
        help="Print the version and exit."),
    debug: bool = typer.Option(
        False, "--debug",
        help="On an error, print the traceback too (also INSIGHTLOOP_DEBUG=1); without it every "
             "error is one `Error: ...` line. Before or after the command.",
    ),
    warehouse: Path | None = typer.Option(
        None, "--warehouse", "-w", show_default=False,
        help="DuckDB warehouse file, for the command that follows (it may also come after "
             "the command)."),
    json_: bool = typer.Option(
        False, "--json",
        help="The command's output as one JSON object; errors as {\"error\": {\"code\", "
             "\"message\"}} on stderr. Before or after the command."),
) -> None:
    # ``main`` takes --debug out of the arguments wherever it appears and moves
    # --warehouse and --json after the command; these options only document them in --help.
    del version, debug, warehouse, json_
