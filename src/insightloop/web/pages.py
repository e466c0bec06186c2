"""Shared pieces of the dashboard: templates, the session, page frames and cached blocks.

Log-in takes an API key once and gives an HttpOnly, SameSite=Strict session
cookie holding a random session token (the key never reaches JavaScript or the
cookie). Pages render on the server from services and the report page builders;
heavy aggregates are cached per warehouse generation (in the server's byte-bounded
cache). A page whose tables are not built yet says so and names the command that
builds them.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException

from insightloop import capabilities
from insightloop.api.errors import ApiError, status_of
from insightloop.api.server import Server, server_of
from insightloop.errors import InsightloopError, NotFoundError
from insightloop.report.format import Formatter, formatter_for, label
from insightloop.services.customers import kpis
from insightloop.services.keys import KeyRecord

COOKIE = "il_session"
errlog = logging.getLogger("insightloop.api")
Blocks = list[dict[str, Any]]


class PageRoute(APIRoute):
    """A dashboard route: its errors are HTML pages, never the API's JSON body.

    Parameters that do not validate give a 400 page naming them; an :class:`ApiError` or an
    insightloop error, a page with its status and message; anything else (a bug) the 500
    page, logged by exception type and route template only, like the API's.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        path = self.path

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                first: dict[str, Any] = next(iter(exc.errors()), {})
                where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "a parameter"
                return error_page(400, f"{where}: {first.get('msg', 'invalid value')}")
            except ApiError as exc:
                return error_page(exc.status, exc.message, exc.headers)
            except InsightloopError as exc:
                return error_page(status_of(exc)[0], str(exc))
            except StarletteHTTPException as exc:
                return error_page(exc.status_code, str(exc.detail),
                                  dict(exc.headers or {}))
            except Exception as exc:  # the last line of defence: the HTML 500 page
                errlog.error("unhandled %s on %s %s", type(exc).__name__, request.method,
                             path)
                return error_page(500, "Something went wrong on our side; the server log "
                                  "says what. Try again, or go back to the overview.")

        return route


def install_error_pages(app: FastAPI) -> None:
    """HTML 404/405 pages for paths outside ``/api/`` that no route serves (the API, its
    JSON error body). Call after :func:`insightloop.api.errors.install`."""
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/") or not isinstance(exc,
                                                                   StarletteHTTPException):
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        message = ("There is no page at this address." if exc.status_code == 404
                   else str(exc.detail))
        return error_page(exc.status_code, message, dict(exc.headers or {}))

    app.add_exception_handler(StarletteHTTPException, http_error)


def navigation() -> list[tuple[str, str]]:
    """(path, label) of every declared dashboard page, in navigation order."""
    return [(p.path, p.label) for p in capabilities.pages()]


def page_table() -> dict[str, tuple[tuple[str, ...], str]]:
    """Path -> (report page modules, message while its tables are missing) of every declared
    page that renders report pages."""
    return {p.path: (p.reports, p.missing) for p in capabilities.pages() if p.reports}


def generic_pages() -> list[tuple[str, str]]:
    """(path, title) of the declared pages served by the generic report page (the others
    have routes of their own in this package)."""
    return [(p.path, p.title) for p in capabilities.pages() if not p.custom]


# Generated once from the capability declarations (docs/architecture.md).
NAV = navigation()
PAGES = page_table()


def cell(value: Any) -> str:
    """Table cell text by the value's type (see :meth:`Formatter.cell`)."""
    return Formatter().cell(value)


_env = Environment(loader=PackageLoader("insightloop.web", "templates"), autoescape=True)
_env.filters["cell"] = cell
_env.globals["label"] = label


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("fmt", Formatter())
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status)


def formatter(srv: Server) -> Formatter:
    """How this server shows money and numbers: the configured or the data's currency
    (looked up once per warehouse generation) and the configured locale."""
    currency = srv.cached("currency", lambda: formatter_for(srv.ctx).currency)
    return Formatter(currency, srv.settings.locale or "en")


def error_page(status: int, message: str, headers: dict[str, str] | None = None
               ) -> HTMLResponse:
    """The dashboard's HTML error page (the API keeps its JSON error body)."""
    titles = {400: "Bad request", 401: "Not logged in", 403: "Not allowed",
              404: "Page not found", 405: "Not allowed here", 429: "Too many requests",
              500: "Something went wrong", 503: "Busy"}
    resp = render("error.html", status=status, title=titles.get(status, f"Error {status}"),
                  nav=navigation(), active="", code=status, message=message)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def session_key(request: Request) -> KeyRecord | None:
    srv = server_of(request)
    key_id = srv.sessions.key_id(request.cookies.get(COOKIE))
    rec = srv.keys.get(key_id) if key_id else None
    if rec is not None:
        srv.check(request, rec, "read")
    return rec


def safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def same_origin(request: Request) -> bool:
    """POSTs from other sites are refused (the cookie is SameSite=Strict as well)."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


MAX_FORM_FIELDS = 10


async def read_form(request: Request) -> dict[str, str]:
    """The url-encoded form of a POST (first value per name); 400 past ``MAX_FORM_FIELDS``."""
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        fields = parse_qs(body, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise ApiError(400, "bad_request", f"a form here has at most {MAX_FORM_FIELDS} "
                       "fields; send only the fields of the page's form") from exc
    return {k: v[0] for k, v in fields.items()}


def secure_cookie(request: Request) -> bool:
    """Whether the session cookie is ``Secure``: configured, or the request came over HTTPS
    (directly, or as a trusted proxy's ``X-Forwarded-Proto`` says)."""
    return server_of(request).config.secure_cookies or request.url.scheme == "https"


def login_redirect(request: Request) -> RedirectResponse:
    """To the log-in page, coming back to this page (with its query) after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def render_page(request: Request, active: str, title: str, build: Callable[[Server], Blocks]
          ) -> Response:
    if session_key(request) is None:
        return login_redirect(request)
    srv = server_of(request)
    try:
        blocks = build(srv)
    except ApiError as exc:
        if exc.status not in (409, 503):
            raise
        blocks = [{"kind": "message", "text": exc.message}]
    except NotFoundError as exc:
        return error_page(404, str(exc))
    plotly = any(b["kind"] == "html" and "plotly-graph-div" in b["html"] for b in blocks)
    return render("page.html", title=title, nav=navigation(), active=active, blocks=blocks,
                  plotly=plotly, fmt=formatter(srv))


def guard(fn: Callable[[], Blocks], missing: str) -> Blocks:
    """Blocks from ``fn``; a message instead when the warehouse lacks what it needs."""
    try:
        return fn()
    except (InsightloopError, ImportError) as exc:
        text = missing if isinstance(exc, ImportError) else f"{missing} ({exc})"
        return [{"kind": "message", "text": text}]


# -- blocks from the report page builders -------------------------------------------------
def report_blocks(srv: Server, modules: tuple[str, ...], missing: str) -> Blocks:
    def compute() -> Blocks:
        import plotly.io as pio  # lazy: plotly (0.4-0.5 s) only once a page has figures

        ctx = srv.ctx
        blocks: Blocks = []
        for name in modules:
            module = importlib.import_module(f"insightloop.report.pages.{name}")
            for sec in module.build(ctx):
                blocks.append({"kind": "heading", "text": sec.title})
                if sec.intro:
                    blocks.append({"kind": "text", "text": sec.intro})
                blocks += [{"kind": "html", "html": Markup(t)} for t in sec.tables_html]
                blocks += [{"kind": "html", "html": Markup(pio.to_html(
                    fig, include_plotlyjs=False, full_html=False,
                    config={"displaylogo": False, "responsive": True}))}
                    for fig in sec.figures]
        return blocks or [{"kind": "message", "text": missing}]

    # A page module with ``LIVE = True`` reads the operational store (saved audiences,
    # campaign ledgers), which changes without a warehouse write: computed on every request.
    if any(getattr(importlib.import_module(f"insightloop.report.pages.{name}"), "LIVE", False)
           for name in modules):
        return compute()
    return srv.cached("report:" + ",".join(modules), compute)


def kpi_blocks(srv: Server) -> Blocks:
    k = srv.cached("kpis", lambda: kpis(srv.ctx))
    fmt = formatter(srv)
    items = [
        {"id": "customers", "label": "Customers", "value": fmt.number(k["customers"]),
         "note": f"profiles as of {str(k['as_of'])[:10]}"},
        {"id": "revenue", "label": "Net revenue", "value": fmt.money(k["net_revenue"]),
         "note": f"{fmt.number(k['orders'])} orders"},
        {"id": "active_rate", "label": "Active rate", "value": fmt.share(k["active_rate"]),
         "note": f"ordered in the last {k['active_days']} days"},
        {"id": "avg_clv", "label": "Average CLV", "value": fmt.money(k["avg_clv"]),
         "note": "12-month predicted value" if k["avg_clv"] is not None
         else "run `insightloop clv build`"},
    ]
    return [{"kind": "kpis", "items": items}]
