"""The one service context: built from settings, it carries their warehouse options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import WarehouseError
from insightloop.services.context import Context
from insightloop.settings import Settings


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings.from_mapping({"warehouse": str(tmp_path / "w.duckdb"),
                                  "models_dir": str(tmp_path / "models"), **extra})


def test_context_warehouse_keeps_memory_limit(tmp_path: Path) -> None:
    ctx = Context.from_settings(_settings(tmp_path, memory_limit="300MB"))
    assert ctx.warehouse.memory_limit == "300MB"
    assert ctx.engine.name == "duckdb" and not ctx.engine.is_spark
    with ctx.warehouse.connect() as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert limit is not None and "286" in str(limit[0])  # 300 MB = 286.1 MiB


def test_context_warehouse_keeps_read_only(tmp_path: Path) -> None:
    with Context.from_settings(_settings(tmp_path)).warehouse.transaction():
        pass  # create the file
    ro = Context.from_settings(_settings(tmp_path, read_only=True))
    with pytest.raises(WarehouseError), ro.warehouse.transaction():
        pass


def test_context_model_store_round_trip(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    ctx = Context.from_settings(_settings(tmp_path))
    assert ctx.models.list() == []
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(x, [0, 0, 1, 1])
    meta = ctx.models.save("toy", model, {"task": "toy"},
                           pd.DataFrame({"y": [0, 1], "p": [0.2, 0.8]}))
    loaded, meta2 = ctx.models.load("toy")
    assert meta2["version"] == meta["version"] == 1
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x))
    assert [m["name"] for m in ctx.models.list()] == ["toy"]
    ev = ctx.models.evaluation("toy")
    assert ev is not None and list(ev["p"]) == [0.2, 0.8]
