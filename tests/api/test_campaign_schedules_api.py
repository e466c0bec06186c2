"""The campaign-schedule endpoints (list: read; create, pause, resume, delete: write) and
the jobs ``campaign_tick`` and ``campaign_bounces``, over an outbox campaign."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaign_data import build_warehouse
from insightloop.api.config import ServeConfig
from insightloop.settings import Settings
from insightloop.storage.operational.engine import forget_stores
from serving_helpers import Api, client_for, make_keys

BASE = "/api/v1/campaign-schedules"
BODY = {"name": "Api sched", "audience_where": "recency_days >= 100", "channel": "outbox",
        "subject": "Hi", "body": "Hello {{ name }}", "holdout": 0.25, "seed": 7}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("campaign-schedules-api")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INSIGHTLOOP_QUIET_HOURS", "off")
        mp.setenv("INSIGHTLOOP_FREQUENCY_CAPS", "off")
        build_warehouse(folder / "wh.duckdb")
        settings = Settings.load(warehouse=folder / "wh.duckdb", env={})
        keys = make_keys(settings)
        shutil.copytree(FIXTURES, folder / "inbox" / "bounces")
        config = ServeConfig(ingest_root=folder / "inbox", rate_per_s=10_000, burst=10_000,
                             failed_auth_per_s=10_000, failed_auth_burst=10_000)
        with client_for(settings, config) as client:
            yield Api(client, settings, keys)
    forget_stores()


def test_schedules_through_the_api_and_the_tick_job(api: Api) -> None:
    sent = api.wait_job(api.post("/api/v1/campaigns", role="write", json=BODY).json()["id"])
    assert sent["status"] == "succeeded", sent
    made = api.post(BASE, role="write", json={"campaign": "api-sched",
                                              "at": "2020-01-01T00:00:00", "name": "once"})
    assert made.status_code == 201, made.text
    assert made.json()["next_run_at"] == "2020-01-01T00:00:00"
    assert api.post(BASE, role="read", json={"campaign": "api-sched", "every": "1d"}
                    ).status_code == 403
    assert [s["name"] for s in api.get(BASE).json()["schedules"]] == ["once"]
    assert api.post(f"{BASE}/once/pause", role="write").json()["enabled"] is False
    assert api.post(f"{BASE}/once/resume", role="write").json()["enabled"] is True
    job = api.wait_job(api.post("/api/v1/jobs", role="write",
                                json={"kind": "campaign_tick"}).json()["id"])
    assert job["status"] == "succeeded", job
    [ran] = job["result"]["scheduled"]
    assert ran["campaign_id"] == "api-sched-2020-01-01t00-00" and ran["sent"] > 0
    again = api.wait_job(api.post("/api/v1/jobs", role="write",
                                  json={"kind": "campaign_tick"}).json()["id"])
    assert again["result"]["scheduled"] == []
    assert api.client.delete(f"{BASE}/once", headers={"X-API-Key": api.keys["write"]}
                             ).json()["runs"] == 1
    assert api.get(BASE).json()["schedules"] == []
    assert api.post(f"{BASE}/once/pause", role="write").status_code == 404
    bad = api.post(BASE, role="write", json={"campaign": "api-sched", "every": "weekly"})
    assert bad.status_code == 422 and "weekly" in bad.text


def test_the_bounce_import_job_reads_inside_the_ingest_root(api: Api) -> None:
    job = api.wait_job(api.post("/api/v1/jobs", role="write", json={
        "kind": "campaign_bounces", "params": {"path": "bounces/soft.mbox"}}).json()["id"])
    assert job["status"] == "succeeded", job
    assert (job["result"]["messages"], job["result"]["soft"]) == (2, 2)
    outside = api.post("/api/v1/jobs", role="write", json={
        "kind": "campaign_bounces", "params": {"path": "../../etc"}})
    assert outside.status_code == 422, outside.text


def test_the_server_ticks_due_schedules_itself_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLOOP_QUIET_HOURS", "off")
    monkeypatch.setenv("INSIGHTLOOP_FREQUENCY_CAPS", "off")
    monkeypatch.setenv("INSIGHTLOOP_CAMPAIGN_TICK_S", "0.2")
    build_warehouse(tmp_path / "wh.duckdb")
    settings = Settings.load(warehouse=tmp_path / "wh.duckdb", env={})
    keys = make_keys(settings)
    try:
        with client_for(settings) as client:
            api = Api(client, settings, keys)
            sent = api.wait_job(api.post("/api/v1/campaigns", role="write",
                                         json={**BODY, "name": "Auto"}).json()["id"])
            assert sent["status"] == "succeeded", sent
            made = api.post(BASE, role="write", json={"campaign": "auto",
                                                      "at": "2020-01-01T00:00:00"})
            assert made.status_code == 201
            deadline = time.monotonic() + 60
            ticks: list[dict[str, object]] = []
            while time.monotonic() < deadline and not ticks:
                ticks = [j for j in api.get("/api/v1/jobs").json()["items"]
                         if j["kind"] == "campaign_tick" and j["status"] == "succeeded"]
                time.sleep(0.2)
            assert ticks, "the server queued no campaign_tick"
            [listed] = api.get(BASE).json()["schedules"]
            assert listed["runs"] == 1 and listed["next_run_at"] is None
            ran = api.get("/api/v1/campaigns/auto-2020-01-01t00-00").json()
            assert ran["delivered"] > 0
            time.sleep(0.6)  # nothing due any more: no further ticks
            later = [j for j in api.get("/api/v1/jobs").json()["items"]
                     if j["kind"] == "campaign_tick"]
            assert len(later) == 1
    finally:
        forget_stores()
