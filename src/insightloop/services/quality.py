"""Use case: the data-quality report of a warehouse (read-only)."""

from __future__ import annotations

from pathlib import Path

from insightloop.features.quality import QualityReport, compute_quality
from insightloop.services.context import Context


def quality_report(ctx: Context) -> QualityReport:
    """Measure missing values, duplicates, outliers, cancellations and quarantine.

    Parameters
    ----------
    ctx : Context
        Its warehouse is inspected; opened read-only, nothing is changed.

    Returns
    -------
    QualityReport
        Counts and thresholds; ``as_dict()`` gives the JSON form.

    Raises
    ------
    WarehouseError
        If the warehouse file does not exist.
    """
    warehouse = ctx.warehouse
    with warehouse.connect(read_only=isinstance(warehouse.path, Path)) as con:
        return compute_quality(con)
