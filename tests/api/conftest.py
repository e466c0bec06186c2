from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serving_helpers import Api, serve_copy


@pytest.fixture(scope="module")
def api(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A TestClient over a private copy of the demo warehouse, with a key per role."""
    yield from serve_copy(demo_warehouse, tmp_path_factory.mktemp("api") / "wh")
