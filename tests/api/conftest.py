from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import Api, client_for, copy_warehouse, make_keys


@pytest.fixture(scope="module")
def api(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A TestClient over a private copy of the demo warehouse, with a key per role."""
    settings = copy_warehouse(demo_warehouse, tmp_path_factory.mktemp("api") / "wh")
    keys = make_keys(settings)
    with client_for(settings) as client:
        yield Api(client, settings, keys)
