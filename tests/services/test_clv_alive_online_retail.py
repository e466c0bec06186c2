"""P(alive), CLV, RFM and the churn score agree on the full Online Retail file.

As of 2011-09-01 (the calibration period is everything before it), against who placed
no order in the next 90 days. Before issue 13, `clv build` answered with a degenerate
fit (mean P(alive) 1.0000) whose 1 - P(alive) ranked those customers with ROC AUC 0.354.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from contexts import ctx_of
from insightloop.models.clv.diagnostics import roc_auc
from insightloop.services.clv import build_clv
from insightloop.services.profiles import build_profiles
from insightloop.services.scoring import score_warehouse
from insightloop.services.segments import build_segments
from insightloop.services.training import train_task
from insightloop.settings import Settings
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse
from shared_data import shared_file

AS_OF = datetime(2011, 9, 1)
HORIZON = timedelta(days=90)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict]:
    online_retail = shared_file("online_retail/online_retail.csv")
    path = tmp_path_factory.mktemp("or") / "warehouse.duckdb"
    ingest_file(Warehouse(path), "orders", online_retail, preset="online-retail")
    ctx = ctx_of(Settings.load(warehouse=path, env={}))
    build_profiles(ctx, as_of=AS_OF)
    result = build_clv(ctx, as_of=AS_OF)
    build_segments(ctx)
    train_task(ctx, "churn", [datetime(2011, 6, 1)], 90, model="logistic")
    score_warehouse(ctx, "churn", as_of=AS_OF)
    wh = Warehouse(path)
    with wh.connect(read_only=True) as con:
        frame = con.execute("""
            SELECT c.customer_id, c.p_alive, c.clv, c.frequency, r.r_score, r.f_score,
                   r.m_score, s.score AS churn_score,
                   NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id
                               AND o.quantity > 0 AND o.status <> 'cancelled'
                               AND o.order_time >= ? AND o.order_time < ?) AS churned
            FROM clv c JOIN rfm r USING (customer_id) JOIN scores s USING (customer_id)
        """, [AS_OF, AS_OF + HORIZON]).df()
    return frame, dict(result)


@pytest.mark.slow
def test_p_alive_ranks_churn(built: tuple[pd.DataFrame, dict]) -> None:
    frame, result = built
    assert len(frame) > 3000
    auc = roc_auc(frame["churned"], 1.0 - frame["p_alive"])
    assert auc is not None and auc >= 0.70, (auc, result["model"], result["dropout_prior"])
    assert 0.2 < result["p_alive_mean"] < 0.95  # not "nobody drops out"
    assert result["model"] != "bgnbd+gamma_gamma"  # one-time buyers alive by construction
    assert all(v["se"] is not None for v in result["purchase_summary"].values())


@pytest.mark.slow
def test_scores_agree_in_rank_order(built: tuple[pd.DataFrame, dict]) -> None:
    frame, _ = built

    def rho(a: str, b: str) -> float:
        return float(spearmanr(frame[a], frame[b]).statistic)

    assert rho("p_alive", "churn_score") < -0.3
    assert rho("p_alive", "r_score") > 0.3
    assert rho("clv", "p_alive") > 0.3
    assert rho("clv", "m_score") > 0.3
    assert rho("clv", "churn_score") < -0.2


@pytest.mark.slow
def test_customer_17850_is_not_alive(built: tuple[pd.DataFrame, dict]) -> None:
    """34 orders on two days in December 2010, then silent: not 0.985 alive."""
    frame, _ = built
    row = frame.loc[frame["customer_id"] == "17850"]
    assert len(row) == 1 and int(row["frequency"].iloc[0]) == 1
    assert float(row["p_alive"].iloc[0]) < 0.5
    assert np.isfinite(row["clv"].iloc[0])
