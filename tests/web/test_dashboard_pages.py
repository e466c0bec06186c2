"""Dashboard pages through the ASGI app: log-in, session cookie, every page, safe redirects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from serving_helpers import Api, client_for, make_keys, serve_copy

PAGES = ("/", "/rfm", "/segments", "/customers", "/recommendations", "/sentiment", "/quality",
         "/models")


@pytest.fixture(scope="module")
def web(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_copy(demo_warehouse, tmp_path_factory.mktemp("web") / "wh")


def login(web: Api, key: str, target: str = "/") -> object:
    return web.client.post("/login", data={"key": key, "next": target}, follow_redirects=False)


@pytest.mark.parametrize("page", PAGES)
def test_pages_need_a_session(web: Api, page: str) -> None:
    web.client.cookies.clear()
    r = web.client.get(page, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_login_sets_a_strict_httponly_session_cookie(web: Api) -> None:
    web.client.cookies.clear()
    bad = login(web, "il_000000000000_" + "x" * 43)
    assert bad.status_code == 401  # type: ignore[attr-defined]
    r = login(web, web.keys["read"], "/segments")
    assert r.status_code == 303 and r.headers["location"] == "/segments"  # type: ignore[attr-defined]
    cookie = r.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert web.keys["read"] not in cookie and web.keys["read"].split("_", 2)[2] not in cookie


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "\\\\evil"])
def test_login_never_redirects_off_site(web: Api, target: str) -> None:
    r = login(web, web.keys["read"], target)
    assert r.headers["location"] == "/"  # type: ignore[attr-defined]


def test_cross_site_login_post_is_refused(web: Api) -> None:
    web.client.cookies.clear()
    r = web.client.post("/login", data={"key": web.keys["read"]},
                        headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 401 and "il_session" not in r.headers.get("set-cookie", "")


def test_every_page_renders_with_real_numbers(web: Api) -> None:
    login(web, web.keys["read"])
    with duckdb.connect(str(web.settings.warehouse), read_only=True) as con:
        customers, active = con.execute(
            "SELECT count(*), avg((orders_90d > 0)::INT) FROM profiles").fetchone()  # type: ignore[misc]
        revenue = con.execute("SELECT sum(quantity * unit_price) FROM orders").fetchone()[0]  # type: ignore[index]
        names = [r[0] for r in con.execute("SELECT name FROM segments").fetchall()]
    html = {p: web.client.get(p).text for p in PAGES}
    assert f">{customers:,}<" in html["/"] and f">£{revenue:,.2f}<" in html["/"]
    assert f">{active * 100:.1f}%<" in html["/"]
    assert f"{customers:,} customers scored" in html["/rfm"]
    for name in names:
        assert name in html["/segments"]
    for page, text in html.items():
        assert "<h1>" in text and "Log out" in text, page
        assert "http://" not in text.replace("http://testserver", "") or page == "/models", page
    assert "/static/plotly.min.js" in html["/"] and "cdn" not in html["/"].lower()


def test_customer_page_and_unknown_customer(web: Api) -> None:
    login(web, web.keys["read"])
    with duckdb.connect(str(web.settings.warehouse), read_only=True) as con:
        cid, reasons = con.execute("SELECT customer_id, reasons FROM scores "
                                   "ORDER BY score DESC LIMIT 1").fetchone()  # type: ignore[misc]
    page = web.client.get(f"/customers/{cid}").text
    assert f"Customer {cid}" in page and reasons.split("; ")[0] in page
    missing = web.client.get("/customers/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E").text
    assert "has no profile" in missing and "<img src=x" not in missing
    assert "&lt;img src=x onerror=alert(1)&gt;" in missing


def test_customer_page_shows_reviews_with_sentiment(web: Api) -> None:
    from markupsafe import escape

    login(web, web.keys["read"])
    with duckdb.connect(str(web.settings.warehouse), read_only=True) as con:
        cid, text, label = con.execute(
            "SELECT r.customer_id, r.text, s.label FROM reviews r JOIN review_sentiment s "
            "USING (review_id) ORDER BY r.review_time DESC, r.review_id LIMIT 1").fetchone()  # type: ignore[misc]
    page = web.client.get(f"/customers/{cid}").text
    assert str(escape(text)) in page and f"<td>{label}</td>" in page
    api = web.get(f"/api/v1/customers/{cid}/reviews").json()["items"]
    assert api[0]["text"] == text and api[0]["sentiment_label"] == label


def test_logout_ends_the_session(web: Api) -> None:
    login(web, web.keys["read"])
    assert web.client.get("/", follow_redirects=False).status_code == 200
    web.client.post("/logout")
    assert web.client.get("/", follow_redirects=False).status_code == 303


def test_plotly_is_served_locally(web: Api) -> None:
    r = web.client.get("/static/plotly.min.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    assert r.headers["content-type"].startswith("text/javascript")


def test_page_says_what_to_build_on_an_empty_warehouse(tmp_path: Path) -> None:
    from insightloop.settings import Settings
    from insightloop.storage.warehouse import Warehouse

    settings = Settings.load(warehouse=tmp_path / "empty.duckdb", env={})
    with Warehouse.from_settings(settings).connect():
        pass
    keys = make_keys(settings)
    with client_for(settings) as client:
        client.post("/login", data={"key": keys["read"]})
        for page in PAGES:
            r = client.get(page)
            assert r.status_code == 200, page
        assert "insightloop profiles build" in client.get("/").text
        assert "segments build" in client.get("/rfm").text
        assert "recommend build" in client.get("/recommendations?customer_id=1").text
        api = client.get("/api/v1/customers", headers={"X-API-Key": keys["read"]})
        assert api.status_code == 409 and api.json()["error"]["code"] == "not_built"


def test_api_reference_page_lists_every_operation_offline(web: Api) -> None:
    spec = web.client.get("/api/v1/openapi.json").json()
    page = web.client.get("/api/docs").text
    for path, methods in spec["paths"].items():
        for method in methods:
            assert f"{method.upper()} {path}" in page
    assert "<script" not in page and "cdn" not in page.lower()
