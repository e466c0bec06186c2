"""The customer list in Debian Chromium (headless) against a real uvicorn server: filter it,
export it (the CSV's rows are the filtered list), the phone view at 375 x 812 without
horizontal overflow, and the HTML 404 page.

Screenshots go to ``INSIGHTLOOP_SCREENSHOTS`` when set (``docs/img/`` holds the ones of the
closing note), else to a temporary folder.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_dashboard_browser import CHROMIUM, Live, gated_page, live  # noqa: F401

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian chromium (/usr/bin/chromium) is not installed")


def log_in(page: Any, live: Live, target: str) -> None:  # noqa: F811
    page.goto(live.url + target)
    page.fill("#key", live.key)
    page.click("#login-button")
    page.wait_for_url(live.url + target)


def overflow(page: Any) -> int:
    """How far the page is wider than the viewport (px; 0 = no horizontal scroll)."""
    return int(page.evaluate("document.documentElement.scrollWidth - "
                             "document.documentElement.clientWidth"))


def test_filter_export_phone_view_and_404(live: Live) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with duckdb.connect(str(live.settings.warehouse), read_only=True) as con:
        (country,), = con.execute("SELECT country FROM customer_360 GROUP BY 1 "
                                  "ORDER BY count(*) DESC LIMIT 1").fetchall()
        expect = [r[0] for r in con.execute(
            "SELECT customer_id FROM customer_360 WHERE country = ? AND churn_score >= 0.5 "
            "ORDER BY value_at_risk DESC NULLS LAST, customer_id", [country]).fetchall()]
    assert len(expect) > 0
    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser, page = gated_page(pw, live, outside, errors)
        log_in(page, live, "/customers")
        page.select_option("#country", country)
        page.fill("#min_churn", "0.5")
        page.select_option("#sort", "value_at_risk")
        page.select_option("#order", "desc")
        page.locator("#customer-filters button").click()
        page.wait_for_url("**/customers?*min_churn=0.5*")
        shown = page.locator("#customers tbody tr td:first-child").all_inner_texts()
        assert shown == expect[:50]  # the first page of the filtered list
        assert f"{len(expect):,} customers match" in page.inner_text("#customer-count")
        page.screenshot(path=str(live.shots / "customers_filtered.png"), full_page=False)

        with page.expect_download() as info:
            page.locator("#customer-actions a", has_text="Export").click()
        download = info.value
        text = Path(download.path()).read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        assert [r[0] for r in rows[1:]] == expect  # every row of the filtered list
        assert [r[0] for r in rows[1:51]] == shown
        assert download.suggested_filename.startswith("customers-country-")
        # The export as a marketer sees it: the file's first rows, in the browser.
        preview = "\n".join(",".join(r[:6]) for r in rows[:12])
        page.set_content(f"<pre style='font:13px monospace;padding:1em'>"
                         f"{download.suggested_filename}\n\n{preview}</pre>")
        page.set_viewport_size({"width": 700, "height": 260})
        page.screenshot(path=str(live.shots / "customers_export.png"), full_page=False)
        page.set_viewport_size({"width": 1280, "height": 900})

        phone = browser.new_context(viewport={"width": 375, "height": 812},
                                    device_scale_factor=1, is_mobile=True, has_touch=True)
        phone.add_cookies(page.context.cookies())
        mobile = phone.new_page()
        widths = {}
        for path in ("/", "/customers?sort=value_at_risk&order=desc", f"/customers/{expect[0]}",
                     "/segments", "/recommendations", "/sentiment", "/quality", "/models"):
            mobile.goto(live.url + path, wait_until="load")
            widths[path] = overflow(mobile)
        assert widths == dict.fromkeys(widths, 0), widths
        mobile.goto(live.url + "/customers?sort=value_at_risk&order=desc")
        assert not mobile.locator("header nav").is_visible()
        mobile.click(".nav-button")
        assert mobile.locator("header nav").is_visible()
        mobile.click(".nav-button")
        mobile.screenshot(path=str(live.shots / "customers_phone.png"), full_page=False)
        phone.close()

        missing = page.goto(live.url + "/no-such-page")
        assert missing is not None and missing.status == 404
        assert page.inner_text("h1") == "Page not found"
        browser.close()
    assert outside == [], outside
    assert errors == [], errors
