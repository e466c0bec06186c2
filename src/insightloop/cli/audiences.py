"""Audiences: ``audiences create|list|show|count|export|delete|columns``, filters in the
audience language (``docs/audiences.md``); a bad filter exits 2 naming its position."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from insightloop.cli.app import app
from insightloop.cli.common import JsonOpt, WarehouseOpt, choice, console, context_for, print_json

audiences_app = typer.Typer(
    help="Saved, versioned audiences: filters over customer_360, counted live, exported.",
    no_args_is_help=True)
app.add_typer(audiences_app, name="audiences")

NameArg = Annotated[str, typer.Argument(help="Audience name: letters, digits, _ . : -")]
WhereOpt = Annotated[str, typer.Option(
    "--where", help="Filter, e.g. \"recency_days > 90 and segment = 'at risk'\" "
                    "(see `insightloop audiences columns` and docs/audiences.md).")]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return ""


@audiences_app.command("create")
def create(name: NameArg, where: WhereOpt,
           description: Annotated[str, typer.Option("--description",
                                                    help="What the audience is for.")] = "",
           warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Save a filter under NAME (a new version when NAME exists with another filter)."""
    # lazy: the audiences service loads SQLAlchemy (operational store) and the model registry
    from insightloop.services.audiences import create_audience

    out: Any = create_audience(context_for(warehouse), name, where, description, _user())
    if json_out:
        print_json(out)
        return
    what = "saved" if out["created"] else "unchanged (same filter)"
    console.print(f"audience [bold]{escape(name)}[/] v{out['version']} {what}: "
                  f"{out['count']:,} customers now  [dim]{escape(out['canonical'])}[/]")


@audiences_app.command("list")
def list_(warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Every saved audience (latest version) with its live count."""
    # lazy: the audiences service loads SQLAlchemy (operational store) and the model registry
    from insightloop.services.audiences import list_audiences

    rows: Any = list_audiences(context_for(warehouse))
    if json_out:
        print_json({"audiences": rows})
        return
    if not rows:
        console.print("no saved audience yet: `insightloop audiences create NAME --where ...`")
        return
    grid = Table(title="saved audiences")
    for col in ("name", "version", "customers now", "filter"):
        grid.add_column(col, justify="right" if col in ("version", "customers now") else "left")
    for row in rows:
        now = f"{row['count']:,}" if row["count"] is not None else "[red]error[/]"
        grid.add_row(escape(row["name"]), str(row["version"]), now, escape(row["canonical"]))
    console.print(grid)
    for row in rows:
        if row["live_error"]:
            console.print(f"[red]{escape(row['name'])}[/]: {escape(row['live_error'])}")


@audiences_app.command("show")
def show(name: NameArg,
         version: Annotated[int | None, typer.Option("--version", min=1,
                                                     help="A past version.")] = None,
         sample: Annotated[int, typer.Option("--sample", min=0, max=1000,
                                             help="Members to show.")] = 10,
         warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """An audience's filter, versions, live count and a sample of its members."""
    # lazy: the audiences service loads SQLAlchemy (operational store) and the model registry
    from insightloop.services.audiences import get_audience

    info: Any = get_audience(context_for(warehouse), name, version, sample=sample)
    if json_out:
        print_json(info)
        return
    console.print(f"[bold]{escape(name)}[/] v{info['version']} "
                  f"({len(info['versions'])} version(s)): {escape(info['canonical'])}")
    if info["description"]:
        console.print(escape(info["description"]))
    if info["live_error"]:
        console.print(f"[red]the filter no longer runs:[/] {escape(info['live_error'])}")
    else:
        console.print(f"{info['count']:,} customers now (when saved: {info['last_count']:,})")
        console.print("members: " + ", ".join(escape(m) for m in info["sample"]))
    for v in info["versions"]:
        console.print(f"  v{v['version']} {v['created_at']} {escape(v['created_by'])}: "
                      f"{escape(v['canonical'])}")


@audiences_app.command("count")
def count(where: WhereOpt,
          sample: Annotated[int, typer.Option("--sample", min=0, max=1000,
                                              help="Members to show.")] = 10,
          warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Count the customers a filter selects now (nothing is saved)."""
    # lazy: the audiences service loads SQLAlchemy (operational store) and the model registry
    from insightloop.services.audiences import describe_audience

    out: Any = describe_audience(context_for(warehouse), where, sample=sample)
    if json_out:
        print_json(out)
        return
    console.print(f"{out['count']:,} of {out['total']:,} customers  "
                  f"[dim]{escape(out['canonical'])}[/]")
    if out["sample"]:
        console.print("members: " + ", ".join(escape(m) for m in out["sample"]))


@audiences_app.command("export")
def export(name: NameArg,
           output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
           fmt: Annotated[str | None, typer.Option(
               "--format", parser=choice(("csv", "parquet"), "--format"),
               help="csv | parquet (default: from the file's extension, else csv).")] = None,
           column: Annotated[list[str] | None, typer.Option(
               "--column", help="Column to add after customer_id (repeatable); personal "
                                "columns such as email only when named here.")] = None,
           version: Annotated[int | None, typer.Option("--version", min=1,
                                                       help="A past version.")] = None,
           purpose: Annotated[str, typer.Option(
               "--purpose", help="What the file is for: customers who withdrew consent for "
                                 "this purpose are left out.")] = "marketing",
           warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Write an audience's members (customer_id and the chosen columns) to a file; those who
    withdrew consent for the purpose are left out."""
    # lazy: the exports service loads SQLAlchemy (operational store) and the model registry
    from insightloop.services.exports import export_audience

    chosen: Any = fmt or ("parquet" if output.suffix.lower() == ".parquet" else "csv")
    out: Any = export_audience(context_for(warehouse), name, output, chosen,
                               columns=column or (), version=version, purpose=purpose)
    if json_out:
        print_json(out)
        return
    console.print(f"wrote {out['rows']:,} customers of [bold]{escape(name)}[/] "
                  f"v{out['version']} to {escape(out['path'])} ({', '.join(out['columns'])}); "
                  f"{out['excluded_for_consent']:,} left out: consent withdrawn for "
                  f"{escape(purpose)}")


@audiences_app.command("delete")
def delete(name: NameArg, warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Delete a saved audience and all its versions."""
    # lazy: the audiences service loads SQLAlchemy (operational store) and the model registry
    from insightloop.services.audiences import delete_audience

    out: Any = delete_audience(context_for(warehouse), name)
    if json_out:
        print_json(out)
        return
    console.print(f"deleted audience [bold]{escape(name)}[/] ({out['versions']} version(s))")


@audiences_app.command("columns")
def columns(warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """The columns a filter may use, with their types, and the friendly aliases."""
    # lazy: the audiences service loads SQLAlchemy (operational store) and the model registry
    from insightloop.services.audiences import ALIASES, audience_schema, column_kind

    schema = audience_schema(context_for(warehouse))
    aliases = {a: t for a, t in ALIASES.items() if t in schema and a not in schema}
    if json_out:
        print_json({"columns": schema, "aliases": aliases})
        return
    grid = Table(title="filterable columns")
    for col in ("column", "type", "compare with", "aliases"):
        grid.add_column(col)
    for name, kind in schema.items():
        names = ", ".join(a for a, t in aliases.items() if t == name)
        grid.add_row(name, kind, column_kind(kind), names)
    console.print(grid)
