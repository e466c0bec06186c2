"""Uplift on the warehouse: sends as treatment/control, outcomes from orders after the
send, point-in-time features from orders before it; the targeting plan under a budget.

A synthetic campaign with a known effect: the e-mail makes customers with three or more
past orders buy (+0.35 within 30 days) and does nothing for the others.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contexts import ctx_of
from insightloop.api.job_params import validate_params
from insightloop.capabilities import uplift as uplift_capability
from insightloop.errors import ConfigError, WarehouseError
from insightloop.models.uplift.learners import LEARNERS
from insightloop.report.pages import uplift as page
from insightloop.services.context import Context
from insightloop.services.ingest import ingest
from insightloop.services.uplift import OUTCOMES, build_uplift, export_audience, plan_uplift
from uplift_campaign import N, campaign_files


@pytest.fixture(scope="module")
def campaign_ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    folder = tmp_path_factory.mktemp("uplift_wh")
    ctx = ctx_of(folder / "wh.duckdb")
    for table, path in campaign_files(folder).items():
        ingest(ctx, table, path)
    return ctx


def test_build_fits_on_sends_and_scores_every_customer(campaign_ctx: Context) -> None:
    res = build_uplift(campaign_ctx, campaign_id="jan", model="two_model")
    assert res["sends"] == N and res["treated"] == ["email"] and res["version"] >= 1
    arm = res["evaluation"][0]
    assert arm["ate"] == pytest.approx(0.35 * 0.6, abs=0.06)  # 3 of 5 past-order counts
    top = arm["uplift_at_k"]
    assert top is not None and top > arm["ate"] + 0.05
    scores = campaign_ctx.warehouse.table("uplift_scores")
    assert len(scores) == res["customers_scored"] == N
    # the sends were randomised: the arm is not predictable from the customers' history
    assert 0.42 < res["balance"]["propensity_auc"] < 0.58
    assert res["balance"]["max_abs_smd"] < 0.1
    meta = campaign_ctx.models.metadata("uplift")
    assert meta["task"] == "uplift" and meta["outcome"] == "conversion"


def test_build_with_the_linear_learner_saves_and_reloads_it(campaign_ctx: Context) -> None:
    res = build_uplift(campaign_ctx, campaign_id="jan", model="linear")
    arm = res["evaluation"][0]
    assert res["model"] == "linear"
    assert arm["uplift_at_k"] is not None and arm["uplift_at_k"] > arm["ate"] + 0.05
    model, meta = campaign_ctx.models.load("uplift")
    assert type(model).__name__ == "LinearUplift" and meta["model"] == "linear"
    assert campaign_ctx.models.metadata("uplift")["version"] == res["version"]


def test_plan_under_a_budget_and_the_audiences(campaign_ctx: Context) -> None:
    build_uplift(campaign_ctx, campaign_id="jan", model="two_model")
    res = plan_uplift(campaign_ctx, budget=100.0, value=20.0, cost=0.5, top=0.3)
    assert res["selected"] == 200 and res["spent"] == pytest.approx(100.0)  # 100 / 0.5
    assert res["customers"] == N and sum(res["by_reason"].values()) == N
    plan = campaign_ctx.warehouse.table("uplift_plan")
    chosen = plan[plan["selected"]]
    assert (chosen["expected_profit"] > 0).all()
    # the plan picks the customers the e-mail moves: most have 3+ past orders
    orders = campaign_ctx.warehouse.query(
        "SELECT customer_id, count(*) AS n FROM orders WHERE order_time < '2024-01-10' "
        "GROUP BY ALL")
    past = orders.set_index("customer_id")["n"]
    assert (past.reindex(chosen["customer_id"]) >= 3).mean() > 0.9
    audiences = campaign_ctx.warehouse.table("uplift_audiences")
    assert set(audiences["audience"]) == {"uplift_plan", "top_30pct_uplift"}
    assert (audiences["audience"] == "top_30pct_uplift").sum() <= int(N * 0.3)
    assert res["audiences"]["uplift_plan"] == 200


def test_bad_requests_are_clear(campaign_ctx: Context, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="outcome must be one of"):
        build_uplift(campaign_ctx, outcome="clicks")
    with pytest.raises(WarehouseError, match="no send with a customer in campaign 'feb'"):
        build_uplift(campaign_ctx, campaign_id="feb")
    with pytest.raises(ConfigError, match=r"a\.xlsx: write the audience to a \.csv"):
        export_audience(campaign_ctx, "uplift_plan", tmp_path / "a.xlsx")
    with pytest.raises(ConfigError, match="does not exist"):
        export_audience(campaign_ctx, "uplift_plan", tmp_path / "no" / "a.csv")
    empty = ctx_of(tmp_path / "empty.duckdb")
    with pytest.raises(WarehouseError, match="does not exist yet"):
        plan_uplift(empty)


def test_jobs_validate_their_parameters() -> None:
    assert validate_params("uplift", {"model": "x", "window_days": 14}).model_dump()[
        "window_days"] == 14
    with pytest.raises(ConfigError, match=r"params\.model"):
        validate_params("uplift", {"model": "s"})
    with pytest.raises(ConfigError, match=r"params\.budget"):
        validate_params("uplift_plan", {"budget": -1})


def test_declared_choices_are_the_code_s() -> None:
    assert tuple(LEARNERS) == uplift_capability.LEARNERS
    assert uplift_capability.OUTCOMES == OUTCOMES


def test_report_page_shows_the_curves_and_the_plan(campaign_ctx: Context, tmp_path: Path
                                                   ) -> None:
    build_uplift(campaign_ctx, campaign_id="jan", model="x")
    plan_uplift(campaign_ctx, budget=50.0, value=20.0, cost=0.5)
    sections = page.build(campaign_ctx)
    assert [s.title for s in sections] == ["Uplift model", "Targeting plan"]
    model, plan = sections
    assert len(model.figures) == 2 and "Model x" in model.intro
    assert "100 customers selected" in plan.intro and "<table>" in plan.tables_html[0]
    assert page.build(ctx_of(tmp_path / "none.duckdb")) == []
