"""Labels look only at [as_of, as_of + horizon); known answers on a hand-made order book."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from insightloop.features.labels import churn_labels, purchase_labels, response_labels
from insightloop.storage.warehouse import Warehouse

AS_OF = datetime(2020, 2, 1)


def _warehouse() -> Warehouse:
    wh = Warehouse(":memory:")
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"],
        "line_no": 1,
        # a: buys before and inside the window; b: cancelled inside; c: returned-only
        # before; d: first order inside the window; e: buys exactly at the window end
        "customer_id": ["a", "a", "b", "b", "c", "d", "e", None],
        "product_id": "p",
        "quantity": [1, 2, 1, 1, -1, 1, 1, 5],
        "unit_price": 1.0,
        "order_time": pd.to_datetime(["2020-01-01", "2020-02-10", "2020-01-05", "2020-02-03",
                                      "2020-01-20", "2020-02-05", "2020-01-10",
                                      "2020-02-02"]),
        "status": ["completed", "completed", "completed", "cancelled", "returned",
                   "completed", "completed", "completed"],
    })
    extra = pd.DataFrame({"order_id": ["o9"], "line_no": 1, "customer_id": ["e"],
                          "product_id": "p", "quantity": [1], "unit_price": 1.0,
                          "order_time": pd.to_datetime(["2020-03-02"]),
                          "status": [None]})
    sends = pd.DataFrame({
        "send_id": ["s1", "s2", "s3", "s4"], "campaign_id": "c1",
        "customer_id": ["a", "b", "b", "c"],
        "send_time": pd.to_datetime(["2020-02-02", "2020-02-03", "2020-02-04", "2020-01-15"]),
        "converted": [True, False, None, True],
    })
    with wh.connect() as con:
        for name, frame in (("orders", orders), ("orders", extra), ("sends", sends)):
            con.register("f", frame)
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM f")
            con.unregister("f")
    return wh


@pytest.fixture(scope="module")
def labels() -> dict[str, dict[str, int]]:
    wh = _warehouse()
    with wh.connect() as con:
        b = wh.ibis(con)
        out = {}
        for name, fn, table in (("churn", churn_labels, "orders"),
                                ("purchase", purchase_labels, "orders"),
                                ("response", response_labels, "sends")):
            frame = fn(b.table(table), AS_OF, 30).to_pandas()
            assert (frame["as_of"] == pd.Timestamp(AS_OF)).all()
            out[name] = dict(zip(frame["customer_id"], frame["label"], strict=True))
    return out


def test_churn_labels(labels: dict) -> None:
    # a bought again (not churned); b's only window order is cancelled (churned);
    # c never bought (not in population); d starts after as_of; e buys on day 30 = outside
    assert labels["churn"] == {"a": 0, "b": 1, "e": 1}


def test_purchase_labels(labels: dict) -> None:
    assert labels["purchase"] == {"a": 1, "b": 0, "c": 0, "e": 0}


def test_response_labels(labels: dict) -> None:
    # c's send is before the window; b's unknown conversion counts as no
    assert labels["response"] == {"a": 1, "b": 0}


def test_horizon_must_be_positive() -> None:
    wh = _warehouse()
    with wh.connect() as con, pytest.raises(ValueError, match="positive"):
        churn_labels(wh.ibis(con).table("orders"), AS_OF, 0)
