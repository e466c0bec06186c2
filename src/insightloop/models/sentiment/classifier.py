"""Binary review-sentiment classifier: hashed TF-IDF n-grams (+ pretrained embedding) -> LR.

* ``baseline``: TF-IDF of character 1-3-grams and word 1-2-grams, logistic regression.
* ``static``: the same n-grams stacked with static word / character-pair vectors distilled
  from multilingual-e5-small (``static.py``), one logistic regression. Fast.
* ``e5``: the same n-grams stacked with the multilingual-e5-small sentence embedding.
* ``usem3``: the same n-grams stacked with the multilingual USE-m3
  sentence embedding (standardised), one logistic regression over both blocks.
  The pretrained block carries meaning across wording, domain and language; the
  n-grams carry the domain's own vocabulary.

Probabilities are Platt-calibrated on a held-out tenth of the training data.
The model saves to a single ``.npz`` of plain arrays (no pickle): n-grams are
hashed (stateless), so only IDF weights, coefficients, the embedding scaler and
the calibration are stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression

from insightloop.errors import ModelFitError, NotFittedError
from insightloop.models.sentiment.encoder import PretrainedEncoder

FORMAT_VERSION = 1
KINDS = ("baseline", "usem3", "e5", "static")
EMBED_BATCH = 512
"""Texts per pretrained-encoder call while fitting (one progress step each)."""
StepFn = Callable[[str, int, int], None]


def _vectorizers(n_features: int) -> tuple[Any, Any]:
    char = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 3), n_features=n_features,
                             alternate_sign=False, norm=None, lowercase=True)
    word = HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=n_features,
                             alternate_sign=False, norm=None, lowercase=True,
                             token_pattern=r"(?u)\b\w+\b")
    return char, word


def _idf(counts: sp.csr_matrix) -> np.ndarray:
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF times IDF, rows L2-normalised."""
    x = counts.astype(np.float32).tocsr()
    np.log1p(x.data, out=x.data)
    x = x @ sp.diags(idf)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ x)


class SentimentClassifier(BaseEstimator):  # type: ignore[misc]
    """P(positive) for review texts; see the module docstring.

    Parameters
    ----------
    kind : {"usem3", "e5", "static", "baseline"}
    n_features : int
        Hash buckets per n-gram block.
    C : float
        Inverse L2 strength of the logistic regression.
    embed_weight : float
        Scale of the standardised embedding block relative to the (unit-norm) n-grams.
    max_chars_embed : int
        Characters fed to the pretrained encoder.
    """

    def __init__(self, kind: str = "usem3", n_features: int = 2 ** 18, C: float = 4.0,
                 embed_weight: float = 1.0, max_chars_embed: int = 256,
                 random_state: int = 0) -> None:
        self.kind = kind
        self.n_features = n_features
        self.C = C
        self.embed_weight = embed_weight
        self.max_chars_embed = max_chars_embed
        self.random_state = random_state

    @property
    def metadata(self) -> dict[str, Any]:
        """What the model was trained on (``kind``, ``rows``, ``positives``, saved extras)."""
        return dict(getattr(self, "metadata_", {}))

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("sentiment model is not fitted")

    # ----- features -------------------------------------------------------------------
    @property
    def uses_embedding(self) -> bool:
        return self.kind in ("usem3", "e5", "static")

    def _encoder(self) -> PretrainedEncoder:
        mode = {"e5": "e5", "static": "static"}.get(self.kind, "sentence")
        return PretrainedEncoder(mode, max_chars=int(self.max_chars_embed))

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        """The pretrained block (None for the baseline); cache it to fit several heads."""
        return self._encoder().encode(texts) if self.uses_embedding else None

    def _counts(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        char, word = _vectorizers(int(self.n_features))
        return char.transform(texts), word.transform(texts)

    def _design(self, texts: Sequence[str], emb: np.ndarray | None) -> sp.csr_matrix:
        c, w = self._counts(texts)
        blocks = [_tfidf(c, self.idf_char_), _tfidf(w, self.idf_word_)]
        if self.uses_embedding:
            e = self.embed(texts) if emb is None else emb
            z = (e - self.emb_mean_) / self.emb_scale_
            blocks.append(sp.csr_matrix(z * (float(self.embed_weight) / np.sqrt(z.shape[1]))))
        return sp.hstack(blocks, format="csr")

    # ----- fit / predict --------------------------------------------------------------
    def fit(self, texts: Sequence[str], y: Sequence[int] | np.ndarray,
            embeddings: np.ndarray | None = None,
            on_progress: StepFn | None = None) -> SentimentClassifier:
        """Fit on texts with labels 1 (positive) / 0 (negative).

        ``embeddings`` (rows aligned with ``texts``) skips the encoder when given.
        ``on_progress(step, done, total)`` is called as each step starts and at the end;
        the pretrained encoder counts one step per batch of :data:`EMBED_BATCH` texts.
        """
        if self.kind not in KINDS:
            raise ModelFitError(f"unknown sentiment model {self.kind!r}; use one of {KINDS}")
        texts = list(texts)
        y = np.asarray(y, dtype=np.int64)
        if len(texts) != len(y):
            raise ModelFitError(f"{len(texts)} texts but {len(y)} labels")
        if len(np.unique(y)) < 2 or np.bincount(y).min() < 5:
            raise ModelFitError("training needs at least 5 positive and 5 negative reviews")
        n_batches = (-(-len(texts) // EMBED_BATCH) if self.uses_embedding and embeddings is None
                     else 0)
        total = 3 + n_batches
        report: StepFn = on_progress or (lambda step, done, total: None)
        report("n-gram counts", 0, total)
        c, w = self._counts(texts)
        self.idf_char_, self.idf_word_ = _idf(c), _idf(w)
        emb: np.ndarray | None = None
        if self.uses_embedding:
            if embeddings is None:
                encoder, parts = self._encoder(), []
                for b in range(n_batches):
                    report(f"embedding {b * EMBED_BATCH:,}/{len(texts):,} texts", 1 + b, total)
                    parts.append(encoder.encode(texts[b * EMBED_BATCH:(b + 1) * EMBED_BATCH]))
                emb = np.vstack(parts)
            else:
                emb = np.asarray(embeddings, np.float32)
            self.emb_mean_ = emb.mean(axis=0).astype(np.float32)
            self.emb_scale_ = (emb.std(axis=0) + 1e-6).astype(np.float32)
        X = self._design(texts, emb)
        rng = np.random.default_rng(self.random_state)
        held = rng.random(len(y)) < 0.1
        if np.bincount(y[held], minlength=2).min() < 2 or np.bincount(y[~held]).min() < 2:
            held[:] = False
        lr = LogisticRegression(C=float(self.C), solver="liblinear", max_iter=1000)
        report("calibrating on a held-out tenth", 1 + n_batches, total)
        if held.any():
            lr.fit(X[~held], y[~held])
            self.platt_ = _platt(lr.decision_function(X[held]), y[held])
        else:
            self.platt_ = np.array([1.0, 0.0])
        report("logistic regression on all rows", 2 + n_batches, total)
        lr.fit(X, y)
        self.coef_ = lr.coef_.ravel().astype(np.float32)
        self.intercept_ = float(lr.intercept_[0])
        self.metadata_ = {"kind": self.kind, "rows": len(y), "positives": int(y.sum())}
        report("fitted", total, total)
        return self

    def decision_function(self, texts: Sequence[str], embeddings: np.ndarray | None = None
                          ) -> np.ndarray:
        self._check_fitted()
        X = self._design(list(texts), embeddings)
        return np.asarray(X @ self.coef_, dtype=np.float64) + self.intercept_

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray | None = None
                      ) -> np.ndarray:
        """Calibrated P(positive) per text, shape ``(n,)``."""
        d = self.decision_function(texts, embeddings)
        a, b = self.platt_
        return 1.0 / (1.0 + np.exp(-(a * d + b)))

    # ----- persistence ----------------------------------------------------------------
    def save(self, path: Path | str, **metadata: Any) -> Path:
        """Write the fitted model to ``path`` (.npz of plain arrays)."""
        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {**self.metadata, **metadata, "format_version": FORMAT_VERSION,
                "params": {"kind": self.kind, "n_features": self.n_features, "C": self.C,
                           "embed_weight": self.embed_weight,
                           "max_chars_embed": self.max_chars_embed}}
        arrays: dict[str, np.ndarray] = {
            "idf_char": self.idf_char_.astype(np.float16),
            "idf_word": self.idf_word_.astype(np.float16),
            "coef": self.coef_.astype(np.float16), "intercept": np.array([self.intercept_]),
            "platt": np.asarray(self.platt_, dtype=np.float64),
            "meta": np.array(json.dumps(meta)),
        }
        if self.uses_embedding:
            arrays["emb_mean"], arrays["emb_scale"] = self.emb_mean_, self.emb_scale_
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)
        self.metadata_ = meta
        return path

    @classmethod
    def load(cls, path: Path | str) -> SentimentClassifier:
        """Read a model written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            model = cls(**meta["params"])
            model.idf_char_ = z["idf_char"].astype(np.float32)
            model.idf_word_ = z["idf_word"].astype(np.float32)
            model.coef_ = z["coef"].astype(np.float32)
            model.intercept_ = float(z["intercept"][0])
            model.platt_ = z["platt"]
            if model.uses_embedding:
                model.emb_mean_, model.emb_scale_ = z["emb_mean"], z["emb_scale"]
        model.metadata_ = meta
        return model


def _platt(decision: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slope and offset of a logistic fit of ``y`` on the decision values."""
    lr = LogisticRegression(C=1e4).fit(decision.reshape(-1, 1), y)
    return np.array([float(lr.coef_[0, 0]), float(lr.intercept_[0])])
