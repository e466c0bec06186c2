"""The bandit endpoints: create, assign (holdout fixed per customer, deterministic with a
seed), reward, state; roles and documented errors. A fresh warehouse: the bandits live in
the operational store, not in the warehouse."""

from __future__ import annotations

from collections.abc import Iterator

import jsonschema_rs
import pytest

from insightloop.settings import Settings
from insightloop.storage.operational.engine import forget_stores
from serving_helpers import Api, client_for, make_keys

BASE = "/api/v1/experiments"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("bandit-api")
    settings = Settings.load(warehouse=folder / "wh.duckdb", env={})
    keys = make_keys(settings)
    with client_for(settings) as client:
        yield Api(client, settings, keys)
    forget_stores()


def test_create_assign_reward_and_state(api: Api) -> None:
    body = {"id": "hero", "arms": ["a", "b"], "holdout": 0.25, "seed": 7}
    made = api.post(BASE, role="write", json=body)
    assert made.status_code == 201, made.text
    assert [a["arm"] for a in made.json()["arms"]] == ["a", "b", "holdout"]
    assert api.post(BASE, role="write", json=body).status_code == 201  # idempotent
    arms = []
    for i in range(40):
        r = api.post(f"{BASE}/hero/assign", role="write", json={"customer_id": f"c{i % 20}"})
        assert r.status_code == 200, r.text
        arms.append(r.json())
    # the same customer is held out every time, or never
    by_customer: dict[str, set[bool]] = {}
    for i, a in enumerate(arms):
        by_customer.setdefault(f"c{i % 20}", set()).add(a["holdout"])
    assert all(len(v) == 1 for v in by_customer.values())
    assert [a["draw"] for a in arms] == list(range(40))
    rew = api.post(f"{BASE}/hero/reward", role="write", json={"arm": "a", "reward": 1})
    assert rew.status_code == 200 and rew.json()["successes"] == 1
    state = api.get(f"{BASE}/hero").json()
    assert state["draws"] == 40 and sum(a["pulls"] for a in state["arms"]) == 40
    assert sum(a["chance_best"] or 0 for a in state["arms"]) == pytest.approx(1)


def test_same_seed_gives_the_same_arms(api: Api) -> None:
    runs = []
    for name in ("s1", "s2"):
        api.post(BASE, role="write", json={"id": name, "arms": ["x", "y", "z"], "seed": 99})
        runs.append([api.post(f"{BASE}/{name}/assign", role="write", json={}).json()["arm"]
                     for _ in range(15)])
    assert runs[0] == runs[1]


@pytest.mark.parametrize(("method", "url", "role", "body", "status", "code"), [
    ("post", f"{BASE}/missing/assign", "write", {}, 404, "not_found"),
    ("post", f"{BASE}/hero/reward", "write", {"arm": "nope", "reward": 1}, 404, "not_found"),
    ("post", f"{BASE}/hero/reward", "write", {"arm": "a", "reward": 3}, 422,
     "validation_error"),
    ("post", f"{BASE}/hero/assign", "read", {}, 403, "forbidden"),
    ("post", BASE, "write", {"id": "bad", "arms": ["only"]}, 422, "validation_error"),
    ("post", BASE, "write", {"id": "hero", "arms": ["a", "c"], "holdout": 0.25, "seed": 7},
     422, "invalid"),
    ("post", BASE, "write", {"id": "h2", "arms": ["a", "holdout"]}, 422, "invalid"),
    ("get", f"{BASE}/missing", "read", None, 404, "not_found"),
])
def test_errors_are_documented_codes(api: Api, method: str, url: str, role: str,
                                     body: dict | None, status: int, code: str) -> None:
    api.post(BASE, role="write", json={"id": "hero", "arms": ["a", "b"], "holdout": 0.25,
                                       "seed": 7})
    r = api.get(url, role=role) if method == "get" else api.post(url, role=role, json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_the_routes_are_in_the_openapi_spec(api: Api) -> None:
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/experiments", "/api/v1/experiments/{bandit_id}/assign",
            "/api/v1/experiments/{bandit_id}/reward"} <= set(paths)
    assert "404" in paths["/api/v1/experiments/{bandit_id}/assign"]["post"]["responses"]


def test_without_a_key_it_is_401(api: Api) -> None:
    assert api.client.post(f"{BASE}/hero/assign", json={}).status_code == 401


def test_bodies_validate_against_the_documented_schemas(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    api.post(BASE, role="write", json={"id": "schema", "arms": ["a", "b"]})
    calls = [("get", "/api/v1/experiments/{bandit_id}", api.get(f"{BASE}/schema")),
             ("post", "/api/v1/experiments/{bandit_id}/assign",
              api.post(f"{BASE}/schema/assign", role="write", json={})),
             ("post", "/api/v1/experiments/{bandit_id}/reward",
              api.post(f"{BASE}/schema/reward", role="write", json={"arm": "a", "reward": 0}))]
    for method, path, r in calls:
        assert r.status_code == 200, r.text
        schema = spec["paths"][path][method]["responses"]["200"]["content"][
            "application/json"]["schema"]
        root = {**schema, "components": spec["components"]}
        assert list(jsonschema_rs.validator_for(root).iter_errors(r.json())) == [], path
