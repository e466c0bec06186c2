"""Typed results of the audiences services (``services.audiences``)."""

from __future__ import annotations

from typing_extensions import TypedDict


class AudienceCount(TypedDict):
    """A filter counted live on ``customer_360``: its canonical form and a sample of members."""

    where: str
    canonical: str
    count: int
    total: int
    sample: list[str]


class AudienceVersion(TypedDict):
    """One saved version of an audience."""

    version: int
    filter: str
    canonical: str
    description: str
    created_at: str
    created_by: str
    last_count: int | None


class AudienceInfo(AudienceVersion):
    """A saved audience (its latest version, or the one asked for), with every version and,
    when counted live, the count now and a sample of members (``live_error``: why the filter
    no longer runs on the warehouse, e.g. a column that is gone)."""

    name: str
    versions: list[AudienceVersion]
    count: int | None
    sample: list[str]
    live_error: str | None


class AudienceSaved(TypedDict):
    """``audiences create``: the audience as saved; ``created`` is False when the name
    already had this filter (no new version)."""

    name: str
    version: int
    created: bool
    canonical: str
    count: int


class AudienceSummary(TypedDict):
    """One row of ``audiences list``: the latest version, with its live count."""

    name: str
    version: int
    versions: int
    canonical: str
    description: str
    created_at: str
    last_count: int | None
    count: int | None
    live_error: str | None


class AudienceDeleted(TypedDict):
    name: str
    versions: int


class AudienceExport(TypedDict):
    """``audiences export``: where the members went, in which format, with which columns."""

    name: str
    version: int
    path: str
    format: str
    rows: int
    columns: list[str]


class AudienceDemoRow(TypedDict):
    name: str
    version: int
    count: int


class AudienceDemo(TypedDict):
    """The demo's audiences stage: what it saved, and what it skipped (name -> reason)."""

    saved: list[AudienceDemoRow]
    skipped: dict[str, str]
