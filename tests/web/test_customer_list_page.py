"""The dashboard's customer list (filters, sort, export link, readable labels, money with its
currency, product names) and its HTML error pages, through the ASGI app."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest

from serving_helpers import Api, serve_copy


@pytest.fixture(scope="module")
def dash(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for api in serve_copy(demo_warehouse, tmp_path_factory.mktemp("custlist") / "wh"):
        r = api.client.post("/login", data={"key": api.keys["read"]}, follow_redirects=False)
        assert r.status_code == 303
        yield api


def sql(api: Api, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(api.settings.warehouse), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def shown_ids(page: str) -> list[str]:
    table = page.split('id="customers"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/customers/[^"]+">([^<]+)</a>', table)


def test_filtered_sorted_list_and_its_export_link(dash: Api) -> None:
    (country,), = sql(dash, "SELECT country FROM customer_360 GROUP BY 1 "
                      "ORDER BY count(*) DESC LIMIT 1")
    params = {"country": country, "min_churn": "0.25", "sort": "value_at_risk",
              "order": "desc"}
    expect = [r[0] for r in sql(dash, "SELECT customer_id FROM customer_360 WHERE country = ? "
                                "AND churn_score >= 0.25 ORDER BY value_at_risk DESC NULLS "
                                "LAST, customer_id", [country])]
    r = dash.client.get("/customers", params=params)
    assert r.status_code == 200
    page = r.text
    assert shown_ids(page) == expect[:50]
    assert f"{len(expect):,} customers match" in page
    assert '<th data-col="recency_days">Days since last order</th>' in page
    assert '<th data-col="value_at_risk">Value at risk (churn risk × CLV)</th>' in page
    assert re.search(r'<td class="num">£[0-9,]+\.[0-9]{2}</td>', page)
    assert f'<option value="{html.escape(country)}" selected>' in page
    link = html.unescape(re.search(r'href="(/customers/export\.csv\?[^"]+)"', page)[1])  # type: ignore[index]
    assert {k: v[0] for k, v in parse_qs(urlparse(link).query).items()} == params
    export = dash.client.get(link)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][0] == "Customer" and "Days since last order" in rows[0]
    assert [row[0] for row in rows[1:]] == expect
    assert "filename=\"customers-country-" in export.headers["content-disposition"]


def test_bad_filter_values_are_named_and_dropped(dash: Api) -> None:
    r = dash.client.get("/customers", params={"min_churn": "lots", "sort": "evil"})
    assert r.status_code == 200
    assert "churn risk (0 to 1): &#39;lots&#39; is not a number" in r.text
    assert "cannot sort by &#39;evil&#39;" in r.text
    export = dash.client.get("/customers/export.csv", params={"min_churn": "7"})
    assert export.status_code == 400 and "<h1>Bad request</h1>" in export.text


def test_customer_page_shows_product_names_and_value_at_risk(dash: Api) -> None:
    (cid, fav, name), = sql(dash, """
        SELECT p.customer_id, p.fav_product_1, any_value(trim(o.description)) FROM profiles p
        JOIN orders o ON o.product_id = p.fav_product_1
        JOIN scores s ON s.customer_id = p.customer_id
        GROUP BY ALL HAVING count(DISTINCT trim(o.description)) = 1
        ORDER BY any_value(p.monetary) DESC LIMIT 1""")
    page = dash.client.get(f"/customers/{cid}").text
    assert f"{fav} — {html.escape(name)}" in page
    assert "Days since last order" in page and "recency_days" not in page
    (churn, clv), = sql(dash, "SELECT churn_score, clv FROM customer_360 WHERE customer_id = ?",
                        [cid])
    assert f"£{churn * clv:,.2f}" in page and f"£{clv:,.2f}" in page


def test_unknown_pages_and_customers_are_html_404s_and_the_api_keeps_json(dash: Api) -> None:
    for path in ("/no-such-page", "/customers/no-such-customer"):
        r = dash.client.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "<h1>Page not found</h1>" in r.text and "Log out" in r.text
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in r.headers and r.headers["x-frame-options"] == "DENY"
    api = dash.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    bad = dash.client.get("/customers", params={"offset": "many"})
    assert bad.status_code == 400 and "offset" in bad.text and "<h1>" in bad.text


def test_a_bug_in_a_page_is_an_html_500(dash: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from insightloop.web import customers

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug with a secret in its message")

    monkeypatch.setattr(customers, "list_customers", broken)
    r = dash.client.get("/customers", params={"country": "x"})
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in r.text and "secret" not in r.text
    assert "content-security-policy" in r.headers
