"""The campaigns endpoints: create-and-send as a job (write role), the list, one campaign and
its ledger (read role); documented errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from campaign_data import NO_RECORD, WITHDRAWN, build_warehouse
from insightloop.settings import Settings
from insightloop.storage.operational.engine import forget_stores
from serving_helpers import Api, client_for, make_keys

BASE = "/api/v1/campaigns"
BODY = {"name": "Outbox test", "audience_where": "recency_days >= 100", "channel": "outbox",
        "subject": "Hi {{ name }}", "body": "Hello {{ name }}", "holdout": 0.25, "seed": 7}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("campaigns-api")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INSIGHTLOOP_QUIET_HOURS", "off")
        mp.setenv("INSIGHTLOOP_FREQUENCY_CAPS", "off")
        build_warehouse(folder / "wh.duckdb")
        settings = Settings.load(warehouse=folder / "wh.duckdb", env={})
        keys = make_keys(settings)
        with client_for(settings) as client:
            yield Api(client, settings, keys)
    forget_stores()


def test_create_runs_a_job_and_the_reads_show_the_ledger(api: Api) -> None:
    made = api.post(BASE, role="write", json=BODY)
    assert made.status_code == 202, made.text
    job = api.wait_job(made.json()["id"])
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["audience"] == 30  # recency_days 100..390
    assert result["sent"] == result["delivered"] == result["audience"] - result["holdout"] - \
        sum(result["suppressed"].values()) - result["failed"]
    listed = api.get(BASE)
    assert listed.status_code == 200
    assert [c["campaign_id"] for c in listed.json()["campaigns"]] == ["outbox-test"]
    one = api.get(f"{BASE}/outbox-test").json()
    assert one["delivered"] == result["delivered"] and one["channel"] == "outbox"
    rows = api.get(f"{BASE}/outbox-test/ledger", params={"status": "delivered"}).json()["rows"]
    assert len(rows) == result["delivered"]
    assert all(r["message_id"].startswith("<outbox-test.") for r in rows)
    assert not {r["customer_id"] for r in rows} & (NO_RECORD | WITHDRAWN)
    again = api.wait_job(api.post(BASE, role="write", json=BODY).json()["id"])
    assert again["result"]["sent"] == 0


def test_roles_and_errors(api: Api) -> None:
    assert api.post(BASE, role="read", json=BODY).status_code == 403
    assert api.get(f"{BASE}/nope").status_code == 404
    bad = api.post(BASE, role="write", json={**BODY, "channel": "pigeon"})
    assert bad.status_code == 422 and "pigeon" in bad.text
    assert api.post(BASE, role="write", json={**BODY, "holdout": 1.0}).status_code == 422
    assert api.get(f"{BASE}/x/ledger", params={"status": "lost"}).status_code == 422
