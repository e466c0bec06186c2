"""Dashboard routes: log-in, overview, RFM, segments, data quality, models, the API
reference; customers, recommendations and sentiment are in :mod:`insightloop.web.explore`.
Shared pieces (templates, session, cached blocks) are in :mod:`insightloop.web.pages`.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from insightloop.api.errors import ApiError
from insightloop.api.server import Server, server_of
from insightloop.errors import InsightloopError
from insightloop.web import customers, explore
from insightloop.web.pages import (
    COOKIE,
    PAGES,
    PageRoute,
    generic_pages,
    guard,
    install_error_pages,
    kpi_blocks,
    read_form,
    render,
    render_page,
    report_blocks,
    safe_next,
    same_origin,
    secure_cookie,
)

router = APIRouter(include_in_schema=False, route_class=PageRoute)
__all__ = ["install_error_pages", "mount_static", "router", "warm"]


def mount_static(app: FastAPI) -> None:
    """Serve ``/static`` (CSS) and plotly.js from the installed plotly package: no CDN."""
    plotly_js = Path(str(importlib.resources.files("plotly") / "package_data" / "plotly.min.js"))

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    folder = Path(str(importlib.resources.files("insightloop.web") / "static"))
    app.mount("/static", StaticFiles(directory=folder), name="static")


@router.get("/api/docs")
def api_docs(request: Request) -> HTMLResponse:
    """Human-readable API reference rendered from the OpenAPI spec (no CDN assets)."""
    spec = request.app.openapi()
    schemas = spec.get("components", {}).get("schemas", {})

    def schema_text(schema: dict[str, Any]) -> str:
        ref = schema.get("$ref")
        if ref:
            schema = schemas.get(ref.rsplit("/", 1)[-1], schema)
        return json.dumps({k: v for k, v in schema.items() if k != "title"}, ensure_ascii=False)

    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ops.append({
                "id": op.get("operationId", ""), "method": method.upper(), "path": path,
                "summary": op.get("summary", ""), "description": op.get("description", ""),
                "secured": bool(op.get("security")),
                "params": [{"name": p["name"], "where": p["in"], "required": p.get("required",
                                                                                     False),
                            "schema": schema_text(p.get("schema", {}))}
                           for p in op.get("parameters", [])],
                "body": schema_text(body["schema"]) if body.get("schema") else "",
            })
    info = spec.get("info", {})
    return render("apidocs.html", title=info.get("title", "API"), nav=None,
                   version=info.get("version", ""), description=info.get("description", ""),
                   openapi=spec.get("openapi", ""), ops=ops)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render("login.html", title="Log in", nav=None, next=safe_next(next), message="")


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    srv = server_of(request)
    form = await read_form(request) if same_origin(request) else {}
    target = safe_next(form.get("next"))
    rec = srv.keys.verify(form.get("key", "").strip())
    if rec is None:
        srv._failed(request)
        return render("login.html", status=401, title="Log in", nav=None, next=target,
                       message="That key is not valid (or was revoked).")
    request.state.key_id = rec.key_id
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(COOKIE, srv.sessions.create(rec.key_id), httponly=True, samesite="strict",
                    secure=secure_cookie(request), path="/",
                    max_age=int(srv.config.session_hours * 3600))
    return resp


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    server_of(request).sessions.drop(request.cookies.get(COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/", secure=secure_cookie(request), httponly=True,
                       samesite="strict")
    return resp


def warm(srv: Server) -> None:
    """Compute the cached pages once (called at start-up, in the background). While another
    process writes the warehouse (reads answer 503) the pages are left to the first request."""
    try:
        for mods, missing in PAGES.values():
            guard(lambda m=mods, t=missing: report_blocks(srv, m, t), "")  # type: ignore[misc]
        guard(lambda: kpi_blocks(srv), "")
    except ApiError:
        return
    # Load the recommender now; when missing, the API answers 409/501 with the reason. Not
    # when the serving store answers recommendations: then only fallbacks need it, and for a
    # large warehouse it is big (a million customers: ~1 GB and long GC pauses).
    store = srv.store.get()
    if store is not None and store.has_recs:
        return
    with contextlib.suppress(ApiError, InsightloopError, ImportError):
        srv.recommender()


@router.get("/", response_model=None)
def overview(request: Request) -> Response:
    mods, missing = PAGES["/"]
    return render_page(request, "/", "Overview", lambda srv: guard(
        lambda: kpi_blocks(srv), "No customer profiles yet: run `insightloop profiles build` "
        "(or `insightloop demo`).") + report_blocks(srv, mods, missing))


def _report_page(path: str, title: str) -> Callable[[Request], Response]:
    mods, missing = PAGES[path]

    def page(request: Request) -> Response:
        return render_page(request, path, title, lambda srv: report_blocks(srv, mods, missing))

    page.__name__ = f"page_{path.strip('/')}"
    return page


for _path, _title in generic_pages():  # the declared pages without a route of their own
    router.add_api_route(_path, _report_page(_path, _title), methods=["GET"],
                         response_model=None)


router.include_router(customers.router)
router.include_router(explore.router)
