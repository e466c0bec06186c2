"""Send time from the warehouse: local hours in each customer's zone, machine opens left
out (flagged, or within seconds of a send), orders counted once per order, the population
fallback, the ``send_times`` table; and the backtest of ``evaluate sendtime``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engagement_helpers import make_ctx
from insightloop.errors import ConfigError, InputFileError
from insightloop.services.context import Context
from insightloop.services.engagement.sendtime import best_send_hour, build_send_times
from insightloop.services.engagement.sendtime_eval import evaluate_sendtime_file
from insightloop.storage.warehouse import Warehouse
from shared_data import shared_file

DAYS = pd.date_range("2024-01-08", periods=28, freq="D")  # winter: London = UTC


@pytest.fixture()
def ctx(tmp_path: Path) -> Context:
    crowd = [f"p{i}" for i in range(200)]
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", *crowd],
        "country": ["United Kingdom", "France", "Germany", *["United Kingdom"] * 200],
        "timezone": [None, "Asia/Tokyo", None, *[None] * 200]})
    rows: list[tuple[str, str, pd.Timestamp, str | None]] = []
    for i, cid in enumerate(crowd):  # the population engages around 12:00
        rows += [(cid, "click", DAYS[(i + k) % 28] + pd.Timedelta(hours=12 + off), None)
                 for k, off in enumerate((0, 0, -1, 1))]
    for d in DAYS[:20]:
        rows.append(("a", "open", d + pd.Timedelta(hours=18, minutes=5), None))
        rows.append(("b", "click", d + pd.Timedelta(hours=1), None))  # 10:00 in Tokyo
        rows.append(("a", "open", d + pd.Timedelta(hours=3), '{"machine_open": true}'))
        rows.append(("a", "open", d + pd.Timedelta(hours=4, seconds=3), None))  # on delivery
        rows.append(("a", "view", d + pd.Timedelta(hours=2), None))  # not engagement
    events = pd.DataFrame(rows, columns=["customer_id", "event_type", "event_time",
                                         "properties"])
    events.insert(0, "event_id", [f"e{i}" for i in range(len(events))])
    sends = pd.DataFrame({"send_id": [f"s{i}" for i in range(20)], "campaign_id": "x",
                          "customer_id": "a", "send_time": DAYS[:20] + pd.Timedelta(hours=4)})
    orders = pd.DataFrame({"order_id": ["o1", "o1", "o1"], "line_no": [1, 2, 3],
                           "customer_id": "c", "product_id": ["x", "y", "z"],
                           "quantity": [1, 1, 1], "unit_price": [1.0, 1.0, 1.0],
                           "order_time": pd.Timestamp("2024-01-09 20:00")})
    return make_ctx(tmp_path, customers, events=events, sends=sends, orders=orders)


def test_best_hours_in_local_time_without_machine_opens(ctx: Context) -> None:
    summary = build_send_times(ctx)
    assert summary["machine_opens_excluded"] == 40
    assert summary["population_hour"] == 12 and summary["events"] == 800 + 40 + 1
    out = best_send_hour(ctx, ["a", "b", "c", "nobody"])
    assert list(out.columns) == ["customer_id", "hour", "weekday", "source"]
    assert out["hour"].tolist() == [18, 10, 12, 12]
    assert out["source"].tolist() == ["customer", "customer", "population", "population"]
    table = Warehouse(ctx.settings.warehouse).table("send_times")
    assert len(table) == 203 and table.loc[table.customer_id == "b", "timezone"].item() == \
        "Asia/Tokyo"
    # Without the table the same answer is computed on the fly.
    with Warehouse(ctx.settings.warehouse).transaction() as con:
        con.execute("DROP TABLE send_times")
    assert best_send_hour(ctx, ["a", "b"])["hour"].tolist() == [18, 10]


def _history(tmp_path: Path, rng: np.random.Generator) -> Path:
    # 300 customers, each with a favourite hour (uniform over the day) and 30 events
    # around it over a year.
    cust = np.repeat(np.arange(300), 30)
    fav = rng.integers(0, 24, 300)[cust]
    hours = (fav + rng.choice([-1, 0, 0, 0, 1], cust.size)) % 24
    days = rng.integers(0, 365, cust.size)
    ts = pd.Timestamp("2023-01-01") + pd.to_timedelta(days, "D") + pd.to_timedelta(hours, "h")
    path = tmp_path / "history.csv"
    pd.DataFrame({"who": cust.astype(str), "when": ts}).to_csv(path, index=False)
    return path


def test_evaluate_finds_individual_hours_when_there_are_some(tmp_path: Path) -> None:
    res = evaluate_sendtime_file(_history(tmp_path, np.random.default_rng(3)), "who", "when",
                                 test_days=60)
    assert res["customers"] > 250
    assert res["hit_rate"]["model"] > 0.5 > 0.1 > res["hit_rate"]["population"]
    assert res["mean_abs_hour_error"]["model"] < 1 < res["mean_abs_hour_error"]["random"]
    assert json.loads(json.dumps(res)) == res
    with pytest.raises(ConfigError, match="--test-days 0"):
        evaluate_sendtime_file(tmp_path / "history.csv", "who", "when", test_days=0)
    bad = tmp_path / "bad.csv"
    bad.write_text("who,when\n1,2024-01-01 10:00\n2,yesterday\n")
    with pytest.raises(InputFileError, match=r"row 3, column 'when': 'yesterday'"):
        evaluate_sendtime_file(bad, "who", "when")


@pytest.mark.slow
def test_online_retail_orders_backtest() -> None:
    path = shared_file("online_retail/online_retail.csv")
    res = evaluate_sendtime_file(path, "CustomerID", "InvoiceDate", test_days=90, seed=42)
    assert res["customers"] == 2918 and res["population_hour"] == 12
    # Orders of wholesale buyers: the shrunk profile is level with the population's hour
    # (docs/engagement.md), both far better than a random hour.
    assert abs(res["hit_rate"]["model"] - res["hit_rate"]["population"]) < 0.02
    assert res["hit_rate"]["random"] < 0.06 < 0.14 < res["hit_rate"]["model"]
