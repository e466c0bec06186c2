"""``insightloop serve`` (API + dashboard) and ``insightloop keys create|list|revoke``."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from insightloop.api.config import ServeConfig
from insightloop.cli.app import app
from insightloop.cli.common import (
    JsonOpt,
    WarehouseOpt,
    console,
    context_for,
    print_json,
    settings_for,
)
from insightloop.errors import ConfigError
from insightloop.settings import Settings

keys_app = typer.Typer(help="API keys (stored hashed in the operational store).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")
HostOpt = Annotated[str, typer.Option("--host", help="Interface to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")]


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help="read, write (jobs) or admin (keys).")
                    ] = "read",
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "",
    warehouse: WarehouseOpt = None, json_: JsonOpt = False,
) -> None:
    """Create an API key; the key is printed once and only its hash is stored."""
    # lazy: the keys service loads pandas with its context; the CLI starts without it
    from insightloop.services.keys import create_key

    out = create_key(context_for(warehouse), role, name)
    if json_:
        print_json(out)
        return
    console.print(f"key id {out['key_id']} ({out['role']}); the key, shown only now:")
    console.print(out["key"], highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """List keys (ids, roles, dates; never the keys)."""
    # lazy: the keys service loads pandas with its context; the CLI starts without it
    from insightloop.services.keys import list_keys

    rows = list_keys(context_for(warehouse))
    if json_:
        print_json({"keys": rows})
        return
    grid = Table()
    for col in ("key_id", "role", "name", "created_at", "revoked_at"):
        grid.add_column(col)
    for r in rows:
        grid.add_row(*(str(r[c] or "") for c in ("key_id", "role", "name", "created_at",
                                                  "revoked_at")))
    console.print(grid)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id (from `keys list`).")],
                warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Revoke a key: it stops working at once (on a running server: via DELETE /api/v1/keys)."""
    # lazy: the keys service loads pandas with its context; the CLI starts without it
    from insightloop.services.keys import revoke_key

    out = revoke_key(context_for(warehouse), key_id)
    if json_:
        print_json(out)
        return
    console.print(f"revoked {key_id}")


# h11 refuses header blocks over this with a bare 400 of its own; below it the app answers
# 431 with the common error body (ServeConfig.max_header_bytes, 16 KB by default).
H11_MAX_EVENT_BYTES = 65_536


def trusted_proxies(values: list[str] | None) -> tuple[str, ...]:
    """``--forwarded-allow-ips`` values (repeatable, or comma-separated) checked as IPs or
    networks; a typo must not silently trust nobody (or the wrong host)."""
    out: list[str] = []
    for item in (part.strip() for value in values or () for part in value.split(",")):
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(
                f"--forwarded-allow-ips: {item[:80]!r} is not an IP address or network; give "
                "the proxy's address, like 127.0.0.1 or 10.0.0.0/8") from None
        out.append(item)
    return tuple(out)


def run_server(settings: Settings, host: str, port: int, *, cors: list[str] | None = None,
               ingest_root: Path | None = None, rate: float = 100.0, burst: int = 200,
               forwarded_allow_ips: tuple[str, ...] = (), secure_cookies: bool = False,
               cache_mb: float = 32.0, workers: int = 1) -> None:
    """Serve the API and dashboard with uvicorn until Ctrl-C (no access log with paths).

    The serving store is built first when missing or stale (:mod:`insightloop.api.workers`).

    uvicorn's own proxy-header handling is off: the app believes ``X-Forwarded-*`` only
    from ``forwarded_allow_ips`` (:class:`~insightloop.api.config.ServeConfig`).
    """
    # lazy: the server (FastAPI, the services, pandas) loads only when one is started
    from insightloop.api.workers import run_uvicorn
    from insightloop.asgi import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = ServeConfig(cors_origins=tuple(cors or ()), ingest_root=ingest_root,
                         rate_per_s=rate, burst=burst, forwarded_allow_ips=forwarded_allow_ips,
                         secure_cookies=secure_cookies, cache_bytes=int(cache_mb * 1024 * 1024),
                         workers=workers)
    run_uvicorn(create_app, settings, config, host, port, access_log=False,
                log_level="warning", proxy_headers=False, server_header=False,
                h11_max_incomplete_event_size=H11_MAX_EVENT_BYTES)


@app.command()
def serve(
    host: HostOpt = "127.0.0.1", port: PortOpt = 8000,
    cors: Annotated[list[str] | None, typer.Option(
        "--cors-origin", help="Allow this origin by CORS (repeatable); off by default.")] = None,
    ingest_root: Annotated[Path | None, typer.Option(
        "--ingest-root", help="Folder that ingest jobs may read files from.")] = None,
    rate: Annotated[float, typer.Option("--rate", min=0.1,
                                        help="Requests per second per key.")] = 100.0,
    burst: Annotated[int, typer.Option("--burst", min=1, help="Burst per key.")] = 200,
    forwarded_allow_ips: Annotated[list[str] | None, typer.Option(
        "--forwarded-allow-ips", help="IP or network of a reverse proxy whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed (repeatable); none by default.")] = None,
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies", help="Mark the dashboard session cookie Secure (serve behind "
        "HTTPS); automatic for requests a trusted proxy reports as https.")] = False,
    cache_mb: Annotated[float, typer.Option(
        "--cache-mb", min=1.0, help="Memory bound of the page and aggregate cache.")] = 32.0,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=64, help="Server processes; they share keys, sessions, rate "
        "limits and jobs through the operational store (see docs/operations.md).")] = 1,
    warehouse: WarehouseOpt = None,
) -> None:
    """Serve the REST API (/api/v1, docs at /api/docs) and the dashboard (/)."""
    proxies = trusted_proxies(forwarded_allow_ips)
    settings = settings_for(warehouse)
    console.print(f"insightloop serving {settings.warehouse} on http://{host}:{port}/ "
                  f"(API docs: http://{host}:{port}/api/docs); Ctrl-C stops")
    run_server(settings, host, port, cors=cors, ingest_root=ingest_root, rate=rate,
               burst=burst, forwarded_allow_ips=proxies, secure_cookies=secure_cookies,
               cache_mb=cache_mb, workers=workers)
