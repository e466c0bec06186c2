"""The default sentiment model: static vectors distilled from e5, stacked with n-grams."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from insightloop.models.sentiment import SentimentClassifier, SentimentModel
from insightloop.models.sentiment.static import (
    VECTORS_FILE,
    StaticEmbedder,
    en_counter,
    packaged_static,
)
from insightloop.models.sentiment.text import clean_texts
from insightloop.services.sentiment import (
    DEFAULT_KIND,
    load_sentiment_model,
    packaged_model_path,
)
from sentiment_data import split

VECTORS = Path(str(importlib.resources.files("insightloop.data") / VECTORS_FILE))


def test_vector_file_integrity() -> None:
    assert VECTORS.stat().st_size < 25e6  # shipped in the wheel: keep it small
    with np.load(VECTORS, allow_pickle=False) as z:
        assert set(z.files) == {"vocab", "n_en", "vectors", "weights"}
        vocab = str(z["vocab"]).split("\n")
        n_en = int(z["n_en"][0])
        assert z["vectors"].dtype == np.float16 and z["weights"].dtype == np.float16
        vectors, weights = z["vectors"].astype(np.float32), z["weights"].astype(np.float32)
    assert len(set(vocab)) == len(vocab) == len(vectors) == len(weights)
    assert 10_000 < n_en < len(vocab) - 10_000  # both languages
    assert np.isfinite(vectors).all() and (np.linalg.norm(vectors, axis=1) > 0).all()
    assert ((weights > 0) & (weights <= 1)).all()
    # English entries are what the English counter produces; Chinese ones are 1-2 CJK chars
    en = pd.Series(vocab[:n_en])
    token = r"[a-z](?:[a-z']*[a-z])?"
    assert en.str.fullmatch(f"{token}(?: {token})?").all()
    assert pd.Series(vocab[n_en:]).str.fullmatch(r"[\u3400-\u9fff\uf900-\ufaff]{1,2}").all()
    assert {"good", "not good", "terrible"} <= set(vocab[:n_en])
    assert {"好", "很好", "失望"} <= set(vocab[n_en:])
    # frequent entries weigh less (SIF)
    index = {v: i for i, v in enumerate(vocab)}
    assert weights[index["the"]] < weights[index["terrible"]]
    assert weights[index["的"]] < weights[index["失望"]]
    assert en_counter(vocab[:n_en]).transform(["Not good at all"]).sum() >= 3


@pytest.mark.parametrize("name", ["default", "static"])
def test_packaged_model_contract_both_languages_deterministic(name: str) -> None:
    model = load_sentiment_model(None, name)
    assert model.classifier.kind == (DEFAULT_KIND if name == "default" else name)
    texts = ["Absolutely love it, works perfectly.", "Broke after two days, total waste.",
             "质量很好，非常满意", "太差了，再也不买了", "", "👍"]
    first = model.probabilities(texts)
    fresh = SentimentModel(SentimentClassifier.load(packaged_model_path(name)), name="fresh")
    np.testing.assert_array_equal(first, fresh.probabilities(texts))
    assert first[0] > 0.7 and first[2] > 0.7 and first[1] < 0.3 and first[3] < 0.3
    emb = packaged_static().encode(texts)
    assert emb.shape == (6, packaged_static().dim) and not emb[4].any()  # empty text: zeros
    np.testing.assert_allclose(np.linalg.norm(emb[:4], axis=1), 1.0, rtol=1e-5)


@pytest.fixture(scope="module")
def slices() -> dict[str, tuple[list[str], np.ndarray, list[str], np.ndarray]]:
    """Per language: 600 training-split rows and 400 test-split rows of the real corpora."""
    out = {}
    for lang in ("en", "zh"):
        train, test = split(lang)
        tr, te = train.sample(600, random_state=3), test.sample(400, random_state=3)
        out[lang] = (clean_texts(tr["text"])[0].tolist(), tr["label"].to_numpy(),
                     clean_texts(te["text"])[0].tolist(), te["label"].to_numpy())
    return out


def _probe(emb: StaticEmbedder, data: tuple[list[str], np.ndarray, list[str], np.ndarray]
           ) -> float:
    tr_x, tr_y, te_x, te_y = data
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(emb.encode(tr_x), tr_y)
    return float((lr.predict(emb.encode(te_x)) == te_y).mean())


def test_static_vectors_carry_sentiment_a_shuffled_table_does_not(
        slices: dict[str, tuple[list[str], np.ndarray, list[str], np.ndarray]]) -> None:
    # LR on the static vectors alone, 600 labelled rows: the distilled table carries the
    # sentiment; the same table with its rows shuffled (each word gets another's vector) not.
    real = packaged_static()
    rng = np.random.default_rng(0)
    shuffled = StaticEmbedder(real.vocab, real.n_en, real.vectors[rng.permutation(len(real.vocab))],
                              real.weights)
    for lang, floor in (("en", 0.72), ("zh", 0.80)):
        good, bad = _probe(real, slices[lang]), _probe(shuffled, slices[lang])
        assert good >= floor, (lang, good)
        assert good - bad >= 0.08, (lang, good, bad)


def test_static_model_accuracy_on_held_out_slice(
        slices: dict[str, tuple[list[str], np.ndarray, list[str], np.ndarray]]) -> None:
    model = load_sentiment_model(None, "static")
    for lang, floor in (("en", 0.84), ("zh", 0.90)):
        _tr_x, _tr_y, te_x, te_y = slices[lang]
        acc = float(((model.probabilities(te_x) >= 0.5) == te_y).mean())
        assert acc >= floor, (lang, acc)
