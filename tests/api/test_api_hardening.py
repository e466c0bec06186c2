"""API hardening: trusted proxies only, uniform error bodies with security headers, typed
job parameters, bounded job queue, header limits, secure cookies, ids normalised."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from contexts import ctx_of
from insightloop.api.config import ServeConfig
from insightloop.api.jobs import validate_params
from insightloop.errors import ConfigError, WarehouseError
from insightloop.services.context import Context
from insightloop.services.demo import demo_job
from insightloop.services.keys import create_key
from insightloop.settings import Settings
from serving_helpers import Api, client_for, copy_warehouse, make_keys

SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
            "referrer-policy": "same-origin", "cache-control": "no-store"}
TRUSTED = ("10.0.0.0/8",)


@pytest.fixture(scope="module")
def hard(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server with a trusted proxy network, a tight failed-auth limit, a short queue
    and an ingest root (clients from other addresses share the app)."""
    folder = tmp_path_factory.mktemp("hard")
    settings = copy_warehouse(demo_warehouse, folder / "wh")
    keys = make_keys(settings)
    root = folder / "drop"
    root.mkdir()
    config = ServeConfig(rate_per_s=10_000, burst=10_000, failed_auth_per_s=0.01,
                         failed_auth_burst=2, forwarded_allow_ips=TRUSTED,
                         max_queued_jobs=2, ingest_root=root,
                         cors_origins=("https://shop.example",))
    with client_for(settings, config) as client:
        yield Api(client, settings, keys)


def from_address(api: Api, host: str) -> TestClient:
    """A client of the same app whose TCP peer address is ``host``."""
    return TestClient(api.client.app, client=(host, 40000), raise_server_exceptions=False)


def assert_error(r: Any, status: int, code: str | None = None) -> dict[str, str]:
    assert r.status_code == status, r.text
    err: dict[str, str] = r.json()["error"]
    assert err["message"] and (code is None or err["code"] == code), err
    for name, value in SECURITY.items():
        assert r.headers[name] == value, name
    return err


# -- 1. proxy headers --------------------------------------------------------------------
def test_rotating_x_forwarded_for_from_an_untrusted_client_gets_no_fresh_buckets(
        hard: Api) -> None:
    client = from_address(hard, "192.0.2.7")
    codes = [client.get("/api/v1/kpis", headers={"X-API-Key": "il_guess",
                                                 "X-Forwarded-For": f"198.51.100.{i}"}
                        ).status_code for i in range(4)]
    assert codes == [401, 401, 429, 429]


def test_a_trusted_proxy_names_the_client(hard: Api) -> None:
    proxy = from_address(hard, "10.1.2.3")
    codes = [proxy.get("/api/v1/kpis", headers={"X-API-Key": "il_guess",
                                                "X-Forwarded-For": f"203.0.113.{i}"}
                       ).status_code for i in range(4)]
    assert codes == [401] * 4  # four clients behind the proxy, one failure each
    same = [proxy.get("/api/v1/kpis", headers={"X-API-Key": "il_guess",
                                               "X-Forwarded-For": "203.0.113.200"}
                      ).status_code for _ in range(3)]
    assert same == [401, 401, 429]  # one client behind the proxy is still limited


# -- 6. secure cookies -----------------------------------------------------------------------
def login_cookie(client: TestClient, key: str, headers: dict[str, str] | None = None) -> str:
    r = client.post("/login", data={"key": key}, headers=headers, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["set-cookie"])


def test_session_cookie_is_secure_when_configured_or_proxied_https(
        hard: Api, demo_warehouse: Path, tmp_path: Path) -> None:
    plain = login_cookie(from_address(hard, "192.0.2.8"), hard.keys["read"])
    assert "il_session=" in plain and "secure" not in plain.lower()
    # X-Forwarded-Proto is believed from the trusted proxy only.
    spoofed = login_cookie(from_address(hard, "192.0.2.8"), hard.keys["read"],
                           {"X-Forwarded-Proto": "https"})
    assert "secure" not in spoofed.lower()
    proxied = login_cookie(from_address(hard, "10.9.9.9"), hard.keys["read"],
                           {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "; secure" in proxied.lower()
    settings = copy_warehouse(demo_warehouse, tmp_path / "wh")
    key = create_key(ctx_of(settings), "read")["key"]
    with client_for(settings, ServeConfig(secure_cookies=True)) as client:
        cookie = login_cookie(client, key)
        assert "; secure" in cookie.lower() and "httponly" in cookie.lower()


# -- 2. error bodies, headers and logs ----------------------------------------------------------
def test_a_login_form_with_too_many_fields_is_400(hard: Api) -> None:
    fields = {f"f{i}": "x" for i in range(30)} | {"key": hard.keys["read"]}
    r = from_address(hard, "192.0.2.9").post("/login", data=fields, follow_redirects=False)
    # a dashboard form: the dashboard's HTML error page, with the message and the headers
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html"), r.text
    assert "at most 10 fields" in r.text
    for name, value in SECURITY.items():
        assert r.headers[name] == value, name


def test_unhandled_exceptions_are_500_with_headers_and_a_type_only_log(
        hard: Api, caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> None:
        raise RuntimeError("customer 17850 owes 1234.56")

    def missing() -> None:
        raise ModuleNotFoundError("no module named pandas_secret", name="pandas_secret")

    hard.client.app.add_api_route("/api/v1/test-boom", boom)
    hard.client.app.add_api_route("/api/v1/test-missing", missing)
    with caplog.at_level(logging.INFO, logger="insightloop"):
        for path in ("/api/v1/test-boom", "/api/v1/test-missing"):
            r = hard.client.get(path)
            assert assert_error(r, 500, "internal_error")["message"] == (
                "internal error; see the server log")
    lines = [rec for rec in caplog.records if "unhandled" in rec.getMessage()]
    assert [rec.getMessage() for rec in lines] == [
        "unhandled RuntimeError on GET /api/v1/test-boom",
        "unhandled ModuleNotFoundError on GET /api/v1/test-missing"]
    assert all(rec.exc_info is None and rec.levelname == "ERROR" for rec in lines)
    assert "17850" not in caplog.text and "pandas_secret" not in caplog.text
    assert "/api/v1/test-boom 500" in caplog.text  # the access line still comes


def test_every_error_status_carries_the_body_and_security_headers(hard: Api) -> None:
    assert_error(hard.client.get("/api/v1/kpis"), 401, "missing_key")
    assert_error(hard.get("/api/v1/nope"), 404, "not_found")
    assert_error(hard.client.put("/api/v1/health"), 405)
    assert_error(hard.get("/api/v1/customers?limit=0"), 422, "validation_error")
    assert_error(hard.post("/api/v1/jobs", json={"kind": "segments"}), 403, "forbidden")
    assert_error(hard.post("/api/v1/sentiment", content=b"x" * 1_100_000,
                           headers={"Content-Type": "application/json"}), 413)
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    refused = hard.client.options("/api/v1/kpis", headers=preflight)
    assert "origin" in assert_error(refused, 400, "cors_refused")["message"]
    assert "access-control-allow-origin" not in refused.headers
    ok = hard.client.options("/api/v1/kpis", headers={**preflight,
                                                      "Origin": "https://shop.example"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://shop.example"


# -- 5. header size limit -------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {"X-Big": "a" * 9000},                                     # one header over 8 KB
    {f"X-Part-{i}": "b" * 4000 for i in range(5)},            # 20 KB in all
    {"Cookie": "il_session=" + "c" * 8500},
])
def test_oversized_headers_are_431(hard: Api, headers: dict[str, str]) -> None:
    r = hard.client.get("/api/v1/kpis", headers={"X-API-Key": hard.keys["read"], **headers})
    assert "headers" in assert_error(r, 431, "headers_too_large")["message"]


def test_headers_under_the_limit_pass(hard: Api) -> None:
    parts = {f"X-Part-{i}": "b" * 4000 for i in range(3)}
    r = hard.client.get("/api/v1/kpis", headers={"X-API-Key": hard.keys["read"], **parts})
    assert r.status_code == 200


# -- 3. job parameters ------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "needles"), [
    ({"kind": "score", "params": {"model": "../../../../etc/passwd"}},
     ["params.model", "NAME:VERSION"]),
    ({"kind": "score", "params": {"model": "no_such_model"}}, ["params.model", "churn"]),
    ({"kind": "recommendations", "params": {"model": "../../x"}},
     ["params.model", "auto", "ease", "popularity"]),
    ({"kind": "recommendations", "params": {"embedder": "e5"}},
     ["params.embedder", "use", "tfidf", "none"]),
    ({"kind": "segments", "params": {"force": True}}, ["params.force", "unknown parameter"]),
    ({"kind": "train", "params": {"horizon_days": True}}, ["params.horizon_days"]),
    ({"kind": "train", "params": {"horizon_days": "90"}}, ["params.horizon_days"]),
    ({"kind": "train", "params": {"horizon_days": 0}}, ["params.horizon_days"]),
    ({"kind": "ingest", "params": {"table": "orders", "path": "a\x00.csv"}},
     ["params.path", "control characters"]),
    ({"kind": "ingest", "params": {"table": "orders", "path": "a" * 600 + ".csv"}},
     ["params.path", "inside the ingest root"]),
    ({"kind": "ingest", "params": {"table": "pwned", "path": "x.csv"}},
     ["params.table", "orders"]),
    ({"kind": "ingest", "params": {"table": "orders", "path": "x.csv", "preset": "../x"}},
     ["params.preset", "online-retail"]),
    ({"kind": "ingest", "params": {"path": "x.csv"}}, ["params.table"]),
])
def test_bad_job_parameters_are_refused_before_queueing(hard: Api, body: dict[str, Any],
                                                        needles: list[str]) -> None:
    before = len(hard.get("/api/v1/jobs").json()["items"])
    err = assert_error(hard.post("/api/v1/jobs", role="write", json=body), 422)
    for needle in needles:
        assert needle in err["message"], err
    assert len(hard.get("/api/v1/jobs").json()["items"]) == before


def test_valid_job_parameters_are_typed_with_defaults() -> None:
    assert validate_params("recommendations", {"embedder": "tfidf"}).model_dump() == {
        "model": "auto", "embedder": "tfidf"}
    assert validate_params("train", {"task": "propensity", "horizon_days": 30}).model_dump() \
        == {"task": "propensity", "horizon_days": 30}
    assert validate_params("segments", {}).model_dump() == {}
    with pytest.raises(ConfigError, match="kind must be one of"):
        validate_params("rm -rf", {})


def test_the_job_queue_is_bounded(hard: Api) -> None:
    srv = hard.client.app.state.server
    ids: list[str] = []
    with srv.gate.read():  # the worker waits for this read: jobs stay queued
        for _ in range(3):  # one taken by the worker (waiting for the gate) + two queued
            r = hard.post("/api/v1/jobs", role="write", json={"kind": "cohorts"})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        r = hard.post("/api/v1/jobs", role="write", json={"kind": "cohorts"})
        err = assert_error(r, 429, "queue_full")
        assert "at most 2" in err["message"] and int(r.headers["Retry-After"]) >= 1
    assert [hard.wait_job(i)["status"] for i in ids] == ["succeeded"] * 3
    r = hard.post("/api/v1/jobs", role="write", json={"kind": "cohorts"})
    assert r.status_code == 202 and hard.wait_job(r.json()["id"])["status"] == "succeeded"


def test_demo_job_needs_admin_and_an_empty_warehouse(hard: Api) -> None:
    err = assert_error(hard.post("/api/v1/jobs", role="write", json={"kind": "demo"}), 403)
    assert "admin" in err["message"]
    r = hard.post("/api/v1/jobs", role="admin", json={"kind": "demo"})
    with duckdb.connect(str(hard.settings.warehouse), read_only=True) as con:
        (orders,) = con.execute("SELECT count(*) FROM orders").fetchone() or (0,)
    assert orders > 0
    assert "only runs on an empty warehouse" in assert_error(r, 409, "conflict")["message"]


@pytest.mark.slow
def test_demo_job_runs_alone_on_an_empty_warehouse(tmp_path: Path) -> None:
    settings = Settings.load(warehouse=tmp_path / "warehouse.duckdb", env={})
    admin = create_key(ctx_of(settings), "admin")["key"]
    with client_for(settings) as client:
        api = Api(client, settings, {"admin": admin, "read": admin})
        first = api.post("/api/v1/jobs", role="admin", json={"kind": "demo"})
        assert first.status_code == 202
        second = api.post("/api/v1/jobs", role="admin", json={"kind": "demo"})
        assert "runs alone" in assert_error(second, 409, "conflict")["message"]
        assert api.wait_job(first.json()["id"], 300)["status"] == "succeeded"
        assert api.get("/api/v1/kpis").json()["customers"] > 0
        again = api.post("/api/v1/jobs", role="admin", json={"kind": "demo"})
        assert "empty warehouse" in assert_error(again, 409, "conflict")["message"]
        # The check is made again when the job starts (two submits can race).
        with pytest.raises(WarehouseError, match="only runs on an empty warehouse"):
            client.app.state.server.write(demo_job, Context.from_settings(settings))


# -- 7. ids normalised like ingestion ------------------------------------------------------------
def test_float_formatted_ids_find_the_customer(hard: Api) -> None:
    with duckdb.connect(str(hard.settings.warehouse), read_only=True) as con:
        (cid,) = con.execute("SELECT customer_id FROM profiles WHERE regexp_matches("
                             "customer_id, '^[0-9]+$') ORDER BY monetary DESC LIMIT 1"
                             ).fetchone() or ("",)
        (pid,) = con.execute("SELECT product_id FROM recommendations WHERE regexp_matches("
                             "product_id, '^[0-9]+$') GROUP BY 1 ORDER BY count(*) DESC, 1 "
                             "LIMIT 1").fetchone() or ("",)
    assert cid and pid
    for suffix in (".0", ".000"):
        prof = hard.get(f"/api/v1/customers/{cid}{suffix}")
        assert prof.status_code == 200 and prof.json()["customer_id"] == cid
        for tail in ("/segment", "/scores", "/reviews"):
            r = hard.get(f"/api/v1/customers/{cid}{suffix}{tail}")
            assert r.status_code == 200 and r.json()["customer_id"] == cid, tail
        rec = hard.get(f"/api/v1/customers/{cid}{suffix}/recommendations")
        assert rec.json() == hard.get(f"/api/v1/customers/{cid}/recommendations").json()
        assert hard.get(f"/api/v1/products/{pid}{suffix}/similar").json()["product_id"] == pid
    cold = hard.get(f"/api/v1/customers/new-one/recommendations?history={pid}.0,%20").json()
    assert cold["source"] == "cold_start:content"
    assert hard.get(f"/api/v1/customers/{cid}.5").status_code == 404

