"""Model registry: versions, metadata, hash check, feature check, references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import ConfigError, FeatureMismatchError, InputFileError, NotFoundError
from insightloop.services.registry import (
    check_features,
    list_models,
    load_evaluation,
    load_model,
    parse_ref,
    read_metadata,
    save_model,
)
from insightloop.settings import Settings


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings.load(warehouse=tmp_path / "wh.duckdb", env={})


def test_versions_metadata_and_round_trip(settings: Settings) -> None:
    model = {"weights": np.arange(3)}
    ev = pd.DataFrame({"y": [0, 1], "p": [0.2, 0.7]})
    m1 = save_model(settings, "churn", model, {"task": "churn", "features": {"a": "numeric"},
                                               "metrics": {"auc": 0.7, "rows": 10}}, ev)
    m2 = save_model(settings, "churn", model, {"task": "churn", "features": {"a": "numeric"},
                                               "metrics": {"auc": 0.8, "rows": 12}})
    assert (m1["version"], m2["version"]) == (1, 2)
    assert set(m1["libraries"]) >= {"lightgbm", "scikit-learn", "numpy", "pandas", "python"}
    assert len(m1["sha256"]) == 64
    loaded, meta = load_model(settings, "churn")
    assert meta["version"] == 2 and loaded["weights"].tolist() == [0, 1, 2]
    assert read_metadata(settings, "churn:v1")["metrics"]["auc"] == 0.7
    assert load_evaluation(settings, "churn:1")["p"].tolist() == [0.2, 0.7]
    assert load_evaluation(settings, "churn") is None
    assert [(r["name"], r["version"], r["auc"]) for r in list_models(settings)] == [
        ("churn", 1, 0.7), ("churn", 2, 0.8)]
    on_disk = json.loads((settings.models_dir / "churn" / "v2" / "metadata.json").read_text())
    assert on_disk["name"] == "churn" and on_disk["task"] == "churn"


@pytest.mark.parametrize("fname", ["model.npz", "model.json", "evaluation.parquet"])
def test_tampered_artifact_is_refused(settings: Settings, fname: str) -> None:
    save_model(settings, "m", [1, 2], {"features": {}}, pd.DataFrame({"y": [1], "p": [0.5]}))
    assert load_model(settings, "m")[0] == [1, 2]
    artifact = settings.models_dir / "m" / "v1" / fname
    artifact.write_bytes(artifact.read_bytes() + b"x")
    with pytest.raises(InputFileError, match=f"{fname} has sha256"):
        load_model(settings, "m")


def test_nothing_is_pickled_and_unsafe_values_are_refused(settings: Settings) -> None:
    save_model(settings, "m", {"w": np.arange(3.0), "ids": np.array(["a", "b"], dtype=object)},
               {"features": {}})
    with np.load(settings.models_dir / "m" / "v1" / "model.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    loaded, _ = load_model(settings, "m")
    assert loaded["ids"].dtype == object and loaded["ids"].tolist() == ["a", "b"]
    with pytest.raises(TypeError, match=r"root\['f'\]: cannot save a builtins.builtin_function"):
        save_model(settings, "m", {"f": print}, {"features": {}})
    assert [m["version"] for m in list_models(settings)] == [1]  # nothing half-written


def test_unknown_models_and_bad_references(settings: Settings) -> None:
    assert list_models(settings) == []
    with pytest.raises(NotFoundError, match="no model named 'nope'"):
        load_model(settings, "nope")
    save_model(settings, "m", 1, {"features": {}})
    with pytest.raises(NotFoundError, match=r"versions: \[1\]"):
        read_metadata(settings, "m:7")
    with pytest.raises(ConfigError, match="version"):
        parse_ref("m:latest")
    with pytest.raises(ConfigError, match="invalid model name"):
        parse_ref("../etc")
    assert parse_ref("m:v3") == ("m", 3)


def test_feature_check_lists_missing_and_extra() -> None:
    meta = {"name": "m", "version": 1, "features": {"a": "numeric", "b": "categorical"},
            "dropped": {"id": "identifier (unique per row)"}}
    check_features(meta, ["b", "a", "id", "more"])
    with pytest.raises(FeatureMismatchError, match=r"lacks: \['b'\].*use: \['zz'\]"):
        check_features(meta, ["a", "zz", "id"])
