"""Frames and values as JSON-able Python: what every service returns to the CLI, API and web.

>>> import pandas as pd
>>> records(pd.DataFrame({"a": [1, None], "t": pd.to_datetime(["2011-01-02", None])}))
[{'a': 1.0, 't': '2011-01-02T00:00:00'}, {'a': None, 't': None}]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-able dicts: NaN/NaT to None, numpy scalars and timestamps made plain."""
    return [plain(rec) for rec in frame.to_dict(orient="records")]


def plain(value: Any) -> Any:
    """A JSON-able copy of ``value`` (dicts/lists walked; NaN and NaT become None)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
