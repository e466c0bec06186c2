"""Where the tests find data: the real datasets in ``../shared/data`` and the bundled sample.

One place for the path and the skip rule, importable from every test folder
(``pythonpath = ["tests"]`` in pyproject).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "src" / "insightloop" / "data" / "online_retail_sample.csv.gz"


def shared_path(relative: str) -> Path:
    """Path of a file or folder under ``../shared/data`` (it may not exist)."""
    return SHARED_DATA / relative


def shared_file(relative: str) -> Path:
    """Path of a file in ``../shared/data``, or skip the calling test with the reason."""
    path = shared_path(relative)
    if not path.exists():
        pytest.skip(f"real dataset {relative} not found under {SHARED_DATA}")
    return path
