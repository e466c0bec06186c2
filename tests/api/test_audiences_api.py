"""The audiences endpoints on a copy of the sample warehouse: count a filter, create (write
role), list, read a version, delete; a bad filter is a 422 naming the position."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import jsonschema_rs
import pytest

from insightloop.storage.operational.engine import forget_stores
from serving_helpers import Api, client_for, copy_warehouse, make_keys

BASE = "/api/v1/audiences"
WHERE = "recency_days > 90 and country = 'united kingdom'"


@pytest.fixture(scope="module")
def api(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = copy_warehouse(sample_warehouse, tmp_path_factory.mktemp("aud-api") / "wh")
    keys = make_keys(settings)
    with client_for(settings) as client:
        yield Api(client, settings, keys)
    forget_stores()


@pytest.fixture(scope="module")
def expected(api: Api) -> list[str]:
    with duckdb.connect(str(api.settings.warehouse), read_only=True) as con:
        return [r[0] for r in con.execute(
            "SELECT customer_id FROM customer_360 WHERE recency_days > 90 AND "
            "country = 'United Kingdom' ORDER BY 1").fetchall()]


def test_count(api: Api, expected: list[str]) -> None:
    r = api.post(f"{BASE}/count", json={"where": WHERE, "sample": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(expected) > 0 and body["sample"] == expected[:4]
    assert body["canonical"] == WHERE
    bad = api.post(f"{BASE}/count", json={"where": "recency_days >> 90"})
    assert bad.status_code == 422
    assert "position 15" in bad.json()["error"]["message"]
    unknown = api.post(f"{BASE}/count", json={"where": "spnd > 1"})
    assert unknown.status_code == 422 and "spend" in unknown.json()["error"]["message"]
    assert api.post(f"{BASE}/count", json={"where": WHERE, "x": 1}).status_code == 422


def test_create_read_list_delete(api: Api, expected: list[str]) -> None:
    body = {"name": "uk-quiet", "where": WHERE, "description": "UK, 90 days"}
    assert api.post(BASE, json=body).status_code == 403  # read key
    made = api.post(BASE, role="write", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["created"] is True and made.json()["count"] == len(expected)
    again = api.post(BASE, role="write", json=body)
    assert again.status_code == 201 and again.json()["created"] is False
    v2 = api.post(BASE, role="write",
                  json={"name": "uk-quiet", "where": "recency > 200 and country = 'united "
                                                     "kingdom'"})
    assert v2.json()["version"] == 2

    listed = api.get(BASE).json()["audiences"]
    assert [(a["name"], a["version"]) for a in listed] == [("uk-quiet", 2)]
    assert listed[0]["count"] == v2.json()["count"]
    first = api.get(f"{BASE}/uk-quiet", params={"version": 1, "sample": 2}).json()
    assert first["version"] == 1 and first["count"] == len(expected)
    assert first["sample"] == expected[:2] and first["description"] == "UK, 90 days"
    assert first["created_by"].startswith("key ") and len(first["versions"]) == 2
    spec = api.client.get("/api/v1/openapi.json").json()
    for path, body in ((BASE, {"audiences": listed}), (BASE + "/{name}", first)):
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"][
            "application/json"]["schema"]
        root = {**schema, "components": spec["components"]}
        assert list(jsonschema_rs.validator_for(root).iter_errors(body)) == [], path
    assert api.get(f"{BASE}/uk-quiet", params={"version": 9}).status_code == 404
    assert api.get(f"{BASE}/nope").status_code == 404
    assert api.get(f"{BASE}/-bad").status_code == 422

    assert api.client.delete(f"{BASE}/uk-quiet",
                             headers={"X-API-Key": api.keys["read"]}).status_code == 403
    gone = api.client.delete(f"{BASE}/uk-quiet", headers={"X-API-Key": api.keys["write"]})
    assert gone.status_code == 200 and gone.json() == {"name": "uk-quiet", "versions": 2}
    assert api.get(f"{BASE}/uk-quiet").status_code == 404


def test_bad_create_saves_nothing(api: Api) -> None:
    r = api.post(BASE, role="write", json={"name": "bad", "where": "country = 5"})
    assert r.status_code == 422 and "position 11" in r.json()["error"]["message"]
    assert api.post(BASE, role="write", json={"name": "a/b", "where": WHERE}).status_code == 422
    assert all(a["name"] != "bad" for a in api.get(BASE).json()["audiences"])


def test_openapi_documents_the_endpoints(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    assert {"get", "post"} <= set(spec["paths"][BASE])
    assert {"get", "delete"} <= set(spec["paths"][BASE + "/{name}"])
    ok = spec["paths"][BASE + "/count"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("AudienceCount")


def test_dashboard_page_lists_audiences_with_live_counts(api: Api, expected: list[str]) -> None:
    r = api.client.post("/login", data={"key": api.keys["read"], "next": "/audiences"},
                        follow_redirects=False)
    assert r.status_code in (302, 303), r.text[:200]
    empty = api.client.get("/audiences").text
    assert "No audience saved yet" in empty and "insightloop audiences create" in empty
    made = api.post(BASE, role="write", json={"name": "page-aud", "where": WHERE})
    assert made.status_code == 201
    page = api.client.get("/audiences").text
    assert "Saved audiences" in page and "page-aud" in page
    assert f">{len(expected):,}<" in page  # the live count, in the table
    api.client.delete(f"{BASE}/page-aud", headers={"X-API-Key": api.keys["write"]})
