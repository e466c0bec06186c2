"""Ingest: user files into the canonical tables, refused rows kept in quarantine, a log.

The canonical tables and their columns are specified in :mod:`insightloop.storage.schema`
(and ``docs/data-model.md``); the presets in :mod:`insightloop.storage.presets`.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from insightloop.capabilities.spec import Capability, Job, Page, Params, Stage, Table, member

#: Tables a file is loaded into (the keys of ``storage.schema.TABLES``; a test checks it).
TABLES = ("customers", "products", "orders", "events", "reviews", "campaigns", "sends",
          "consents")
#: Column-mapping presets (the keys of ``storage.presets.PRESETS``; a test checks it).
PRESETS = ("online-retail",)
#: A load quarantining more than this share of its rows is refused and rolled back
#: (``insightloop ingest --max-quarantine-share``, job parameter ``max_quarantine_share``).
MAX_QUARANTINE_SHARE = 0.5


class IngestParams(Params):
    table: str = Field(description=f"canonical table: one of {', '.join(TABLES)}")
    path: str = Field(min_length=1, max_length=1024,
                      description="file inside the server's --ingest-root")
    preset: str | None = Field(None, description=f"column mapping: {', '.join(PRESETS)}")
    date_format: str | None = Field(
        None, max_length=200,
        description="how dates are read when the data cannot decide: iso, day-first, "
                    "month-first or a strptime format (default: decided from the data)")
    max_quarantine_share: float = Field(
        MAX_QUARANTINE_SHARE, ge=0.0, le=1.0,
        description="refuse (and roll back) a load quarantining more than this share")

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return member(value, TABLES)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("a path cannot hold control characters (NUL, newline, ...)")
        return value

    @field_validator("preset")
    @classmethod
    def _preset(cls, value: str | None) -> str | None:
        return None if value is None else member(value, PRESETS)


CAPABILITY = Capability(
    name="ingest",
    summary="Files into the canonical tables: validated, refused rows quarantined, logged.",
    tables=(
        Table("customers", "customer", customer="customer_id",
              personal=("email", "name", "city", "gender", "birth_year"),
              doc="one row per customer"),
        Table("products", "product", doc="the catalogue"),
        Table("orders", "order", customer="customer_id", doc="order lines"),
        Table("events", "event", customer="customer_id", personal=("properties",),
              doc="behaviour events; properties are free JSON"),
        Table("reviews", "review", customer="customer_id", personal=("text",),
              doc="product reviews; the text is free text"),
        Table("campaigns", "campaign"),
        Table("sends", "event", customer="customer_id", doc="campaign exposures"),
        Table("consents", "customer", customer="customer_id"),
        Table("quarantine", "none", personal=("raw",),
              doc="refused rows with their raw text: may hold any personal data"),
        Table("ingest_log", "none"),
        Table("schema_version", "none", doc="the warehouse's schema migrations"),
    ),
    jobs=(Job("ingest", run="insightloop.services.ingest:ingest", params=IngestParams,
              files=("path",), summary="Load a file from the ingest root into a table"),),
    pages=(Page("/quality", "Data quality", "Data quality", reports=("b_quality",),
                missing="No data yet: ingest files with `insightloop ingest`.", order=60),),
    demo=(Stage("ingesting the bundled Online Retail sample",
                run="insightloop.services.demo:ingest_sample", key="ingest"),),
)
