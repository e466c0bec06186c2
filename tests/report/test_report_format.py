"""The one formatting helper (money with the currency, numbers for the locale, readable
labels) and the one partial-period helper, on known answers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
import pytest

from contexts import ctx_of
from insightloop.errors import ConfigError
from insightloop.report.format import Formatter, formatter_for, label
from insightloop.report.periods import add_line, bar_patterns, partial_periods
from insightloop.settings import Settings


@pytest.mark.parametrize(("currency", "locale", "value", "shown"), [
    ("GBP", "en", 1234.5, "£1,234.50"),
    ("GBP", "en_GB", 0.1, "£0.10"),
    ("GBP", "en", -1234567.891, "-£1,234,567.89"),
    ("EUR", "de_DE", 1234.5, "1.234,50\u00a0€"),
    ("EUR", "fr", 1234567.5, "1\u202f234\u202f567,50\u00a0€"),
    ("USD", "en", 12.0, "$12.00"),
    ("JPY", "ja", 1234.4, "¥1,234"),
    ("XYZ", "en", 5, "XYZ\u00a05.00"),
])
def test_money_has_the_currency_and_always_its_decimals(currency: str, locale: str,
                                                        value: float, shown: str) -> None:
    assert Formatter(currency, locale).money(value) == shown


def test_numbers_shares_and_cells() -> None:
    en, de = Formatter("GBP", "en"), Formatter("EUR", "de")
    assert en.money(None) == "n/a" and en.money(float("nan")) == "n/a"
    assert en.share(0.1234) == "12.3%" and de.share(0.1234) == "12,3%"
    assert en.number(1234567) == "1,234,567" and de.number(1234567) == "1.234.567"
    assert [en.cell(None), en.cell(0.123456), en.cell(12345.678), en.cell(7)] == [
        "", "0.1235", "12,346", "7"]
    assert de.cell(0.123456) == "0,1235" and de.cell(12345.678) == "12.346"
    assert en.column("monetary", 4021.1) == "£4,021.10"
    assert en.column("churn_score", 0.5) == "50.0%"
    assert en.column("recency_days", 12.4) == "12"
    assert en.column("last_order_time", "2011-12-09T12:50:00") == "2011-12-09"
    assert en.column("country", "United Kingdom") == "United Kingdom"


def test_labels_are_readable_and_fall_back_to_the_name() -> None:
    assert label("recency_days") == "Days since last order"
    assert label("value_at_risk") == "Value at risk (churn risk × CLV)"
    assert label("some_new_column") == "Some new column"


def test_currency_comes_from_the_setting_then_the_data_then_gbp(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE orders (order_id VARCHAR, currency VARCHAR)")
        con.execute("INSERT INTO orders VALUES ('1', 'eur'), ('2', 'EUR'), ('3', 'USD'), "
                    "('4', NULL)")
    assert formatter_for(ctx_of(Settings.load(warehouse=path, env={}))).currency == "EUR"
    env = {"INSIGHTLOOP_CURRENCY": "usd", "INSIGHTLOOP_LOCALE": "de_DE"}
    fmt = formatter_for(ctx_of(Settings.load(warehouse=path, env=env)))
    assert (fmt.currency, fmt.money(1234.5)) == ("USD", "1.234,50\u00a0$")
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE orders SET currency = NULL")
    assert formatter_for(ctx_of(Settings.load(warehouse=path, env={}))).currency == "GBP"
    with pytest.raises(ConfigError, match="ISO 4217"):
        Settings.load(warehouse=path, env={"INSIGHTLOOP_CURRENCY": "pounds"})


def test_partial_periods_from_the_data_span() -> None:
    # Online Retail: 1 Dec 2010 to 9 Dec 2011 -> December 2011 is partial, December 2010 not.
    found = partial_periods(datetime(2010, 12, 1, 8, 26), datetime(2011, 12, 9, 12, 50))
    assert [(p.start, p.note) for p in found] == [
        (pd.Timestamp("2011-12-01"), "partial month, data to 9 Dec 2011")]
    assert partial_periods(date(2010, 12, 1), date(2011, 11, 30)) == []
    first = partial_periods(date(2011, 1, 15), date(2011, 3, 31))
    assert [p.note for p in first] == ["partial month, data from 15 Jan 2011"]
    both = partial_periods(date(2011, 1, 15), date(2011, 3, 20))
    assert [p.start.month for p in both] == [1, 3]
    one = partial_periods(date(2011, 2, 3), date(2011, 2, 20))
    assert len(one) == 1 and one[0].note == "partial month, data to 20 Feb 2011"
    weeks = partial_periods(date(2024, 1, 1), date(2024, 1, 10), "week")  # Mon 1 .. Wed 10
    assert [p.note for p in weeks] == ["partial week, data to 10 Jan 2024"]
    assert partial_periods(None, date(2024, 1, 1)) == []


def test_a_partial_month_is_drawn_dashed_with_its_note() -> None:
    months = pd.to_datetime(["2011-10-01", "2011-11-01", "2011-12-01"])
    partial = partial_periods(date(2011, 10, 1), date(2011, 12, 9))
    fig = go.Figure()
    add_line(fig, months, [100.0, 120.0, 30.0], partial, name="net revenue", color="#000")
    solid, dashed, marker = fig.data
    assert list(solid.y) == [100.0, 120.0] and solid.line.dash is None
    assert list(dashed.y) == [120.0, 30.0] and dashed.line.dash == "dash"
    assert list(marker.y) == [30.0] and marker.marker.symbol == "circle-open"
    assert [a.text for a in fig.layout.annotations] == ["partial month, data to 9 Dec 2011"]
    assert bar_patterns(months, partial) == ["", "", "/"]
    whole = go.Figure()
    add_line(whole, months, [1.0, 2.0, 3.0], [], name="x", color="#000")
    assert len(whole.data) == 1 and not whole.layout.annotations
