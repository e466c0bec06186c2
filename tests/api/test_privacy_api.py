"""Privacy over the API: erasure is admin-only and ends in a 404 for the customer; every API
request lands in the audit log with the key, its role and the route template, never the
customer id; the audit log is admin-only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving_helpers import Api, serve_copy

WHO = "17850"


@pytest.fixture(scope="module")
def priv_api(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_copy(demo_warehouse, tmp_path_factory.mktemp("privacy") / "wh")


def test_erasure_is_admin_only_and_ends_in_404(priv_api: Api) -> None:
    assert priv_api.get(f"/api/v1/customers/{WHO}").status_code == 200
    for role in ("read", "write"):
        refused = priv_api.post("/api/v1/privacy/erase", role, json={"customer_id": WHO})
        assert refused.status_code == 403
    done = priv_api.post("/api/v1/privacy/erase", "admin", json={"customer_id": WHO})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["verification"]["clean"] and body["verification"]["api_404"]
    assert body["warehouse"]["deleted"]["profiles"] == 1
    assert priv_api.get(f"/api/v1/customers/{WHO}").status_code == 404
    assert priv_api.get(f"/api/v1/customers/{WHO}/scores").status_code == 404


def test_requests_are_audited_without_personal_data(priv_api: Api) -> None:
    priv_api.get("/api/v1/customers/13767")
    assert priv_api.get("/api/v1/audit", "read").status_code == 403
    got = priv_api.get("/api/v1/audit", "admin", params={"since": "2000-01-01"})
    assert got.status_code == 200
    entries = got.json()["entries"]
    reads = [e for e in entries if e["action"] == "GET /api/v1/customers/{customer_id}"]
    assert reads and all(e["actor"].endswith("/read") for e in reads)
    assert {e["detail"]["status"] for e in reads} >= {200}
    assert any(e["action"] == "privacy.erase" and e["actor"].endswith("/admin")
               for e in entries)
    text = json.dumps(entries)
    assert WHO not in text and "13767" not in text
    bad = priv_api.get("/api/v1/audit", "admin", params={"since": "yesterday"})
    assert bad.status_code == 422
