"""Interactive API docs (Swagger UI) served from local assets under the page's CSP."""

from __future__ import annotations

import re

from serving_helpers import Api


def test_docs_page_uses_only_local_assets_and_no_inline_script(api: Api) -> None:
    r = api.client.get("/api/v1/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    html = r.text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert set(refs) == {"/static/vendor/swagger-ui/swagger-ui.css",
                         "/static/vendor/swagger-ui/swagger-ui-bundle.js",
                         "/static/swagger-init.js"}
    assert "//" not in "".join(refs)  # no CDN, no protocol-relative URL
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all("src=" in attrs and body.strip() == "" for attrs, body in scripts)
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    for ref in refs:
        asset = api.client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 400, ref
    bundle = api.client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    assert api.client.get("/static/vendor/swagger-ui/LICENSE").status_code == 200


def test_docs_are_open_but_the_spec_they_load_lists_the_key_scheme(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert "/api/v1/docs" not in spec["paths"]  # the page itself is not an API operation
