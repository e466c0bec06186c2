"""Campaign response end to end: sends ingested from a file, labels, training, scoring.

Known answer: conversions are generated so that customers who bought in the 60 days
before a send convert with probability 0.6 and the rest with 0.05, so a model on
point-in-time profiles must find recency (AUC well above 0.5) and rank recent buyers
first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from predict_helpers import sample_settings

from contexts import ctx_of
from insightloop.services.scoring import score_warehouse
from insightloop.services.training import train_task, training_set
from insightloop.settings import Settings
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse

SENDS = [datetime(2011, 5, 2), datetime(2011, 7, 4), datetime(2011, 9, 5), datetime(2011, 11, 7)]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("response")
    settings = sample_settings(folder)
    orders = Warehouse(settings.warehouse).table("orders")
    buys = orders[orders["customer_id"].notna() & (orders["quantity"] > 0)
                  & (orders["status"] != "cancelled")]
    rng = np.random.default_rng(7)
    rows = []
    for i, when in enumerate(SENDS):
        before = buys[buys["order_time"] < when]
        recent = set(before[before["order_time"] >= when - timedelta(days=60)]["customer_id"])
        for cid in sorted(before["customer_id"].unique()):
            p = 0.6 if cid in recent else 0.05
            rows.append({"campaign": f"K{i}", "customer": cid, "sent": when.isoformat(),
                         "variant": "treatment", "converted": bool(rng.random() < p)})
    path = folder / "sends.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    res = ingest_file(Warehouse(settings.warehouse), "sends", path,
                      mapping={"campaign_id": "campaign", "customer_id": "customer",
                               "send_time": "sent"})
    assert res.rows_quarantined == 0 and res.rows_loaded == len(rows)
    return settings


def test_response_labels_are_the_sends_in_the_window(settings: Settings) -> None:
    frame = training_set(ctx_of(settings), "response", [datetime(2011, 7, 1)], 30)
    sends = Warehouse(settings.warehouse).table("sends")
    orders = Warehouse(settings.warehouse).table("orders")
    known = set(orders[orders["order_time"] < datetime(2011, 7, 1)]["customer_id"].dropna())
    # Sent customers with no order line before the as-of date have no profile to score.
    july = sends[(sends["campaign_id"] == "K1") & sends["customer_id"].isin(known)]
    assert len(frame) == len(july) > 200
    expected = july.set_index("customer_id")["converted"].astype(int).sort_index()
    got = frame.set_index("customer_id")["label"].sort_index()
    assert got.tolist() == expected.tolist()
    assert frame["last_order_time"].lt(pd.Timestamp(2011, 7, 1)).all()


def test_response_model_finds_recency(settings: Settings) -> None:
    meta = train_task(ctx_of(settings), "response", [datetime(2011, 5, 1), datetime(2011, 7, 1)],
                      30, test_as_of=datetime(2011, 9, 1))
    m = meta["metrics"]
    assert m["evaluated_on"] == "test"
    assert m["auc"] > 0.75, m
    summary = score_warehouse(ctx_of(settings), "response")
    assert summary["customers"] == 364
    scores = Warehouse(settings.warehouse).table("scores")
    assert set(scores["model"]) == {"response"} and scores["score"].between(0, 1).all()
