"""Adding a capability is one declaration plus one registry line.

A toy capability (one table, one job with a typed parameter, one dashboard page, one
``customer_360`` column, one demo stage) is registered by swapping the registry for a test,
and each part shows up where it should: the jobs API accepts and runs the kind and refuses
bad parameters, the navigation and page table have the page, ``customer_360`` has the column,
the demo runs the stage, the personal-data map has the table.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import Field, StrictInt

from insightloop import capabilities
from insightloop.api.job_params import describe, kinds, prepare, validate_params
from insightloop.capabilities import profiles
from insightloop.capabilities.spec import (
    Capability,
    Columns360,
    Job,
    Page,
    Params,
    Stage,
    Table,
)
from insightloop.errors import ConfigError
from insightloop.services.context import Context
from insightloop.services.demo import run_demo
from insightloop.services.profiles import refresh_customer_360
from insightloop.settings import Settings
from insightloop.web.pages import generic_pages, navigation, page_table
from serving_helpers import Api, client_for, make_keys


# The toy service (it stands for the capability's services module) and its declaration (what
# a new module in src/insightloop/capabilities/ holds; counted in docs/architecture.md).
def build_toy(ctx: Context, factor: int = 2) -> dict[str, Any]:
    """The toy service: ``toy_metric = frequency * factor`` per customer, then the view."""
    with ctx.warehouse.transaction() as con:
        con.execute("CREATE OR REPLACE TABLE toy_scores AS SELECT customer_id, "
                    "frequency * ? AS toy_metric FROM profiles", [factor])
        refresh_customer_360(con)
        (n,) = con.execute("SELECT count(*) FROM toy_scores").fetchone() or (0,)
    return {"customers": n, "factor": factor}


# toy declaration: begin
class ToyParams(Params):
    factor: StrictInt = Field(2, ge=1, le=10, description="multiplier of the frequency")


TOY = Capability(
    name="toy",
    summary="A toy metric per customer.",
    tables=(Table("toy_scores", "customer", customer="customer_id"),),
    jobs=(Job("toy", run=f"{__name__}:build_toy", params=ToyParams,
              summary="Build the toy metric"),),
    pages=(Page("/toy", "Toy", "Toy metric", reports=("c_rfm",),
                missing="The toy metric is not built yet: run the toy job.", order=65),),
    customer_360=(Columns360("toy_scores", ("toy_metric",)),),
    demo=(Stage("building the toy metric", run=f"{__name__}:build_toy",
                args=(("factor", 3),)),),
)
# toy declaration: end


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> tuple[Capability, ...]:
    """The real registry plus the toy: the one line adding a capability."""
    swapped = (*capabilities.CAPABILITIES, TOY)
    monkeypatch.setattr(capabilities, "CAPABILITIES", swapped)
    return swapped


@pytest.fixture
def ctx(sample_warehouse: Path, tmp_path: Path) -> Iterator[Context]:
    """A private copy of the sample warehouse (orders ingested, profiles built)."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, target)
    yield Context.from_settings(Settings.load(warehouse=target, env={}))


def frequencies(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(con.execute("SELECT customer_id, frequency FROM profiles").fetchall())


def test_the_job_kind_is_accepted_and_its_params_are_validated(registry: Any) -> None:
    assert "toy" in kinds() and list(kinds())[-2:] == ["toy", "demo"]
    assert validate_params("toy", {"factor": 3}).model_dump() == {"factor": 3}
    assert validate_params("toy", {}).model_dump() == {"factor": 2}
    for bad, needle in (({"factor": 0}, "params.factor"), ({"factor": "3"}, "params.factor"),
                        ({"x": 1}, "unknown parameter for a toy job (parameters: factor)")):
        with pytest.raises(ConfigError, match=re.escape(needle)):
            validate_params("toy", bad)
    toy = next(k for k in describe() if k["kind"] == "toy")
    assert toy["params"]["properties"]["factor"]["maximum"] == 10


def test_the_jobs_api_runs_the_toy_job(registry: Any, ctx: Context) -> None:
    settings = ctx.settings
    keys = make_keys(settings)
    with client_for(settings) as client:
        api = Api(client, settings, keys)
        listed = api.get("/api/v1/jobs/kinds").json()["items"]
        assert "toy" in [k["kind"] for k in listed]
        bad = api.post("/api/v1/jobs", role="write", json={"kind": "toy",
                                                            "params": {"factor": 11}})
        assert bad.status_code == 422 and "params.factor" in bad.json()["error"]["message"]
        r = api.post("/api/v1/jobs", role="write", json={"kind": "toy",
                                                          "params": {"factor": 4}})
        assert r.status_code == 202, r.text
        done = api.wait_job(r.json()["id"])
    assert done["status"] == "succeeded", done
    assert done["params"] == {"factor": 4}
    assert done["result"] == {"customers": len(frequencies(settings.warehouse)), "factor": 4}


def test_the_navigation_and_page_table_have_the_page(registry: Any) -> None:
    nav = navigation()
    assert ("/toy", "Toy") in nav
    # placed by its order: after Sentiment (50), before Data quality (60)... order 65
    assert nav.index(("/toy", "Toy")) == nav.index(("/quality", "Data quality")) + 1
    assert page_table()["/toy"] == (("c_rfm",), "The toy metric is not built yet: run the "
                                                "toy job.")
    assert ("/toy", "Toy metric") in generic_pages()


def test_customer_360_gets_the_column_and_the_demo_runs_the_stage(
        monkeypatch: pytest.MonkeyPatch, ctx: Context) -> None:
    # Only profiles and the toy: the demo runs exactly their stages, in registry order.
    monkeypatch.setattr(capabilities, "CAPABILITIES", (profiles.CAPABILITY, TOY))
    seen: list[str] = []
    steps = run_demo(ctx, on_step=seen.append).steps
    assert seen == ["building customer 360 profiles", "building the toy metric"]
    freq = frequencies(ctx.settings.warehouse)
    assert steps["building the toy metric"] == {"customers": len(freq), "factor": 3}
    with duckdb.connect(str(ctx.settings.warehouse), read_only=True) as con:
        rows = dict(con.execute("SELECT customer_id, toy_metric FROM customer_360").fetchall())
    assert rows == {c: 3 * f for c, f in freq.items()}


def test_the_personal_data_map_has_the_table(registry: Any) -> None:
    assert capabilities.personal_data_map()["toy_scores"] == {
        "capability": "toy", "key": "customer", "customer": "customer_id", "personal": [],
        "view": False}


def test_a_kind_declared_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capabilities, "CAPABILITIES", (*capabilities.CAPABILITIES, TOY, TOY))
    with pytest.raises(ConfigError, match="job kind 'toy' is declared twice"):
        capabilities.jobs()


def test_prepare_gives_the_declared_runner(registry: Any, ctx: Context) -> None:
    run = prepare("toy", validate_params("toy", {"factor": 5}), None, ctx)
    assert run(ctx)["factor"] == 5
