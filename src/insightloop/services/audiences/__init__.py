"""Audiences: a validated filter language over ``customer_360`` (and the scores,
recommendations and uplift joined to it), counted live; saved, versioned, exported.

Every public name is importable from this package::

    from insightloop.services.audiences import count_audience, create_audience
"""

from __future__ import annotations

from insightloop.features.audiences import ALIASES, FilterError, column_kind
from insightloop.services.audiences.demo import DEMO_AUDIENCES, demo_audiences
from insightloop.services.audiences.live import (
    audience_frame,
    audience_ids,
    audience_schema,
    count_audience,
    describe_audience,
    describe_audiences,
    personal_columns,
)
from insightloop.services.audiences.saved import (
    create_audience,
    delete_audience,
    export_audience,
    get_audience,
    list_audiences,
)

__all__ = ["ALIASES", "DEMO_AUDIENCES", "FilterError", "audience_frame", "audience_ids",
           "audience_schema", "column_kind", "count_audience", "create_audience",
           "delete_audience", "demo_audiences", "describe_audience", "describe_audiences",
           "export_audience", "get_audience", "list_audiences", "personal_columns"]
