"""The dashboard in a real browser (Debian Chromium, headless) against a real uvicorn server.

Logs in with a key, opens every page, checks numbers computed here from the warehouse,
checks that charts render with the locally served plotly.js while every request that
leaves the server is blocked, and saves screenshots.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from contexts import ctx_of
from insightloop.settings import Settings
from serving_helpers import copy_warehouse

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian chromium (/usr/bin/chromium) is not installed")


@dataclass
class Live:
    url: str
    key: str
    settings: Settings
    shots: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    import uvicorn

    from insightloop.asgi import create_app
    from insightloop.services.keys import create_key

    settings = copy_warehouse(demo_warehouse, tmp_path_factory.mktemp("live") / "wh")
    key = create_key(ctx_of(settings), "read", "browser test")["key"]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    wanted = os.environ.get("INSIGHTLOOP_SCREENSHOTS")  # Path("") would be the cwd, so test the str
    shots = Path(wanted) if wanted else tmp_path_factory.mktemp("shots")
    shots.mkdir(parents=True, exist_ok=True)
    yield Live(f"http://127.0.0.1:{port}", key, settings, shots)
    server.should_exit = True
    thread.join(30)


def facts(settings: Settings) -> dict[str, Any]:
    """Expected numbers, computed here straight from the warehouse."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        def one(sql: str, params: list[Any] | None = None) -> Any:
            return con.execute(sql, params or []).fetchone()

        customers, active = one("SELECT count(*), avg((orders_90d > 0)::INT) FROM profiles")
        top, monetary = one("SELECT customer_id, monetary FROM profiles "
                            "ORDER BY monetary DESC, customer_id LIMIT 1")
        return {
            "customers": customers, "active": active,
            "revenue": one("SELECT sum(quantity * unit_price) FROM orders")[0],
            "avg_clv": one("SELECT avg(clv) FROM clv")[0],
            "orders_rows": one("SELECT count(*) FROM orders")[0],
            "segments": [r[0] for r in con.execute("SELECT name FROM segments").fetchall()],
            "top": top, "top_monetary": monetary,
            "top_reason": one("SELECT reasons FROM scores WHERE customer_id = ?",
                              [top])[0].split("; ")[0],
            "top_recs": [r[0] for r in con.execute(
                "SELECT product_id FROM recommendations WHERE customer_id = ? ORDER BY rank",
                [top]).fetchall()],
        }


def expect_sentiment(settings: Settings, text: str) -> str:
    from insightloop.services.sentiment import score_texts

    label: str = score_texts(ctx_of(settings), [text])[0]["label"]
    return label


def gated_page(pw: Any, live: Live, outside: list[str], errors: list[str]) -> tuple[Any, Any]:
    """Headless Chromium and a page whose requests off the server are blocked (and noted
    in ``outside``); page errors go to ``errors``."""
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def gate(route: Any) -> None:
        if route.request.url.startswith(live.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return browser, page


def test_dashboard_in_chromium(live: Live) -> None:
    from playwright.sync_api import sync_playwright

    expect = facts(live.settings)
    outside: list[str] = []
    errors: list[str] = []
    timings: dict[str, float] = {}
    with sync_playwright() as pw:
        browser, page = gated_page(pw, live, outside, errors)

        def visit(path: str, name: str, chart: bool = True) -> str:
            start = time.perf_counter()
            page.goto(live.url + path, wait_until="load")
            if chart:
                page.wait_for_selector(".plotly-graph-div .main-svg", timeout=15_000)
            timings[name] = round(time.perf_counter() - start, 3)
            page.screenshot(path=str(live.shots / f"{name}.png"), full_page=False)
            return page.inner_text("main")

        # Not logged in: sent to the log-in page; a wrong key is refused.
        page.goto(live.url + "/segments")
        assert "/login" in page.url
        page.fill("#key", "il_000000000000_" + "A" * 43)
        page.click("#login-button")
        assert "not valid" in page.inner_text("#login-error")
        page.fill("#key", live.key)
        page.click("#login-button")
        page.wait_for_url(live.url + "/segments")
        cookie = next(c for c in page.context.cookies() if c["name"] == "il_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert "il_session" not in page.evaluate("document.cookie")

        text = visit("/", "overview")
        kpi = {k: page.inner_text(f"[data-kpi='{k}'] .value")
               for k in ("customers", "revenue", "active_rate", "avg_clv")}
        assert kpi == {"customers": f"{expect['customers']:,}",
                       "revenue": f"£{expect['revenue']:,.2f}",
                       "active_rate": f"{expect['active'] * 100:.1f}%",
                       "avg_clv": f"£{expect['avg_clv']:,.2f}"}
        assert page.locator(".plotly-graph-div").count() >= 3

        text = visit("/rfm", "rfm")
        assert f"{expect['customers']:,} customers scored" in text
        text = visit("/segments", "segments")
        assert all(name in text for name in expect["segments"])
        text = visit("/quality", "quality")
        assert f"{expect['orders_rows']:,}" in text
        visit("/models", "models")

        text = visit("/customers?sort=monetary", "customers", chart=False)
        first = page.locator("#customers tbody tr").first.locator("a")
        assert first.inner_text() == expect["top"]
        first.click()
        page.wait_for_url(f"{live.url}/customers/{expect['top']}")
        page.screenshot(path=str(live.shots / "customer_360.png"), full_page=True)
        text = page.inner_text("main")
        assert f"£{expect['top_monetary']:,.2f}" in text
        assert expect["top_reason"] in text
        shown = page.locator("#recommendations tbody tr td:first-child").all_inner_texts()
        assert shown == expect["top_recs"]

        visit("/recommendations", "recommendations")
        page.fill("#product_id", expect["top_recs"][0])
        page.locator("form", has=page.locator("#product_id")).locator("button").click()
        page.wait_for_selector("#similar tbody tr")
        page.screenshot(path=str(live.shots / "similar_items.png"), full_page=False)
        assert page.locator("#similar tbody tr").count() >= 1

        visit("/sentiment", "sentiment")
        sample = "质量很好，物流也快，非常满意"
        page.fill("#text", sample)
        page.locator("form", has=page.locator("#text")).locator("button").click()
        page.wait_for_selector("#sentiment-result")
        page.screenshot(path=str(live.shots / "sentiment_scored.png"), full_page=False)
        cells = page.locator("#sentiment-result tbody td").all_inner_texts()
        assert cells[0] == expect_sentiment(live.settings, sample)

        page.click("button:has-text('Log out')")
        page.wait_for_url(lambda u: "/login" in u)
        page.goto(live.url + "/")
        assert "/login" in page.url
        browser.close()
    (live.shots / "timings.json").write_text(json.dumps(timings, indent=1))
    assert outside == [], f"requests left the server: {outside}"
    assert errors == [], errors


def test_interactive_api_docs_render_in_chromium(live: Live) -> None:
    """Swagger UI at /api/v1/docs lists the operations from local assets, under the CSP."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    problems: list[str] = []
    with sync_playwright() as pw:
        browser, page = gated_page(pw, live, outside, problems)
        page.on("console", lambda msg: problems.append(msg.text)
                if msg.type == "error" else None)
        page.goto(live.url + "/api/v1/docs", wait_until="load")
        page.wait_for_selector(".opblock", timeout=20_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        page.screenshot(path=str(live.shots / "api_docs.png"), full_page=False)
        browser.close()
    assert any("/api/v1/customers/{customer_id}" in p.replace("\u200b", "") for p in paths)
    assert len(paths) >= 18
    assert outside == [], f"requests left the server: {outside}"
    assert problems == [], problems
