"""The Typer application objects; command modules in this package attach to them."""

from __future__ import annotations

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


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug",
        help="On an error, print the traceback too (also INSIGHTLOOP_DEBUG=1); without it every "
             "error is one `Error: ...` line.",
    ),
) -> None:
    # ``main`` takes --debug out of the arguments wherever it appears; this option only
    # documents it in --help.
    del debug
