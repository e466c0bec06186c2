"""The OpenAPI document describes what the server really sends.

Every 2xx response has a named schema; every error status a route can answer is documented
with the common error body; and real responses (on the demo warehouse) validate against the
documented schemas, with no key the schema does not declare.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import jsonschema_rs
import pytest

from insightloop.api.config import ServeConfig
from serving_helpers import Api, client_for, copy_warehouse, make_keys

API = "/api/v1"
ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture(scope="module")
def spec(api: Api) -> dict[str, Any]:
    doc: dict[str, Any] = api.client.get(f"{API}/openapi.json").json()
    return doc


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items()
            for method, op in ops.items()]


def json_schema(op: dict[str, Any], status: str) -> dict[str, Any]:
    schema: dict[str, Any] = op["responses"][status]["content"]["application/json"]["schema"]
    return schema


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def undeclared(value: Any, schema: dict[str, Any], spec: dict[str, Any], at: str = "$"
               ) -> list[str]:
    """Paths of object keys in ``value`` that ``schema`` does not declare (when it is closed)."""
    schema = resolve(schema, spec)
    if "anyOf" in schema:  # the branch that declares the most of the value's keys
        found = [undeclared(value, s, spec, at) for s in schema["anyOf"]
                 if resolve(s, spec).get("type") != "null" or value is None]
        return min(found, key=len) if found else []
    out: list[str] = []
    if isinstance(value, dict) and schema.get("type") == "object":
        props = schema.get("properties", {})
        for key, item in value.items():
            extra = schema.get("additionalProperties")
            if key in props:
                out += undeclared(item, props[key], spec, f"{at}.{key}")
            elif isinstance(extra, dict):  # a typed map (dict[str, int]): keys are data
                out += undeclared(item, extra, spec, f"{at}.{key}")
            elif extra is not True:
                out.append(f"{at}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for item in value[:20]:
            out += undeclared(item, schema["items"], spec, f"{at}[]")
    return out


def check_body(body: Any, schema: dict[str, Any], spec: dict[str, Any]) -> None:
    root = {**schema, "components": spec["components"]}
    errors = [e.message for e in jsonschema_rs.validator_for(root).iter_errors(body)]
    assert errors == [], errors[:3]
    assert undeclared(body, schema, spec) == []


def test_every_success_response_has_a_named_schema(spec: dict[str, Any]) -> None:
    ops = [(m, p, op) for m, p, op in operations(spec) if p.startswith(API)]
    assert len(ops) >= 18
    untyped = []
    for method, path, op in ops:
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, f"{method} {path} documents no success response"
        for status in ok:
            if set(op["responses"][status]["content"]) == {"text/csv"}:  # CSV exports
                assert op["responses"][status]["content"]["text/csv"]["schema"] == {
                    "type": "string"}, (method, path)
                continue
            schema = json_schema(op, status)
            branches = schema.get("anyOf", [schema])
            if not all("$ref" in b for b in branches):
                untyped.append(f"{method.upper()} {path} {status}: {schema}")
    assert untyped == []
    named = spec["components"]["schemas"]
    assert {"Kpis", "CustomerProfile", "Recommendations", "ErrorBody"} <= set(named)
    for name in ("Kpis", "CustomerProfile", "SegmentSummary"):
        assert named[name]["type"] == "object" and named[name]["properties"], name


def test_every_error_is_the_common_body_and_the_fastapi_default_is_gone(
        spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    missing = []
    for method, path, op in operations(spec):
        statuses = set(op["responses"])
        for status in statuses - {s for s in statuses if s.startswith("2")}:
            assert json_schema(op, status) == {"$ref": ERROR_REF}, (method, path, status)
        need = set()
        if op.get("security"):
            need |= {"401", "403", "429"}
        if op.get("parameters") or op.get("requestBody"):
            need.add("422")
        if op.get("requestBody"):
            need.add("413")
        if need - statuses:
            missing.append(f"{method.upper()} {path}: {sorted(need - statuses)}")
    assert missing == []
    error = resolve({"$ref": ERROR_REF}, spec)
    info = resolve(error["properties"]["error"], spec)
    assert set(info["required"]) == {"code", "message"}


def get_urls(api: Api) -> list[str]:
    first = api.get(f"{API}/customers?limit=1").json()["items"][0]["customer_id"]
    product = api.get(f"{API}/satisfaction?by=product").json()["items"][0]["product"]
    planned = api.get(f"{API}/inventory/plan").json()["rows"][0]["product_id"]
    return [
        f"{API}/health", f"{API}/kpis", f"{API}/segments", f"{API}/segments/0/customers?limit=3",
        f"{API}/customers?limit=3", f"{API}/customers/{first}", f"{API}/customers/{first}/segment",
        f"{API}/customers/{first}/scores", f"{API}/customers/{first}/scores?live=true",
        f"{API}/customers/{first}/recommendations?n=3",
        f"{API}/customers/never-seen/recommendations?n=3&history={product}",
        f"{API}/customers/{first}/reviews", f"{API}/products/{product}/similar?n=3",
        f"{API}/products/{product}/reviews/insights", f"{API}/topics",
        *(f"{API}/satisfaction?by={by}" for by in ("month", "product", "category", "customer")),
        f"{API}/jobs", f"{API}/jobs/kinds", f"{API}/keys", f"{API}/audiences",
        f"{API}/campaigns", f"{API}/campaigns/demo-winback",  # the demo's campaign
        f"{API}/campaigns/demo-winback/ledger?limit=3", f"{API}/audit?limit=5",
        f"{API}/trends", f"{API}/trends/anomalies", f"{API}/inventory/plan",
        f"{API}/inventory/plan/{planned}", f"{API}/trends/items/{planned}/forecast",
        f"{API}/campaign-schedules", f"{API}/assistant/reviews/summary?product={product}",
        f"{API}/assistant/copy/never-written",  # no variants: an empty list
    ]


def route_of(spec: dict[str, Any], url: str, method: str = "get") -> dict[str, Any]:
    """The operation of a concrete URL (its template with ``{...}`` segments)."""
    parts = url.split("?")[0].split("/")
    for path, ops in spec["paths"].items():
        tpl = path.split("/")
        if method in ops and len(tpl) == len(parts) and all(
                t == p or t.startswith("{") for t, p in zip(tpl, parts, strict=True)):
            op: dict[str, Any] = ops[method]
            return op
    raise AssertionError(f"no documented operation for {method.upper()} {url}")


def test_every_get_body_validates_against_its_documented_schema(api: Api,
                                                                spec: dict[str, Any]) -> None:
    checked = set()
    for url in get_urls(api):
        r = api.get(url, role="admin")
        assert r.status_code == 200, (url, r.text[:200])
        op = route_of(spec, url)
        check_body(r.json(), json_schema(op, "200"), spec)
        checked.add(op["operationId"])
    gets = {op["operationId"] for m, p, op in operations(spec)
            if m == "get" and p.startswith(API) and p not in (f"{API}/openapi.json",)
            and "application/json" in op["responses"]["200"]["content"]}  # CSV: own tests
    assert gets - checked <= {op["operationId"] for m, p, op in operations(spec)
                              if p in (f"{API}/jobs/{{job_id}}",  # bandits: their own test
                                       f"{API}/experiments/{{bandit_id}}",
                                       f"{API}/audiences/{{name}}")}  # test_audiences_api


def test_posted_sentiment_validates(api: Api, spec: dict[str, Any]) -> None:
    r = api.post(f"{API}/sentiment", json={"texts": ["great value, fast delivery", "broke"]})
    assert r.status_code == 200
    check_body(r.json(), json_schema(route_of(spec, f"{API}/sentiment", "post"), "200"), spec)


def check_error(r: Any, status: int, spec: dict[str, Any], method: str = "get") -> None:
    """``r`` has ``status``, documented on its route, with a body that validates."""
    assert r.status_code == status, r.text[:200]
    op = route_of(spec, str(r.request.url.path), method)
    assert str(status) in op["responses"], f"{status} not documented on {r.request.url.path}"
    check_body(r.json(), json_schema(op, str(status)), spec)


def test_each_documented_error_status_really_sends_the_documented_body(
        api: Api, spec: dict[str, Any], demo_warehouse: Path, tmp_path: Path) -> None:
    check_error(api.client.get(f"{API}/kpis"), 401, spec)
    check_error(api.get(f"{API}/keys"), 403, spec)
    check_error(api.get(f"{API}/customers/no-such-customer"), 404, spec)
    check_error(api.get(f"{API}/segments/9999/customers"), 404, spec)
    check_error(api.get(f"{API}/customers?limit=0"), 422, spec)
    check_error(api.post(f"{API}/sentiment", json={"texts": []}), 422, spec, "post")
    check_error(api.post(f"{API}/sentiment", json={"texts": ["x" * 2_000_000]}), 413, spec,
                "post")
    # A warehouse whose segments were never built, served with a small bucket per key and
    # a short wait for reads behind a write.
    settings = copy_warehouse(demo_warehouse, tmp_path / "wh")
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("DROP TABLE segments")
    key = {"X-API-Key": make_keys(settings)["read"]}
    config = ServeConfig(rate_per_s=0.001, burst=3, read_wait_s=0.05)
    with client_for(settings, config) as strict:
        check_error(strict.get(f"{API}/segments/0/customers", headers=key), 409, spec)
        srv = strict.app.state.server  # type: ignore[attr-defined]
        with srv.gate.write():
            check_error(strict.get(f"{API}/customers", headers=key), 503, spec)
        assert strict.get(f"{API}/customers", headers=key).status_code == 200
        check_error(strict.get(f"{API}/customers", headers=key), 429, spec)
