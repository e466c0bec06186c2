"""The classic hostile probes (quotes, semicolons, NUL, ``..``, ``%00``, unicode, very long
values) in every path and query parameter of every GET operation: never a 5xx, and every
4xx carries the common error body and the security headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from serving_helpers import Api

PROBES = ["'", "x'; DROP TABLE profiles; --", "\" OR \"\"=\"", "a\x00b", "%00", "..",
          "../../../../etc/passwd", "名前🙂\u202e\u0301", "x" * 10_000, "-1", "1e309", "NaN",
          " ", "17850.0", "\r\nX-Injected: 1"]
NORMAL = {"customer_id": "17850", "product_id": "85123A", "segment_id": "0", "job_id": "x",
          "key_id": "0123456789ab", "bandit_id": "hero", "item": "85123A",
          "name": "champions", "campaign_id": "demo-winback", "brief_id": "spring-sale"}


def operations(api: Api) -> list[tuple[str, list[dict[str, Any]]]]:
    spec = api.client.get("/api/v1/openapi.json").json()
    return [(path, op.get("parameters", [])) for path, methods in spec["paths"].items()
            for method, op in methods.items() if method == "get"]


def test_hostile_values_in_every_parameter_never_give_a_server_error(api: Api) -> None:
    ops = operations(api)
    assert len(ops) >= 14
    failures: list[str] = []
    calls = 0
    for path, params in ops:
        for param in params:
            for probe in PROBES:
                url = path
                for p in params:
                    if p["in"] == "path":
                        value = probe if p["name"] == param["name"] else NORMAL[p["name"]]
                        url = url.replace("{" + p["name"] + "}", quote(value, safe=""))
                query = {param["name"]: probe} if param["in"] == "query" else {}
                r = api.get(url, role="admin", params=query)
                calls += 1
                where = f"{path} {param['name']}={probe[:40]!r}"
                if r.status_code >= 500:
                    failures.append(f"{where} -> {r.status_code} {r.text[:200]}")
                elif r.status_code >= 400:
                    error = r.json().get("error", {})
                    if not {"code", "message"} <= set(error):
                        failures.append(f"{where}: bad error body {r.text[:200]}")
                    if r.headers.get("x-content-type-options") != "nosniff":
                        failures.append(f"{where}: no security headers")
                if "x-injected" in r.headers:
                    failures.append(f"{where}: header injected")
    assert calls >= 200
    assert failures == []


@pytest.mark.parametrize("path", ["/api/v1/customers/%00", "/api/v1/customers/..%2F..%2Fkeys",
                                  "/api/v1/products/%2e%2e/similar", "/api/v1/jobs/%00",
                                  "/api/v1/customers/" + "9" * 129])
def test_hostile_paths_are_client_errors(api: Api, path: str) -> None:
    r = api.get(path)
    assert 400 <= r.status_code < 500 and r.json()["error"]["message"], r.text[:200]
