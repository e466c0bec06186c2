"""Known export layouts: column mappings plus derived columns for common sources."""

from __future__ import annotations

from dataclasses import dataclass, field

from insightloop.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    """A named source layout.

    ``mapping`` maps canonical column → source column; ``derived`` maps canonical
    column → a DuckDB SQL expression over already-typed canonical columns (used
    when the source has no such column); ``timestamp_formats`` are strptime
    formats tried after ISO 8601.
    """

    name: str
    table: str
    mapping: dict[str, str]
    derived: dict[str, str] = field(default_factory=dict)
    timestamp_formats: tuple[str, ...] = ()
    doc: str = ""


PRESETS: dict[str, Preset] = {
    "online-retail": Preset(
        name="online-retail",
        table="orders",
        mapping={
            "order_id": "InvoiceNo",
            "product_id": "StockCode",
            "description": "Description",
            "quantity": "Quantity",
            "order_time": "InvoiceDate",
            "unit_price": "UnitPrice",
            "customer_id": "CustomerID",
            "country": "Country",
        },
        derived={
            # UCI Online Retail: invoice numbers starting with "C" are cancellations.
            "status": "CASE WHEN order_id ILIKE 'C%' THEN 'cancelled' ELSE 'completed' END",
            "channel": "'online'",
            "currency": "'GBP'",
        },
        timestamp_formats=("%m/%d/%Y %H:%M", "%m/%d/%y %H:%M"),
        doc="UCI Online Retail export (InvoiceNo, StockCode, Description, Quantity, InvoiceDate, "
            "UnitPrice, CustomerID, Country); CC BY 4.0, Chen, Sain & Guo (2012).",
    ),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None
