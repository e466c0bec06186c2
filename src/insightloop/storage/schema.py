"""The canonical data model: tables, columns, keys, types and validation rules.

Documented for people in ``docs/data-model.md``; this module is the executable
twin of that page. Ingestion validates every incoming row against these specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from insightloop.errors import SchemaError

ColumnType = Literal["id", "string", "int", "float", "timestamp", "bool", "json"]

SQL_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "timestamp": "TIMESTAMP",
    "bool": "BOOLEAN",
    "json": "VARCHAR",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column and the checks a value must pass."""

    name: str
    type: ColumnType
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    nonzero: bool = False
    allowed: tuple[str, ...] | None = None
    references: tuple[str, str] | None = None  # (table, column), checked when that table has rows
    doc: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns and natural key.

    ``derived_key`` names key columns that ingestion derives when a file does
    not carry them (``line_no`` numbers lines within an order in file order;
    ``*_id`` keys of events/reviews/sends are a hash of the row's content).
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    doc: str = ""
    derived_key: tuple[str, ...] = field(default_factory=tuple)

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required and c.name not in self.derived_key]


ORDER_STATUSES = ("completed", "cancelled", "returned", "pending")
EVENT_TYPES = (
    "view", "cart", "remove_cart", "purchase", "click", "open", "search",
    "wishlist", "login", "signup", "send", "bounce", "unsubscribe",
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "customers",
            (
                ColumnSpec("customer_id", "id", required=True, doc="natural key"),
                ColumnSpec("email", "string"),
                ColumnSpec("name", "string"),
                ColumnSpec("country", "string"),
                ColumnSpec("city", "string"),
                ColumnSpec("signup_time", "timestamp"),
                ColumnSpec("acquisition_channel", "string"),
                ColumnSpec("gender", "string"),
                ColumnSpec("birth_year", "int", minimum=1900, maximum=2030),
            ),
            key=("customer_id",),
            doc="One row per customer.",
        ),
        TableSpec(
            "products",
            (
                ColumnSpec("product_id", "id", required=True),
                ColumnSpec("name", "string"),
                ColumnSpec("category", "string"),
                ColumnSpec("brand", "string"),
                ColumnSpec("price", "float", minimum=0, maximum=1e12),
            ),
            key=("product_id",),
            doc="One row per product (SKU).",
        ),
        TableSpec(
            "orders",
            (
                ColumnSpec("order_id", "id", required=True),
                ColumnSpec("line_no", "int", required=True, minimum=1, maximum=1e9,
                           doc="line within the order; derived from file order when absent"),
                ColumnSpec("customer_id", "id", references=("customers", "customer_id"),
                           doc="NULL for guest checkouts"),
                ColumnSpec("product_id", "id", required=True,
                           references=("products", "product_id")),
                ColumnSpec("quantity", "int", required=True, nonzero=True, minimum=-1e12,
                           maximum=1e12,
                           doc="negative on cancellation/return lines"),
                ColumnSpec("unit_price", "float", required=True, minimum=0, maximum=1e12),
                ColumnSpec("order_time", "timestamp", required=True),
                ColumnSpec("channel", "string"),
                ColumnSpec("status", "string", allowed=ORDER_STATUSES),
                ColumnSpec("country", "string", doc="ship-to country"),
                ColumnSpec("description", "string", doc="line description as exported"),
                ColumnSpec("currency", "string"),
            ),
            key=("order_id", "line_no"),
            derived_key=("line_no",),
            doc="Order lines; cancellations and returns are lines with negative quantity.",
        ),
        TableSpec(
            "events",
            (
                ColumnSpec("event_id", "id", required=True),
                ColumnSpec("customer_id", "id", required=True,
                           references=("customers", "customer_id")),
                ColumnSpec("session_id", "string"),
                ColumnSpec("event_type", "string", required=True),
                ColumnSpec("product_id", "id", references=("products", "product_id")),
                ColumnSpec("event_time", "timestamp", required=True),
                ColumnSpec("properties", "json"),
            ),
            key=("event_id",),
            derived_key=("event_id",),
            doc="Behaviour events (view, cart, purchase, click, open, ...).",
        ),
        TableSpec(
            "reviews",
            (
                ColumnSpec("review_id", "id", required=True),
                ColumnSpec("customer_id", "id", references=("customers", "customer_id")),
                ColumnSpec("product_id", "id", required=True,
                           references=("products", "product_id")),
                ColumnSpec("review_time", "timestamp", required=True),
                ColumnSpec("rating", "float", minimum=1, maximum=5),
                ColumnSpec("text", "string"),
                ColumnSpec("language", "string"),
            ),
            key=("review_id",),
            derived_key=("review_id",),
            doc="Product reviews with optional star rating and free text.",
        ),
        TableSpec(
            "campaigns",
            (
                ColumnSpec("campaign_id", "id", required=True),
                ColumnSpec("name", "string"),
                ColumnSpec("channel", "string"),
                ColumnSpec("objective", "string"),
                ColumnSpec("start_time", "timestamp"),
                ColumnSpec("end_time", "timestamp"),
            ),
            key=("campaign_id",),
            doc="Marketing campaigns.",
        ),
        TableSpec(
            "sends",
            (
                ColumnSpec("send_id", "id", required=True),
                ColumnSpec("campaign_id", "id", required=True,
                           references=("campaigns", "campaign_id")),
                ColumnSpec("customer_id", "id", required=True,
                           references=("customers", "customer_id")),
                ColumnSpec("variant", "string", doc="treatment arm or 'control'"),
                ColumnSpec("send_time", "timestamp", required=True),
                ColumnSpec("opened", "bool"),
                ColumnSpec("clicked", "bool"),
                ColumnSpec("converted", "bool"),
                ColumnSpec("revenue", "float", minimum=0, maximum=1e12),
            ),
            key=("send_id",),
            derived_key=("send_id",),
            doc="Campaign sends / exposures with outcomes.",
        ),
        TableSpec(
            "consents",
            (
                ColumnSpec("customer_id", "id", required=True,
                           references=("customers", "customer_id")),
                ColumnSpec("channel", "string", required=True),
                ColumnSpec("purpose", "string", required=True),
                ColumnSpec("granted", "bool", required=True),
                ColumnSpec("consent_time", "timestamp", required=True),
            ),
            key=("customer_id", "channel", "purpose", "consent_time"),
            doc="Consent grants and withdrawals, newest wins.",
        ),
    )
}

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS quarantine (
    ingest_id VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    file_sha256 VARCHAR,
    line BIGINT,
    column_name VARCHAR,
    reason VARCHAR NOT NULL,
    raw VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
)
"""

INGEST_LOG_DDL = """
CREATE TABLE IF NOT EXISTS ingest_log (
    ingest_id VARCHAR PRIMARY KEY,
    table_name VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    rows_in BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_duplicate BIGINT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL
)
"""


def table_spec(name: str) -> TableSpec:
    """Return the spec of a canonical table, with a helpful error."""
    try:
        return TABLES[name]
    except KeyError:
        raise SchemaError(
            f"unknown table {name!r}; canonical tables are: {', '.join(TABLES)}"
        ) from None


def create_table_sql(spec: TableSpec) -> str:
    cols = ",\n    ".join(
        f"{c.name} {c.sql_type}{' NOT NULL' if c.name in spec.key else ''}"
        for c in spec.columns
    )
    # The natural key is enforced by ingestion, not by a DuckDB index: ART indexes live
    # in memory and would make memory grow with the warehouse.
    return f"CREATE TABLE IF NOT EXISTS {spec.name} (\n    {cols}\n)"
