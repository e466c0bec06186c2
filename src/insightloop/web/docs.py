"""Interactive API docs (Swagger UI) at ``/api/v1/docs``, from vendored local assets.

The page loads ``/static/vendor/swagger-ui/`` (swagger-ui-dist, unmodified, Apache-2.0) and
``/static/swagger-init.js``: no CDN, no inline script (the HTML Content-Security-Policy of
:class:`insightloop.api.middleware.HeadersAndLog` holds). ``/api/docs`` keeps the
server-rendered reference page of :mod:`insightloop.web.routes`.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
VENDOR = "/static/vendor/swagger-ui"
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - interactive docs</title>
<link rel="stylesheet" href="{vendor}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec-url="{spec}"></div>
<script src="{vendor}/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over this server's OpenAPI document (``Authorize`` takes an API key)."""
    spec = request.app.openapi_url or "/api/v1/openapi.json"
    return HTMLResponse(_PAGE.format(title=escape(request.app.title), vendor=VENDOR,
                                     spec=escape(spec)))
