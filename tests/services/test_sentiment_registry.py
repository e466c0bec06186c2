"""`insightloop sentiment train` registers its model as a registry version (arrays + JSON)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pandas as pd

from contexts import ctx_of
from insightloop.services.registry import list_models, read_metadata
from insightloop.services.sentiment import DEFAULT_KIND, load_sentiment_model
from insightloop.services.sentiment.labelled import train_model
from insightloop.services.sentiment.model import USER_MODEL
from insightloop.settings import Settings


def _labelled(tmp_path: Path) -> Path:
    sample = Path(str(importlib.resources.files("insightloop.data") / "reviews_sample.csv.gz"))
    path = tmp_path / "labelled.csv"
    pd.read_csv(sample)[["text", "label"]].to_csv(path, index=False)
    return path


def test_training_registers_versions_that_later_commands_load(tmp_path: Path) -> None:
    settings = Settings.load(warehouse=tmp_path / "wh.duckdb", env={})
    data = _labelled(tmp_path)
    texts = pd.read_csv(data)["text"].astype(str).tolist()[:40]
    packaged = load_sentiment_model(ctx_of(settings)).probabilities(texts)

    first = train_model(ctx_of(settings), data, "text", "label", kind="baseline")
    assert Path(first["path"]) == settings.models_dir / "sentiment" / "v1"
    assert sorted(p.name for p in Path(first["path"]).iterdir()) == [
        "metadata.json", "model.json", "model.npz"]
    model = load_sentiment_model(ctx_of(settings))
    assert model.name == "baseline:labelled.csv"
    retrained = model.probabilities(texts)
    assert not np.allclose(retrained, packaged)  # the registered model is the one used
    assert read_metadata(settings, "sentiment")["task"] == "sentiment"

    second = train_model(ctx_of(settings), data, "text", "label", kind="baseline")
    assert Path(second["path"]).name == "v2"
    assert [(m["name"], m["version"]) for m in list_models(settings)] == [
        ("sentiment", 1), ("sentiment", 2)]
    np.testing.assert_array_equal(load_sentiment_model(ctx_of(settings)).probabilities(texts),
                                  retrained)
    assert not (settings.models_dir / USER_MODEL).exists()  # nothing beside the registry


def test_export_to_a_file_stays_a_portable_npz(tmp_path: Path) -> None:
    settings = Settings.load(warehouse=tmp_path / "wh.duckdb", env={})
    out = tmp_path / "export.npz"
    steps: list[tuple[str, int, int]] = []
    res = train_model(ctx_of(settings), _labelled(tmp_path), "text", "label", output=out,
                      on_progress=lambda step, done, total: steps.append((step, done, total)))
    assert res["path"] == str(out) and out.exists() and list_models(settings) == []
    assert res["kind"] == DEFAULT_KIND
    assert load_sentiment_model(ctx_of(settings), str(out)).name == f"{DEFAULT_KIND}:labelled.csv"
    # a determinate count of steps for the progress bar: reading, fitting, saving
    assert steps[0] == ("reading the labelled file", 0, 0)
    counted = steps[1:]
    assert len({t for _s, _d, t in counted}) == 1 and counted[-1][1] == counted[-1][2] >= 5
    assert [d for _s, d, _t in counted] == sorted(d for _s, d, _t in counted)
    assert "saving" in [s for s, _d, _t in counted]
