"""Path and query parameter types shared by the routers: ids normalised like ingestion.

A customer or product id arrives as text; :func:`insightloop.storage.ids.normalize_id`
turns it into the form ingestion stored (``17841.0`` -> ``17841``), so every endpoint
finds the same rows whichever form a client sends.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator

from insightloop.storage.ids import normalize_id

MAX_ID_CHARS = 128
CustomerId = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS,
                                 description="Customer id as in the warehouse (a trailing "
                                 "`.0` is dropped, as ingestion does)."),
                       AfterValidator(normalize_id)]
ProductId = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS,
                                description="Product id as in the warehouse (a trailing "
                                "`.0` is dropped, as ingestion does)."),
                      AfterValidator(normalize_id)]


def id_list(text: str | None, limit: int = 50) -> list[str] | None:
    """Comma-separated ids, normalised, blanks dropped, at most ``limit`` (None if none)."""
    if not text:
        return None
    ids = [normalize_id(part) for part in text.split(",")]
    return [i for i in ids if i][:limit] or None
