"""Thompson-sampling bandits in the operational store: the v0002 migration from v0001 (SQLite
and PostgreSQL), deterministic with a seed, a fixed holdout, concurrency-safe across
threads, and learning the better arm."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select

from contexts import ctx_of
from insightloop.errors import ConfigError, NotFoundError
from insightloop.services.context import Context
from insightloop.services.experiments import bandit
from insightloop.settings import Settings
from insightloop.storage.operational.engine import OpsStore, forget_stores
from insightloop.storage.operational.models import ApiKey, Base
from insightloop.storage.operational.schema import alembic_config, head_revision, upgrade
from ops_helpers import ops_url_for


@pytest.fixture(params=["sqlite", "postgresql"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    url = ops_url_for(request.param, tmp_path)
    yield ctx_of(Settings.load(warehouse=tmp_path / "wh.duckdb", env={"INSIGHTLOOP_OPS_URL": url}))
    forget_stores()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_from_v0001_keeps_rows_and_adds_the_bandit_tables(backend: str,
                                                                   tmp_path: Path) -> None:
    store = OpsStore(ops_url_for(backend, tmp_path))
    with store.engine.connect() as conn:
        command.upgrade(alembic_config(conn), "0001")
        conn.commit()
        conn.execute(insert(ApiKey).values(key_id="k1", salt="s", key_hash="h", role="read",
                                           name="old", created_at=datetime(2026, 1, 1)))
        conn.commit()
        assert "bandits" not in inspect(conn).get_table_names()
    done = upgrade(store)
    assert (done.before, done.after) == ("0001", head_revision()) and head_revision() >= "0002"
    with store.engine.connect() as conn:
        assert {"bandits", "bandit_arms"} <= set(inspect(conn).get_table_names())
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert conn.execute(select(ApiKey.name)).scalar() == "old"
    store.dispose()


def test_same_seed_same_assignments_and_a_fixed_holdout(ctx: Context) -> None:
    bandit.create_bandit(ctx, "b1", ["red", "blue", "green"], holdout=0.2, seed=42)
    assert bandit.create_bandit(ctx, "b1", ["red", "blue", "green"], 0.2, 42)["draws"] == 0
    first = [bandit.assign_arm(ctx, "b1")["arm"] for _ in range(30)]
    bandit.create_bandit(ctx, "b2", ["red", "blue", "green"], holdout=0.2, seed=42)
    again = [bandit.assign_arm(ctx, "b2")["arm"] for _ in range(30)]
    assert first == again and len(set(first)) > 1
    held = [bandit.assign_arm(ctx, "b1", f"cust{i}")["holdout"] for i in range(400)]
    again_held = [bandit.assign_arm(ctx, "b1", f"cust{i}")["holdout"] for i in range(400)]
    assert held == again_held and 0.12 < sum(held) / 400 < 0.28
    state = bandit.bandit_state(ctx, "b1")
    assert state["draws"] == 830 and sum(a["pulls"] for a in state["arms"]) == 830


def test_it_learns_the_better_arm(ctx: Context) -> None:
    bandit.create_bandit(ctx, "learn", ["weak", "strong"], holdout=0.0, seed=1)
    for arm, wins, losses in (("weak", 5, 45), ("strong", 20, 30)):
        for _ in range(wins):
            bandit.record_reward(ctx, "learn", arm, 1)
        for _ in range(losses):
            bandit.record_reward(ctx, "learn", arm, 0)
    picks = [bandit.assign_arm(ctx, "learn")["arm"] for _ in range(60)]
    assert picks.count("strong") > 50
    state = {a["arm"]: a for a in bandit.bandit_state(ctx, "learn")["arms"]}
    assert state["strong"]["chance_best"] > 0.99 and state["strong"]["mean"] == 0.4


def test_concurrent_assignments_and_rewards_are_all_counted(ctx: Context) -> None:
    bandit.create_bandit(ctx, "busy", ["a", "b"], holdout=0.1, seed=3)
    draws: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(15):
            got = bandit.assign_arm(ctx, "busy")
            bandit.record_reward(ctx, "busy", got["arm"], 1.0)
            with lock:
                draws.append(got["draw"])

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = bandit.bandit_state(ctx, "busy")
    assert sorted(draws) == list(range(90)) and state["draws"] == 90
    assert sum(a["pulls"] for a in state["arms"]) == 90
    assert sum(a["successes"] for a in state["arms"]) == 90


def test_bad_requests_are_clear(ctx: Context) -> None:
    with pytest.raises(NotFoundError, match="no bandit 'nope'"):
        bandit.assign_arm(ctx, "nope")
    bandit.create_bandit(ctx, "c", ["x", "y"])
    with pytest.raises(NotFoundError, match="has no arm 'z'; its arms are: x, y, holdout"):
        bandit.record_reward(ctx, "c", "z", 1)
    with pytest.raises(ConfigError, match="exists with arms"):
        bandit.create_bandit(ctx, "c", ["x", "y", "w"])
    with pytest.raises(ConfigError, match="2 to 20 distinct arms"):
        bandit.create_bandit(ctx, "d", ["x"])
    with pytest.raises(ConfigError, match="holdout"):
        bandit.create_bandit(ctx, "d", ["x", "holdout"])
    with pytest.raises(ConfigError, match="reward must be between 0 and 1"):
        bandit.record_reward(ctx, "c", "x", 2)
