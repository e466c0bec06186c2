"""Typed results of the customer list's helpers: the filter choices the dashboard offers and
the chunks a CSV export streams (see :mod:`insightloop.services.results`)."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class CustomerFilters(TypedDict):
    """The values the customer list can be filtered by, as the warehouse holds them (each
    list empty while the column is not built)."""

    segment_name: list[str]
    rfm_segment: list[str]
    value_tier: list[str]
    country: list[str]
    sort: list[str]


class CsvChunk(TypedDict):
    """Rows of a CSV export (no header): ``text`` holds ``rows`` lines of ``columns``;
    ``total`` is the number of rows the filter matches (first chunk only, else None);
    ``after`` is where the next chunk starts (None at the end of the list)."""

    columns: list[str]
    text: str
    rows: int
    total: int | None
    after: list[Any] | None
