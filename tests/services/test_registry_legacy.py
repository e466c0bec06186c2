"""Model folders written by the previous release (a joblib ``model.pkl``).

They are generated here exactly as the previous ``save_model`` wrote them: ``joblib.dump``
with ``compress=3`` and the file's sha256 in ``metadata.json``.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from insightloop.errors import InputFileError
from insightloop.models.segmentation import DEFAULT_FEATURES, CustomerSegmenter
from insightloop.services.registry import LegacyArtifactWarning, load_model, sha256_file
from insightloop.settings import Settings

TRAIN_META = {"task": "churn", "horizon_days": 90,
              "as_of_dates": ["2011-03-15T00:00:00", "2011-06-13T00:00:00"]}


def _old_release_save(settings: Settings, name: str, model: Any, meta: dict[str, Any]) -> Path:
    folder = Path(settings.models_dir) / name / "v1"
    folder.mkdir(parents=True)
    joblib.dump(model, folder / "model.pkl", compress=3)
    full = {**meta, "name": name, "version": 1, "sha256": sha256_file(folder / "model.pkl")}
    (folder / "metadata.json").write_text(json.dumps(full), encoding="utf-8")
    return folder


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings.load(warehouse=tmp_path / "wh.duckdb", env={})


def _frame() -> Any:
    import pandas as pd

    rng = np.random.default_rng(3)
    return pd.DataFrame(rng.gamma(2.0, 10.0, size=(60, len(DEFAULT_FEATURES))),
                        columns=list(DEFAULT_FEATURES))


def test_previous_release_pickle_loads_read_only_with_a_warning(settings: Settings) -> None:
    frame = _frame()
    model = CustomerSegmenter(k=3, n_init=2).fit(frame)
    _old_release_save(settings, "churn", model, TRAIN_META)
    with pytest.warns(LegacyArtifactWarning, match="earlier release.*insightloop train churn"):
        loaded, meta = load_model(settings, "churn")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    assert meta["version"] == 1
    folder = Path(settings.models_dir) / "churn" / "v1"
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.json", "model.pkl"]  # untouched


def test_previous_release_pickle_of_a_moved_class_asks_for_the_rebuild(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    old = types.ModuleType("insightloop_previous_release")

    class OldModel:  # a class of the earlier release that this one no longer has
        pass

    OldModel.__module__ = old.__name__
    OldModel.__qualname__ = "OldModel"
    old.OldModel = OldModel  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, old.__name__, old)
    _old_release_save(settings, "churn", OldModel(), TRAIN_META)
    monkeypatch.delitem(sys.modules, old.__name__)
    with pytest.raises(InputFileError) as err:
        load_model(settings, "churn")
    message = str(err.value)
    assert "\n" not in message and "earlier insightloop release" in message
    assert message.endswith("rebuild it: insightloop train churn --name churn --horizon-days 90 "
                            "--as-of 2011-03-15 --as-of 2011-06-13")


def test_previous_release_recommender_is_rebuilt_not_unpickled(settings: Settings) -> None:
    _old_release_save(settings, "recommender", {"anything": 1}, {"task": "recommend"})
    with pytest.raises(InputFileError, match=r"rebuild it: insightloop recommend build$"):
        load_model(settings, "recommender")


def test_previous_release_pickle_is_hash_checked(settings: Settings) -> None:
    folder = _old_release_save(settings, "churn", {"w": 1}, TRAIN_META)
    (folder / "model.pkl").write_bytes((folder / "model.pkl").read_bytes() + b"x")
    with pytest.raises(InputFileError, match=r"model\.pkl has sha256"):
        load_model(settings, "churn")
