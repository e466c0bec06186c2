"""How numbers, money and column names are shown: the one helper the dashboard and the HTML
report both use.

- :data:`LABELS` maps column names to readable labels (``recency_days`` -> "Days since last
  order"); :func:`label` falls back to the name with underscores as spaces.
- :class:`Formatter` formats money with the currency (``INSIGHTLOOP_CURRENCY``, else the
  currency most orders carry, else GBP, the bundled Online Retail sample's) and numbers with
  the separators of ``INSIGHTLOOP_LOCALE`` (``en`` by default; ``de``, ``fr``, ``es``,
  ``it``, ``nl``, ``pt``, ``sv``, ``ja``, ``zh`` known). Money always has the currency's
  decimals (two for pounds), never a varying number of them.
- :data:`KINDS` says how a column's values are shown (money, a share, a whole number...).

CSV exports never go through this module: they carry plain, unformatted numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from insightloop.errors import InsightloopError
from insightloop.services.context import Context

Kind = Literal["money", "share", "count", "number", "days", "date", "text"]

#: Readable labels of the columns the dashboard, the report and the exports show.
LABELS: dict[str, str] = {
    "customer_id": "Customer", "country": "Country", "channel": "Channel",
    "as_of": "Profile date", "first_order_time": "First order", "last_order_time": "Last order",
    "recency_days": "Days since last order", "tenure_days": "Days since first order",
    "frequency": "Orders", "n_orders": "Orders (incl. returns)", "monetary": "Net spend",
    "gross_revenue": "Gross spend", "avg_order_value": "Average order value",
    "n_items": "Items bought", "n_lines": "Order lines", "n_returns": "Returns",
    "return_rate": "Return rate", "inter_purchase_days": "Days between orders",
    "orders_30d": "Orders, last 30 days", "orders_90d": "Orders, last 90 days",
    "orders_365d": "Orders, last 365 days", "revenue_30d": "Spend, last 30 days",
    "revenue_90d": "Spend, last 90 days", "revenue_365d": "Spend, last 365 days",
    "fav_product_1": "Favourite product", "fav_product_2": "Second favourite product",
    "fav_product_3": "Third favourite product", "fav_category_1": "Favourite category",
    "fav_category_2": "Second favourite category", "fav_category_3": "Third favourite category",
    "preferred_weekday": "Preferred weekday", "preferred_hour": "Preferred hour",
    "last_activity_time": "Last activity", "n_events": "Events",
    "r_score": "Recency score", "f_score": "Frequency score", "m_score": "Monetary score",
    "rfm_score": "RFM score", "rfm_segment": "RFM segment", "value_tier": "Value tier",
    "segment_id": "Segment id", "segment_name": "Segment", "strategy": "Suggested action",
    "clv": "Predicted CLV (12 months)", "clv_p_alive": "P(alive)", "p_alive": "P(alive)",
    "clv_expected_purchases_12m": "Expected orders (12 months)",
    "expected_purchases_12m": "Expected orders (12 months)",
    "clv_expected_avg_value": "Expected order value", "expected_avg_value":
    "Expected order value", "churn_score": "Churn risk", "churn_version": "Churn model version",
    "churn_reasons": "Churn reasons", "value_at_risk": "Value at risk (churn risk × CLV)",
    "sentiment_reviews": "Reviews", "sentiment_avg": "Average sentiment",
    "sentiment_last": "Latest sentiment", "complaint_count": "Complaints",
    "product_id": "Product", "description": "Product name", "score": "Score",
    "reason": "Reason", "reasons": "Reasons", "review_time": "Reviewed", "rating": "Rating",
    "text": "Review", "sentiment_label": "Sentiment", "net_revenue": "Net revenue",
}

#: How the values of a column are shown (columns not listed: by their Python type).
KINDS: dict[str, Kind] = {
    **dict.fromkeys(("monetary", "gross_revenue", "avg_order_value", "clv", "value_at_risk",
                     "revenue_30d", "revenue_90d", "revenue_365d", "clv_expected_avg_value",
                     "expected_avg_value", "net_revenue", "clv_monetary_value"), "money"),
    **dict.fromkeys(("churn_score", "return_rate", "clv_p_alive", "p_alive"), "share"),
    **dict.fromkeys(("frequency", "n_orders", "n_items", "n_lines", "n_returns", "orders_30d",
                     "orders_90d", "orders_365d", "n_events", "complaint_count",
                     "sentiment_reviews"), "count"),
    **dict.fromkeys(("recency_days", "tenure_days", "inter_purchase_days"), "days"),
    **dict.fromkeys(("first_order_time", "last_order_time", "as_of", "last_activity_time",
                     "review_time"), "date"),
}


def label(column: str) -> str:
    """The readable label of a column (its name with spaces when it has none)."""
    return LABELS.get(column) or column.replace("_", " ").capitalize()


# symbol, decimals
_CURRENCIES: dict[str, tuple[str, int]] = {
    "GBP": ("£", 2), "EUR": ("€", 2), "USD": ("$", 2), "JPY": ("¥", 0), "CNY": ("CN¥", 2),
    "AUD": ("A$", 2), "CAD": ("CA$", 2), "CHF": ("CHF\u00a0", 2), "SEK": ("kr", 2),
    "NOK": ("kr", 2), "DKK": ("kr.", 2), "INR": ("₹", 2), "KRW": ("₩", 0),
    "BRL": ("R$", 2), "PLN": ("zł", 2), "HKD": ("HK$", 2), "SGD": ("S$", 2),
}
# thousands separator, decimal mark, symbol after the number
_LOCALES: dict[str, tuple[str, str, bool]] = {
    "en": (",", ".", False), "ja": (",", ".", False), "zh": (",", ".", False),
    "de": (".", ",", True), "es": (".", ",", True), "it": (".", ",", True),
    "pt": (".", ",", True), "nl": (".", ",", False), "fr": ("\u202f", ",", True),
    "sv": ("\u00a0", ",", True),
}
DEFAULT_CURRENCY = "GBP"


@dataclass(frozen=True)
class Formatter:
    """Money and numbers for one currency (ISO 4217 code) and locale (``en``, ``de_DE``...)."""

    currency: str = DEFAULT_CURRENCY
    locale: str = "en"

    @property
    def symbol(self) -> str:
        return _CURRENCIES.get(self.currency, (self.currency + "\u00a0", 2))[0]

    def _seps(self) -> tuple[str, str, bool]:
        return _LOCALES.get(self.locale.replace("-", "_").split("_")[0].lower(),
                            _LOCALES["en"])

    def number(self, value: float, decimals: int = 0) -> str:
        """``value`` with the locale's separators and ``decimals`` decimals."""
        thousands, mark, _ = self._seps()
        text = f"{abs(value):,.{decimals}f}"
        whole, _, frac = text.partition(".")
        out = whole.replace(",", thousands) + (mark + frac if frac else "")
        return ("-" if value < 0 and float(text.replace(",", "")) != 0 else "") + out

    def money(self, value: float | None) -> str:
        """``£1,234.50``, ``1.234,50 €`` ...; "n/a" for None or NaN."""
        if value is None or not math.isfinite(value):
            return "n/a"
        decimals = _CURRENCIES.get(self.currency, ("", 2))[1]
        text = self.number(abs(value), decimals)
        sign = "-" if value < 0 and text.strip("0.,\u202f\u00a0") else ""
        after = self._seps()[2]
        symbol = self.symbol.strip("\u00a0")
        return f"{sign}{text}\u00a0{symbol}" if after else f"{sign}{self.symbol}{text}"

    def share(self, value: float | None, decimals: int = 1) -> str:
        """A probability or share as a percentage (``0.125`` -> ``12.5%``)."""
        if value is None or not math.isfinite(value):
            return "n/a"
        return self.number(value * 100, decimals) + "%"

    def cell(self, value: Any, kind: Kind | None = None) -> str:
        """A table cell: by ``kind`` when given, else by the value's type (whole numbers
        with separators, other numbers with 4 significant digits below 10,000)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, datetime | date) or kind == "date":
            return str(value)[:10] if kind == "date" else str(value)
        if not isinstance(value, int | float):
            return str(value)
        if kind == "money":
            return self.money(float(value))
        if kind == "share":
            return self.share(float(value))
        if kind in ("count", "days") or isinstance(value, int) or abs(value) >= 1e4:
            return self.number(float(value), 0)
        thousands, mark, _ = self._seps()
        text = f"{value:,.4g}"
        return text.replace(",", "\0").replace(".", mark).replace("\0", thousands)

    def column(self, column: str, value: Any) -> str:
        """A value of ``column`` as shown in tables."""
        return self.cell(value, KINDS.get(column))


def data_currency(ctx: Context) -> str | None:
    """The currency most order lines carry (None without orders or a currency column)."""
    try:
        with ctx.read() as con:
            cols = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = "
                "'orders'").fetchall()}
            if "currency" not in cols:
                return None
            row = con.execute("SELECT mode(upper(trim(currency))) FROM orders WHERE "
                              "currency IS NOT NULL AND trim(currency) <> ''").fetchone()
    except InsightloopError:
        return None
    return str(row[0]) if row and row[0] else None


def formatter_for(ctx: Context) -> Formatter:
    """The formatter of a warehouse: the configured currency (``INSIGHTLOOP_CURRENCY``),
    else the data's, else GBP; the configured locale (``INSIGHTLOOP_LOCALE``)."""
    settings = ctx.settings
    currency = settings.currency or data_currency(ctx) or DEFAULT_CURRENCY
    return Formatter(currency.upper(), settings.locale or "en")
