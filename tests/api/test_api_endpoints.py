"""The REST API on the demo warehouse: every endpoint, auth failures, bad input, jobs."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from contexts import ctx_of
from insightloop.api.config import ServeConfig
from serving_helpers import Api, client_for, copy_warehouse, make_keys


def sql(api: Api, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(api.settings.warehouse), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def a_customer(api: Api) -> str:
    return str(sql(api, "SELECT customer_id FROM profiles ORDER BY monetary DESC LIMIT 1")[0][0])


PROTECTED = [("GET", "/api/v1/customers"), ("GET", "/api/v1/customers/17850"),
             ("GET", "/api/v1/customers/17850/segment"), ("GET", "/api/v1/customers/17850/scores"),
             ("GET", "/api/v1/customers/17850/recommendations"),
             ("GET", "/api/v1/customers/17850/reviews"), ("GET", "/api/v1/segments"),
             ("GET", "/api/v1/segments/0/customers"), ("GET", "/api/v1/kpis"),
             ("GET", "/api/v1/products/85123A/similar"),
             ("GET", "/api/v1/products/85123A/reviews/insights"), ("POST", "/api/v1/sentiment"),
             ("GET", "/api/v1/topics"), ("GET", "/api/v1/satisfaction"),
             ("POST", "/api/v1/jobs"), ("GET", "/api/v1/jobs"), ("GET", "/api/v1/jobs/x"),
             ("GET", "/api/v1/jobs/kinds"),
             ("GET", "/api/v1/keys"), ("POST", "/api/v1/keys"),
             ("DELETE", "/api/v1/keys/0123456789ab")]


def test_health_is_open(api: Api) -> None:
    r = api.client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["warehouse"] is True


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_endpoint_needs_a_valid_key(api: Api, method: str, path: str) -> None:
    missing = api.client.request(method, path)
    assert missing.status_code == 401, path
    assert missing.json()["error"]["code"] == "missing_key"
    wrong = api.client.request(method, path, headers={"X-API-Key": api.keys["read"][:-2] + "xx"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_key"
    junk = api.client.request(method, path, headers={"X-API-Key": "' OR 1=1 --"})
    assert junk.status_code == 401


def test_openapi_lists_every_protected_endpoint(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    for method, path in PROTECTED:
        template = path.replace("17850", "{customer_id}").replace("85123A", "{product_id}")
        template = template.replace("/segments/0/", "/segments/{segment_id}/")
        template = template.replace("/jobs/x", "/jobs/{job_id}")
        template = template.replace("0123456789ab", "{key_id}")
        op = spec["paths"][template][method.lower()]
        assert op["security"] == [{"APIKeyHeader": []}], template
    assert "security" not in spec["paths"]["/api/v1/health"]["get"]


@pytest.mark.parametrize(("role", "method", "path", "body"), [
    ("read", "POST", "/api/v1/jobs", {"kind": "segments"}),
    ("read", "GET", "/api/v1/keys", None),
    ("write", "GET", "/api/v1/keys", None),
    ("write", "POST", "/api/v1/keys", {"role": "admin"}),
])
def test_wrong_role_is_403(api: Api, role: str, method: str, path: str,
                           body: dict[str, Any] | None) -> None:
    r = api.client.request(method, path, json=body, headers={"X-API-Key": api.keys[role]})
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "forbidden" and role in err["message"]


def test_customer_list_pages_and_totals(api: Api) -> None:
    (total,) = sql(api, "SELECT count(*) FROM profiles")[0]
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = api.get(f"/api/v1/customers?limit=100&offset={offset}").json()
        assert page["total"] == total
        seen += [c["customer_id"] for c in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == total == len(set(seen))
    assert seen == sorted(seen)
    top = api.get("/api/v1/customers?limit=5&sort=monetary&order=desc").json()["items"]
    expected = [r[0] for r in sql(api, "SELECT customer_id FROM profiles "
                                  "ORDER BY monetary DESC, customer_id LIMIT 5")]
    assert [c["customer_id"] for c in top] == expected


def test_customer_filters(api: Api) -> None:
    (uk,) = sql(api, "SELECT count(*) FROM profiles WHERE country = 'United Kingdom'")[0]
    r = api.get("/api/v1/customers", params={"country": "United Kingdom", "limit": 1})
    assert r.json()["total"] == uk > 0
    (champions,) = sql(api, "SELECT count(*) FROM rfm WHERE rfm_segment = 'champions'")[0]
    r = api.get("/api/v1/customers", params={"rfm_segment": "champions"})
    assert r.json()["total"] == champions > 0
    assert {c["rfm_segment"] for c in r.json()["items"]} == {"champions"}
    (rich,) = sql(api, "SELECT count(*) FROM profiles WHERE monetary >= 5000")[0]
    assert api.get("/api/v1/customers?min_monetary=5000").json()["total"] == rich


@pytest.mark.parametrize("attempt", [
    {"country": "United Kingdom' OR '1'='1"},
    {"country": "x'; DROP TABLE profiles; --"},
    {"rfm_segment": "champions\" OR \"\"=\""},
    {"id_prefix": "%"},
    {"id_prefix": "1' OR 1=1 --"},
])
def test_injection_in_filters_matches_nothing(api: Api, attempt: dict[str, str]) -> None:
    r = api.get("/api/v1/customers", params=attempt)
    assert r.status_code == 200
    assert r.json()["total"] == 0
    assert sql(api, "SELECT count(*) FROM profiles")[0][0] > 0


@pytest.mark.parametrize("params", [
    {"sort": "monetary; DROP TABLE profiles"}, {"sort": "monetary DESC"},
    {"order": "desc; --"}, {"limit": "0"}, {"limit": "1001"}, {"offset": "-1"},
    {"segment_id": "1 OR 1=1"}, {"min_monetary": "nan"}, {"country": "x" * 65},
])
def test_invalid_list_parameters_are_422(api: Api, params: dict[str, str]) -> None:
    r = api.get("/api/v1/customers", params=params)
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "validation_error" and body["message"]


def test_profile_matches_the_warehouse(api: Api) -> None:
    cid = a_customer(api)
    prof = api.get(f"/api/v1/customers/{cid}").json()
    monetary, frequency = sql(api, "SELECT monetary, frequency FROM profiles "
                              "WHERE customer_id = ?", [cid])[0]
    assert prof["customer_id"] == cid
    assert prof["monetary"] == pytest.approx(monetary) and prof["frequency"] == frequency
    (clv,) = sql(api, "SELECT clv FROM clv WHERE customer_id = ?", [cid])[0]
    assert prof["clv"]["clv"] == pytest.approx(clv)
    seg = api.get(f"/api/v1/customers/{cid}/segment").json()
    expected = sql(api, "SELECT segment_id, segment_name FROM segment_members "
                   "WHERE customer_id = ?", [cid])[0]
    assert (seg["segment"]["segment_id"], seg["segment"]["segment_name"]) == expected
    assert seg["rfm"]["rfm_segment"] == sql(
        api, "SELECT rfm_segment FROM rfm WHERE customer_id = ?", [cid])[0][0]


def test_unknown_customer_is_404_with_a_clear_body(api: Api) -> None:
    for path in ("/api/v1/customers/no-such-customer",
                 "/api/v1/customers/no-such-customer/segment",
                 "/api/v1/customers/no-such-customer/scores"):
        r = api.get(path)
        assert r.status_code == 404
        err = r.json()["error"]
        assert err["code"] == "not_found" and "no-such-customer" in err["message"]


def test_scores_with_reasons(api: Api) -> None:
    cid = a_customer(api)
    body = api.get(f"/api/v1/customers/{cid}/scores").json()
    (score, reasons) = sql(api, "SELECT score, reasons FROM scores WHERE customer_id = ? "
                           "AND model = 'churn'", [cid])[0]
    churn = next(s for s in body["scores"] if s["model"] == "churn")
    assert churn["score"] == pytest.approx(score)
    assert churn["reasons"] == reasons.split("; ") and len(churn["reasons"]) >= 1
    live = api.get(f"/api/v1/customers/{cid}/scores?live=true&model=churn").json()
    assert live["score"] == pytest.approx(score, abs=1e-9)
    assert all(r["text"] for r in live["reasons"])
    assert api.get(f"/api/v1/customers/{cid}/scores?live=true&model=nope").status_code == 404


def test_segments_and_members(api: Api) -> None:
    segs = api.get("/api/v1/segments").json()
    (total,) = sql(api, "SELECT count(*) FROM profiles")[0]
    assert sum(s["size"] for s in segs["segments"]) == segs["customers"] == total
    first = segs["segments"][0]
    page = api.get(f"/api/v1/segments/{first['segment_id']}/customers?limit=10").json()
    assert page["total"] == first["size"]
    assert {c["segment_id"] for c in page["items"]} == {first["segment_id"]}
    r = api.get("/api/v1/segments/999/customers")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_kpis_match_the_warehouse(api: Api) -> None:
    k = api.get("/api/v1/kpis").json()
    customers, active = sql(api, "SELECT count(*), avg((orders_90d > 0)::INT) FROM profiles")[0]
    revenue, orders = sql(api, "SELECT sum(quantity * unit_price), count(DISTINCT order_id) "
                          "FROM orders")[0]
    (avg_clv,) = sql(api, "SELECT avg(clv) FROM clv")[0]
    assert k["customers"] == customers and k["orders"] == orders
    assert k["net_revenue"] == pytest.approx(revenue)
    assert k["active_rate"] == pytest.approx(active)
    assert k["avg_clv"] == pytest.approx(avg_clv)


def test_error_bodies_are_uniform(api: Api) -> None:
    for r, status in ((api.get("/api/v1/nope"), 404),
                      (api.client.put("/api/v1/health"), 405),
                      (api.post("/api/v1/sentiment", content=b"{not json",
                                headers={"Content-Type": "application/json"}), 422)):
        assert r.status_code == status
        assert set(r.json()["error"]) >= {"code", "message"}


def test_malformed_json_is_422(api: Api) -> None:
    r = api.client.post("/api/v1/jobs", content=b'{"kind": "segments",',
                        headers={"X-API-Key": api.keys["write"],
                                 "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"


def test_oversized_payload_is_413(api: Api) -> None:
    big = json.dumps({"texts": ["a" * 1000] * 1100}).encode()
    assert len(big) > 1_048_576
    r = api.post("/api/v1/sentiment", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Any:  # no Content-Length: streamed
        for _ in range(20):
            yield b"x" * 100_000

    r = api.post("/api/v1/sentiment", content=chunks(),
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize("body", [{"texts": []}, {"texts": ["x"] * 65},
                                  {"texts": ["x" * 5001]}, {"texts": "not a list"},
                                  {"texts": ["ok"], "lang": "english!"},
                                  {"texts": ["ok"], "extra": 1}])
def test_sentiment_input_validation(api: Api, body: dict[str, Any]) -> None:
    r = api.post("/api/v1/sentiment", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


def test_keys_created_and_revoked_through_the_api(api: Api) -> None:
    r = api.post("/api/v1/keys", role="admin", json={"role": "read", "name": "tmp"})
    assert r.status_code == 201
    new = r.json()
    headers = {"X-API-Key": new["key"]}
    assert api.client.get("/api/v1/kpis", headers=headers).status_code == 200
    listed = api.get("/api/v1/keys", role="admin").json()["items"]
    assert new["key_id"] in {k["key_id"] for k in listed}
    assert all("hash" not in json.dumps(k) and "salt" not in k for k in listed)
    r = api.client.delete(f"/api/v1/keys/{new['key_id']}",
                          headers={"X-API-Key": api.keys["admin"]})
    assert r.status_code == 200 and r.json()["active"] is False
    r = api.client.get("/api/v1/kpis", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_key"
    r = api.client.delete("/api/v1/keys/0123456789ab", headers={"X-API-Key": api.keys["admin"]})
    assert r.status_code == 404


def test_job_runs_in_background_while_reads_continue(api: Api) -> None:
    gen = api.client.get("/api/v1/health").json()["generation"]
    r = api.post("/api/v1/jobs", role="write", json={"kind": "segments"})
    assert r.status_code == 202
    job = r.json()
    assert job["status"] in ("queued", "running") and job["kind"] == "segments"
    statuses: list[int] = []

    def read() -> None:
        statuses.append(api.get("/api/v1/customers?limit=5").status_code)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = api.wait_job(job["id"])
    assert done["status"] == "succeeded", done
    assert done["result"]["customers"] == sql(api, "SELECT count(*) FROM profiles")[0][0]
    assert statuses == [200] * 8
    assert api.client.get("/api/v1/health").json()["generation"] > gen
    assert any(j["id"] == job["id"] for j in api.get("/api/v1/jobs").json()["items"])
    assert api.get("/api/v1/jobs/unknown").status_code == 404


@pytest.mark.parametrize(("body", "needle"), [
    ({"kind": "bogus"}, "kind"),
    ({"kind": "ingest", "params": {"table": "orders", "path": "x.csv"}}, "ingest-root"),
    ({"kind": "train", "params": {"task": "rm -rf"}}, "task"),
    ({"kind": "segments", "params": {"x": {"nested": 1}}}, "params"),
])
def test_bad_job_requests_are_422(api: Api, body: dict[str, Any], needle: str) -> None:
    r = api.post("/api/v1/jobs", role="write", json=body)
    assert r.status_code == 422
    assert needle in r.json()["error"]["message"]


def test_ingest_job_confined_to_the_ingest_root(demo_warehouse: Path, tmp_path: Path) -> None:
    settings = copy_warehouse(demo_warehouse, tmp_path / "wh")
    keys = make_keys(settings)
    root = tmp_path / "drop"
    root.mkdir()
    (root / "customers.csv").write_text(
        "customer_id,email,country\n17850,a@example.com,United Kingdom\nZ1,b@example.com,France\n")
    (tmp_path / "secret.csv").write_text("customer_id\nS1\n")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:  # the demo's own
        before = {str(r[0]) for r in con.execute("SELECT customer_id FROM customers").fetchall()}
    config = ServeConfig(ingest_root=root, rate_per_s=1000, burst=1000)
    with client_for(settings, config) as client:
        api = Api(client, settings, keys)
        r = api.post("/api/v1/jobs", role="write", json={
            "kind": "ingest", "params": {"table": "customers", "path": "../secret.csv"}})
        assert r.status_code == 422 and "ingest root" in r.json()["error"]["message"]
        r = api.post("/api/v1/jobs", role="write", json={
            "kind": "ingest", "params": {"table": "customers", "path": "customers.csv"}})
        job = api.wait_job(r.json()["id"])
        assert job["status"] == "succeeded", job
        assert job["result"]["rows_loaded"] == 2
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM customers").fetchone() == (
            len(before | {"17850", "Z1"}),)


def test_rate_limit_per_key(demo_warehouse: Path, tmp_path: Path) -> None:
    settings = copy_warehouse(demo_warehouse, tmp_path / "wh")
    keys = make_keys(settings)
    with client_for(settings, ServeConfig(rate_per_s=0.5, burst=3)) as client:
        codes = [client.get("/api/v1/kpis", headers={"X-API-Key": keys["read"]}).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = client.get("/api/v1/kpis", headers={"X-API-Key": keys["read"]})
        assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
        # Another key has its own bucket.
        assert client.get("/api/v1/kpis",
                          headers={"X-API-Key": keys["write"]}).status_code == 200


def test_failed_auth_is_rate_limited_per_client(demo_warehouse: Path, tmp_path: Path) -> None:
    settings = copy_warehouse(demo_warehouse, tmp_path / "wh")
    keys = make_keys(settings)
    config = ServeConfig(failed_auth_per_s=0.5, failed_auth_burst=2)
    with client_for(settings, config) as client:
        codes = [client.get("/api/v1/kpis", headers={"X-API-Key": "il_guess"}).status_code
                 for _ in range(3)]
        assert codes == [401, 401, 429]
        # A valid key is not held back by someone else's failures.
        assert client.get("/api/v1/kpis", headers={"X-API-Key": keys["read"]}).status_code == 200


def test_cors_off_by_default_and_opt_in(api: Api, demo_warehouse: Path, tmp_path: Path) -> None:
    pre = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
           "Access-Control-Request-Headers": "X-API-Key"}
    r = api.client.options("/api/v1/kpis", headers=pre)
    assert "access-control-allow-origin" not in r.headers
    settings = copy_warehouse(demo_warehouse, tmp_path / "wh")
    with client_for(settings, ServeConfig(cors_origins=("https://shop.example",))) as client:
        ok = client.options("/api/v1/kpis", headers={**pre, "Origin": "https://shop.example"})
        assert ok.headers["access-control-allow-origin"] == "https://shop.example"
        bad = client.options("/api/v1/kpis", headers=pre)
        assert "access-control-allow-origin" not in bad.headers


def test_logs_carry_no_key_and_no_customer_id(api: Api, caplog: pytest.LogCaptureFixture
                                              ) -> None:
    cid = a_customer(api)
    with caplog.at_level(logging.INFO, logger="insightloop"):
        api.get(f"/api/v1/customers/{cid}")
        api.get(f"/api/v1/customers?id_prefix={cid}")
        api.client.get("/api/v1/kpis", headers={"X-API-Key": api.keys["read"] + "x"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/api/v1/customers/{customer_id} 200" in text
    key_id = api.keys["read"].split("_")[1]
    assert f"key={key_id}" in text
    assert cid not in text
    assert api.keys["read"] not in text and api.keys["read"].split("_", 2)[2] not in text


def test_security_headers(api: Api) -> None:
    r = api.get("/api/v1/kpis")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


def test_recommendations_match_the_batch_table_and_cold_start(api: Api) -> None:
    cid = a_customer(api)
    body = api.get(f"/api/v1/customers/{cid}/recommendations?n=10").json()
    stored = [r[0] for r in sql(api, "SELECT product_id FROM recommendations "
                                "WHERE customer_id = ? ORDER BY rank", [cid])]
    assert body["source"] == "model" and [i["product_id"] for i in body["items"]] == stored
    assert all(i["reason"] for i in body["items"])
    assert len(api.get(f"/api/v1/customers/{cid}/recommendations?n=3").json()["items"]) == 3
    cold = api.get("/api/v1/customers/brand-new/recommendations?n=5").json()
    assert cold["source"] == "cold_start:popularity" and len(cold["items"]) == 5
    seen = ",".join(stored[:2])
    warm = api.get(f"/api/v1/customers/brand-new/recommendations?n=5&history={seen}").json()
    assert warm["source"] == "cold_start:content"
    assert not set(stored[:2]) & {i["product_id"] for i in warm["items"]}
    assert api.get(f"/api/v1/customers/{cid}/recommendations?n=0").status_code == 422
    assert api.get(f"/api/v1/customers/{cid}/recommendations?n=101").status_code == 422


def test_similar_items(api: Api) -> None:
    (pid,) = sql(api, "SELECT product_id FROM recommendations GROUP BY 1 "
                 "ORDER BY count(*) DESC, 1 LIMIT 1")[0]
    body = api.get(f"/api/v1/products/{pid}/similar?n=5").json()
    assert body["product_id"] == pid and 1 <= len(body["items"]) <= 5
    assert pid not in {i["product_id"] for i in body["items"]}
    r = api.get("/api/v1/products/NO-SUCH-PRODUCT/similar")
    assert r.status_code == 404 and "NO-SUCH-PRODUCT" in r.json()["error"]["message"]


def test_review_insights_topics_and_satisfaction(api: Api) -> None:
    pid, n = sql(api, "SELECT product_id, count(*) FROM review_sentiment GROUP BY 1 "
                 "ORDER BY 2 DESC, 1 LIMIT 1")[0]
    body = api.get(f"/api/v1/products/{pid}/reviews/insights").json()
    assert body["reviews"] == n
    (neg,) = sql(api, "SELECT avg((label = 'negative')::INT) FROM review_sentiment "
                 "WHERE product_id = ?", [pid])[0]
    assert body["negative_share"] == pytest.approx(neg)
    assert sum(m["reviews"] for m in body["monthly"]) == n
    assert api.get("/api/v1/products/NO-SUCH/reviews/insights").status_code == 404
    topics = api.get("/api/v1/topics").json()["topics"]
    assert len(topics) == sql(api, "SELECT count(*) FROM review_topic_summary")[0][0] > 0
    months = api.get("/api/v1/satisfaction?by=month").json()["items"]
    assert sum(m["reviews"] for m in months) == sql(api, "SELECT count(*) FROM "
                                                    "review_sentiment")[0][0]
    assert api.get("/api/v1/satisfaction?by=weekday").status_code == 422


def test_sentiment_of_posted_texts(api: Api) -> None:
    from insightloop.services.sentiment import score_texts

    texts = ["质量很好，非常满意", "Terrible. It broke after one day and support ignored me.",
             "ok"]
    r = api.post("/api/v1/sentiment", json={"texts": texts})
    assert r.status_code == 200
    results = r.json()["results"]
    expected = score_texts(ctx_of(api.settings), texts)
    assert [x["label"] for x in results] == [x["label"] for x in expected]
    assert [x["language"] for x in results][:2] == ["zh", "en"]
    assert all(-1 <= x["score"] <= 1 and 0 <= x["probability"] <= 1 for x in results)
