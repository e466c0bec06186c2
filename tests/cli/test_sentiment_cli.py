"""`insightloop sentiment "text"`, `sentiment score|train|show`, `topics`, `evaluate sentiment`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.cli.main import main
from sentiment_data import split


def test_one_text_positional_and_explicit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sentiment", "质量很好，物流很快，非常满意", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["label"] == "positive" and out["language"] == "zh"
    assert {a["aspect"] for a in out["aspects"]} >= {"quality", "delivery"}
    assert main(["sentiment", "text", "score", "--json"]) == 0  # a text equal to a command
    assert "label" in json.loads(capsys.readouterr().out)
    assert main(["sentiment", "It broke after two days. Awful."]) == 0
    assert "negative" in capsys.readouterr().out


def test_score_show_topics_on_demo_reviews(sample_warehouse: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from insightloop.services.sentiment import ingest_demo_reviews
    from insightloop.settings import Settings

    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    ingest_demo_reviews(ctx_of(Settings.load(warehouse=wh, env={})))
    assert main(["sentiment", "score", "-w", str(wh), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reviews"] == 528 and out["positive"] + out["negative"] + out["neutral"] == 528
    assert main(["sentiment", "show", "--by", "category", "-w", str(wh), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"]
    assert main(["sentiment", "show", "-w", str(wh)]) == 0
    assert "satisfaction by product" in capsys.readouterr().out
    assert main(["topics", "--k", "4", "-w", str(wh), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    assert main(["sentiment", "show", "--product", "nope", "-w", str(wh)]) == 1
    assert "NotFoundError" in capsys.readouterr().err


def test_evaluate_and_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = labelled_file(tmp_path)
    assert main(["evaluate", "sentiment", "--data", str(data), "--text", "review",
                 "--label", "label", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) >= {"rows", "accuracy", "macro_f1", "reviews_per_second", "model",
                        "abstained"}
    assert res["rows"] == 400 and res["accuracy"] > 0.8
    # the JSON says which classifier answered: `default` is the packaged baseline kind
    assert res["model_kind"] == "baseline" and res["load_seconds"] >= 0
    assert res["model_description"].startswith("hashed n-grams")
    assert main(["evaluate", "sentiment", "--data", str(data), "--text", "review",
                 "--label", "label", "--model", "static", "--json"]) == 0
    static = json.loads(capsys.readouterr().out)
    assert static["model_kind"] == "static" and static["accuracy"] > 0.8
    assert "distilled from multilingual-e5-small" in static["model_description"]
    models = tmp_path / "models"
    env_wh = tmp_path / "w.duckdb"
    import os

    os.environ["INSIGHTLOOP_MODELS"] = str(models)
    try:
        assert main(["sentiment", "train", "--data", str(data), "--text", "review",
                     "--label", "label", "--kind", "baseline", "-w", str(env_wh),
                     "--json"]) == 0
        trained = json.loads(capsys.readouterr().out)
        assert trained["rows"] == 400 and Path(trained["path"]).exists()
        # later commands use the retrained model
        assert main(["sentiment", "good", "-w", str(env_wh), "--json"]) == 0
        assert _model_name(models) == "baseline:labelled.csv"
    finally:
        del os.environ["INSIGHTLOOP_MODELS"]
    capsys.readouterr()
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"review,label\n\xff\xfe,1\n")
    assert main(["evaluate", "sentiment", "--data", str(broken), "--text", "review",
                 "--label", "label", "--json"]) == 2
    assert "broken.csv: line 2: invalid UTF-8" in capsys.readouterr().err


def _model_name(models: Path) -> str:
    from insightloop.services.sentiment import load_sentiment_model
    from insightloop.settings import Settings

    return load_sentiment_model(ctx_of(Settings.load(env={"INSIGHTLOOP_MODELS": str(models)}))).name


def labelled_file(folder: Path) -> Path:
    """200 zh + 200 en test-split reviews (labels mixed: positive/negative and 1/0)."""
    frame = pd.concat([split("zh")[1].sample(200, random_state=3),
                       split("en")[1].sample(200, random_state=3)])
    labels = frame["label"].map({1: "positive", 0: "negative"}).astype(object)
    labels.iloc[::2] = frame["label"].iloc[::2].astype(str)
    path = folder / "labelled.csv"
    pd.DataFrame({"review": frame["text"], "label": labels}).to_csv(path, index=False)
    return path
