"""``insightloop privacy erase`` (proven erasure of one customer) and ``insightloop audit
list|export`` (the append-only audit log). See ``docs/privacy.md``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from insightloop.cli.app import app
from insightloop.cli.common import JsonOpt, WarehouseOpt, console, context_for, print_json
from insightloop.cli.trail import flush_pending
from insightloop.errors import ConfigError

if TYPE_CHECKING:
    from insightloop.services.context import Context

privacy_app = typer.Typer(help="Personal data: proven erasure.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
app.add_typer(audit_app, name="audit")

SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="Entries at or after this time (YYYY-MM-DD or ISO date-time).")]
ActorOpt = Annotated[str | None, typer.Option(
    "--actor", help="Entries by this actor only (an API key id, or `cli`).")]


def _rebuilder(ctx: Context) -> Callable[[Context], object]:
    """What the erasure writes again after removing it: the HTML report and the serving
    store, each when it existed before."""
    # lazy: the serving service loads the recommender code (numpy, scipy)
    from insightloop.services.serving import build_store, store_path

    had_report = (Path(ctx.settings.reports_dir) / "report.html").exists()
    had_store = store_path(ctx).exists()

    def rebuild(erased: Context) -> object:
        if had_report:
            # lazy: the report pulls in plotly; only an erasure that had a report needs it
            from insightloop.report.builder import write_report

            write_report(erased)
        return build_store(erased) if had_store else None

    return rebuild


@privacy_app.command("erase")
def erase(customer_id: Annotated[str, typer.Argument(help="The customer id, as ingested.")],
          warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Erase one customer from every table, model, file and the operational store, rewrite
    the storage so the bytes are gone, and verify (resumable: run it again after a crash)."""
    # lazy: the erasure loads the serving, registry and customer services (scipy, numpy)
    from insightloop.services.privacy import erase_customer

    ctx = context_for(warehouse)
    result = erase_customer(ctx, customer_id, actor="cli", rebuild=_rebuilder(ctx))
    proof = result["verification"]
    if json_:
        print_json(result)
    else:
        wh = result["warehouse"]
        state = "already erased; verified again" if result["already_erased"] else (
            "resumed and completed" if result["resumed"] else "erased")
        console.print(f"request {result['request']}: {state} in {result['seconds']} s")
        for label, counts in (("deleted", wh.get("deleted", {})),
                              ("anonymised", wh.get("anonymised", {})),
                              ("masked in free text", wh.get("scrubbed", {}))):
            shown = {k: v for k, v in counts.items() if v}
            if shown:
                console.print(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
        for model in result["models_retired"]:
            console.print(f"  model {model['model']} {model['version']} retired: retrain with "
                          f"`{model['retrain']}`")
        console.print(f"  serving store: {result['serving']}, built again if it existed; "
                      f"files removed: {len(result['files_removed'])}")
        console.print("verified: nothing left (tables, operational store, files; API 404)"
                      if proof["clean"] else f"[red]NOT clean:[/] {json.dumps(_left(proof))}")
    if not proof["clean"]:
        raise typer.Exit(1)


@privacy_app.command("scan")
def scan(table: Annotated[str | None, typer.Option(
             "--table", help="Scan every text column of this table (default: the declared "
             "personal columns of every table).")] = None,
         warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Detect personal data in free text: e-mail, phone numbers (China, UK, US), Chinese ID
    numbers (checksum verified), customer names and Chinese person names."""
    # lazy: the privacy services load the serving and model registry code (numpy, scipy)
    from insightloop.services.privacy import scan_personal

    result = scan_personal(context_for(warehouse), table)
    if json_:
        print_json(result)
        return
    for name, cols in result["found"].items():
        for col, kinds in cols.items():
            console.print(f"{name}.{col}: " + ", ".join(f"{k} {v:,} rows"
                                                       for k, v in kinds.items()),
                          highlight=False)
    if not result["found"]:
        console.print("no personal data detected in the scanned columns")


@privacy_app.command("map")
def personal_map(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Where personal data lives: declared customer and personal columns per table, rows,
    and what the scan detects in them."""
    # lazy: the privacy services load the serving and model registry code (numpy, scipy)
    from insightloop.services.privacy import personal_map as build_map

    result = build_map(context_for(warehouse))
    if json_:
        print_json(result)
        return
    for name, t in result["tables"].items():
        if t["customer"] or t["personal"]:
            detected = ", ".join(f"{c}: {sorted(k)}" for c, k in t["detected"].items())
            console.print(f"{name} ({t['capability']}, {t['rows']:,} rows): customer "
                          f"{t['customer'] or '-'}; personal {', '.join(t['personal']) or '-'}"
                          + (f"; detected {detected}" if detected else ""), highlight=False)
    if result["undeclared"]:
        console.print(f"[yellow]undeclared tables:[/] {', '.join(result['undeclared'])}")


@privacy_app.command("encrypt")
def encrypt(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Encrypt the personal columns (customers.email, customers.name) at rest with the first
    key of INSIGHTLOOP_ENCRYPTION_KEYS, then rewrite the warehouse file."""
    _encrypt(warehouse, json_, rotate=False)


@privacy_app.command("rotate-key")
def rotate_key(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Re-encrypt every personal value under the first key of INSIGHTLOOP_ENCRYPTION_KEYS
    (keep the old keys listed until this has run), then rewrite the warehouse file."""
    _encrypt(warehouse, json_, rotate=True)


def _encrypt(warehouse: Path | None, json_: bool, *, rotate: bool) -> None:
    # lazy: the privacy services load the serving and model registry code (numpy, scipy)
    from insightloop.services.privacy.protect import encrypt_columns

    result = encrypt_columns(context_for(warehouse), rotate=rotate)
    if json_:
        print_json(result)
        return
    done = ", ".join(f"{k} {v:,}" for k, v in result["encrypted"].items()) or "nothing to do"
    console.print(f"key {result['key']}: {done}", highlight=False)


@privacy_app.command("pseudonym")
def pseudonym(value: Annotated[str, typer.Argument(help="A customer id (or any value).")],
              warehouse: WarehouseOpt = None) -> None:
    """Print the keyed pseudonym of a value (HMAC-SHA256 under INSIGHTLOOP_PRIVACY_KEY), the
    one exports and joins use."""
    # lazy: the privacy services load the serving and model registry code (numpy, scipy)
    from insightloop.services.privacy.protect import pseudonym as keyed

    typer.echo(keyed(context_for(warehouse).settings, value))


@privacy_app.command("retain")
def retain(months: Annotated[int, typer.Option("--months", min=1, help="Keep this many "
                                               "months; older rows go.")],
           table: Annotated[list[str] | None, typer.Option(
               "--table", help="events (default) and/or quarantine.")] = None,
           as_of: Annotated[str | None, typer.Option(
               "--as-of", help="Count the months back from this date (default: today).")
           ] = None,
           apply: Annotated[bool, typer.Option("--apply", help="Delete them (default: only "
                                               "count).")] = False,
           warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Retention: drop rows older than N months (raw events, quarantined lines), then
    rewrite the warehouse file; without --apply only counts them."""
    # lazy: the privacy services load the serving and model registry code (numpy, scipy)
    from insightloop.services.privacy.retention import retain as run_retain

    when = _since(as_of)
    result = run_retain(context_for(warehouse), months, tuple(table or ("events",)),
                        when.date() if when else None, apply)
    if json_:
        print_json(result)
        return
    verb = "deleted" if apply else "would delete (run with --apply)"
    console.print(f"older than {result['cutoff']}: {verb} " + ", ".join(
        f"{t} {n:,}" for t, n in result["rows"].items()), highlight=False)


def _left(proof: Any) -> dict[str, Any]:
    return {k: proof[k] for k in ("tables", "ops", "files", "api_404")}


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{value!r} is not a date; write YYYY-MM-DD or "
                          "YYYY-MM-DDTHH:MM:SS") from None


def _entries(warehouse: Path | None, since: str | None, actor: str | None
             ) -> list[dict[str, Any]]:
    # lazy: the operational store loads SQLAlchemy
    from insightloop.storage.operational import audit, open_ops

    when = _since(since)
    settings = context_for(warehouse).settings
    store = open_ops(settings)
    flush_pending(settings)  # CLI entries written before the store existed (cli/trail.py)
    return audit.entries(store, when, actor)


@audit_app.command("list")
def audit_list(since: SinceOpt = None, actor: ActorOpt = None, warehouse: WarehouseOpt = None,
               json_: JsonOpt = False) -> None:
    """Show the audit log (who did what, when), oldest first."""
    rows = _entries(warehouse, since, actor)
    if json_:
        print_json({"entries": rows, "count": len(rows)})
        return
    for row in rows:
        console.print(f"{row['at']}  {row['actor']:<18} {row['action']:<40} {row['target']}",
                      highlight=False, markup=False)
    console.print(f"{len(rows)} entries")


@audit_app.command("export")
def audit_export(since: SinceOpt = None, actor: ActorOpt = None,
                 warehouse: WarehouseOpt = None) -> None:
    """Write the audit log as JSON lines to stdout (one entry per line)."""
    for row in _entries(warehouse, since, actor):
        typer.echo(json.dumps(row, default=str, sort_keys=True))
