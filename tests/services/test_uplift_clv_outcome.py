"""Uplift on predicted CLV: the outcome of a send is the customer's predicted lifetime value
at the end of the window, from the registered CLV model.

``uplift_campaign.shop_files``: a synthetic shop whose customers buy as the CLV models
assume, then a randomised e-mail that makes customers with three or more past orders buy
once more within 30 days. The outcome computed in DuckDB is checked against the CLV
model's Python summary (``summary_from_transactions``) for every customer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.api.job_params import validate_params
from insightloop.errors import ConfigError, WarehouseError
from insightloop.models.clv.data import summary_from_transactions
from insightloop.models.clv.lifetime_value import customer_lifetime_value
from insightloop.services.clv import build_clv
from insightloop.services.context import Context
from insightloop.services.ingest import ingest
from insightloop.services.uplift import build_uplift
from insightloop.services.uplift.sends import clv_outcome, sends_frame
from uplift_campaign import SEND, SHOP_N, campaign_files, shop_files


@pytest.fixture(scope="module")
def clv_ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    folder = tmp_path_factory.mktemp("uplift_clv_wh")
    ctx = ctx_of(folder / "wh.duckdb")
    for table, path in shop_files(folder).items():
        ingest(ctx, table, path)
    return ctx


def test_clv_outcome_needs_a_clv_model(tmp_path: Path) -> None:
    ctx = ctx_of(tmp_path / "wh.duckdb")
    for table, path in campaign_files(tmp_path).items():
        ingest(ctx, table, path)
    with pytest.raises(WarehouseError, match="outcome 'clv' needs a CLV model: run "
                                             "`insightloop clv build` first"):
        build_uplift(ctx, outcome="clv")


def test_the_outcome_is_the_clv_model_s_prediction_at_the_window_end(clv_ctx: Context
                                                                       ) -> None:
    build_clv(clv_ctx, model="mbgnbd")
    models, _ = clv_ctx.models.load("clv")
    with clv_ctx.read() as con:
        frame = sends_frame(con, "jan", 30, "clv")
        orders = con.execute("SELECT customer_id, date_trunc('day', order_time) AS day, "
                             "sum(quantity * unit_price) AS net FROM orders "
                             "WHERE order_time < ? GROUP BY 1, 2",
                             [(SEND + pd.Timedelta(days=30)).to_pydatetime()]).df()
    y = clv_outcome(frame, clv_ctx.models, horizon_months=12)
    ref = summary_from_transactions(orders[orders["net"] > 0], "customer_id", "day", "net",
                                    (SEND + pd.Timedelta(days=30)).floor("D"),
                                    time_unit_days=7.0).reindex(frame["customer_id"])
    expected = customer_lifetime_value(models["purchase"], models["spend"], ref["frequency"],
                                       ref["recency"], ref["T"], ref["monetary_value"], 12,
                                       0.01, 7.0)
    assert len(y) == SHOP_N and np.isfinite(y).all() and (y > 0).all()
    np.testing.assert_allclose(y, expected, rtol=1e-9)


def test_uplift_on_predicted_clv_finds_who_the_e_mail_moves(clv_ctx: Context) -> None:
    build_clv(clv_ctx, model="mbgnbd")
    res = build_uplift(clv_ctx, campaign_id="jan", outcome="clv", model="two_model")
    arm = res["evaluation"][0]
    assert res["outcome"] == "clv" and clv_ctx.models.metadata("uplift")["horizon_months"] == 12
    # one more purchase within the window raises the predicted value of the moved customers
    assert arm["ate"] > 0
    assert arm["uplift_at_k"] is not None and arm["uplift_at_k"] > 1.3 * arm["ate"]
    scores = clv_ctx.warehouse.table("uplift_scores")
    past = clv_ctx.warehouse.query(
        "SELECT customer_id, count(*) AS n FROM orders WHERE order_time < ? GROUP BY 1",
        [SEND.to_pydatetime()]).set_index("customer_id")["n"]
    moved = past.reindex(scores["customer_id"]).to_numpy() >= 3
    # scored as of the last order, the moved customers rank above the others
    assert scores["uplift"].to_numpy()[moved].mean() > scores["uplift"].to_numpy()[~moved].mean()


def test_the_job_takes_the_clv_outcome_and_its_horizon() -> None:
    params = validate_params("uplift", {"outcome": "clv", "horizon_months": 6}).model_dump()
    assert params["outcome"] == "clv" and params["horizon_months"] == 6
    with pytest.raises(ConfigError, match=r"params\.horizon_months"):
        validate_params("uplift", {"outcome": "clv", "horizon_months": 0})
