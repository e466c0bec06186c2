"""``insightloop llm serve``: the packaged model (or the rule-based provider) behind an
OpenAI-compatible ``/v1/chat/completions`` + ``/v1/models`` server, for any client and for
the assistant's own endpoint provider, with no network beyond the interface it binds."""

from __future__ import annotations

from typing import Annotated

import typer

from insightloop.cli.app import app
from insightloop.cli.common import JsonOpt, choice, console, print_json

llm_app = typer.Typer(help="The language model: an OpenAI-compatible local server.",
                      no_args_is_help=True)
app.add_typer(llm_app, name="llm")


@llm_app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8080,
    provider: Annotated[str, typer.Option(
        "--provider", parser=choice(("local", "rule"), "--provider"),
        help="local (packaged SmolLM2-135M in numpy) | rule (the deterministic parser).")
                        ] = "local",
    timeout: Annotated[float, typer.Option("--timeout", min=1.0,
                                           help="Seconds one request may take.")] = 60.0,
) -> None:
    """Serve /v1/chat/completions and /v1/models until Ctrl-C."""
    # lazy: the assistant service loads the audiences service (SQLAlchemy) and the providers
    from insightloop.services.assistant import llm_settings, provider_for, serve_provider

    settings = llm_settings(provider)
    name = "smollm2-135m-instruct" if provider == "local" else "insightloop-rules"
    console.print(f"serving {name} at http://{host}:{port}/v1 (Ctrl-C stops)")
    serve_provider(provider_for(settings), name, host, port, timeout)


@llm_app.command("settings")
def settings_cmd(
    provider: Annotated[str | None, typer.Option(
        "--provider", parser=choice(("rule", "local", "endpoint"), "--provider"),
        help="As a command's --provider would override it.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The effective language-model settings and where each came from (argument,
    environment, the config file's [insightloop.llm], default); never the endpoint key."""
    # lazy: the assistant service loads the audiences service (SQLAlchemy) and the providers
    from insightloop.services.assistant import llm_settings_report

    out = llm_settings_report(provider)
    if json_out:
        print_json(out)
        return
    for key, value in out["values"].items():
        console.print(f"{key:<20} {value!s:<32} [dim]{out['sources'][key]}[/]",
                      highlight=False, markup=True)
    key_env = out["values"]["key_env"]
    console.print(f"{'endpoint key':<20} {'set' if out['key_set'] else 'not set':<32} "
                  f"[dim]${key_env} (the value is never shown)[/]", highlight=False)
