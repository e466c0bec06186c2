"""Review sentiment end to end: clean-up, language, calibrated probability, label, aspects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from insightloop.models.sentiment.aspects import find_aspects
from insightloop.models.sentiment.classifier import SentimentClassifier
from insightloop.models.sentiment.text import MAX_CHARS, clean_texts, detect_language

DEFAULT_BAND = (0.35, 0.65)
"""P(positive) strictly inside this band is labelled ``neutral`` (the model abstains)."""

_POS_EMOJI = "👍👌💯😀😃😄😁😊🙂😍🥰😘❤💕💖⭐🌟✨🎉"
_NEG_EMOJI = "👎😡😠🤬😞😢😭😤🤮🤢💩😒🙁☹💔"


class SentimentModel:
    """A fitted :class:`SentimentClassifier` plus the labelling rules.

    Texts without any letter or digit (empty, emoji-only, punctuation) are not sent
    to the classifier: emoji from a small lexicon decide them (P = 0.8 / 0.2), else
    they are ``neutral`` with P = 0.5.
    """

    def __init__(self, classifier: SentimentClassifier, name: str,
                 band: tuple[float, float] = DEFAULT_BAND, max_chars: int = MAX_CHARS) -> None:
        self.classifier = classifier
        self.name = name
        self.band = band
        self.max_chars = max_chars

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) of already-clean texts (see the class docstring for empty ones)."""
        s = pd.Series(list(texts), dtype=object).astype(str)
        has_words = s.str.contains(r"[^\W_]", regex=True).to_numpy()
        proba = np.full(len(s), 0.5)
        if has_words.any():
            proba[has_words] = self.classifier.predict_proba(s[has_words].tolist())
        rest = ~has_words
        if rest.any():
            pos = s[rest].str.count(f"[{_POS_EMOJI}]").to_numpy()
            neg = s[rest].str.count(f"[{_NEG_EMOJI}]").to_numpy()
            proba[rest] = np.where(pos > neg, 0.8, np.where(neg > pos, 0.2, 0.5))
        return proba

    def labels(self, proba: np.ndarray) -> np.ndarray:
        lo, hi = self.band
        return np.where(proba >= hi, "positive", np.where(proba <= lo, "negative", "neutral"))

    def score_frame(self, texts: Sequence[object], lang: str = "auto",
                    with_aspects: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Per text: label, score, probability, language, truncated; and the aspect rows.

        ``lang`` ``"auto"`` detects zh/en/mixed/other per text; ``"zh"`` or ``"en"``
        states it (the classifier itself is bilingual, so this only sets the column).
        """
        clean, truncated = clean_texts(texts, self.max_chars)
        proba = self.probabilities(clean.tolist())
        language = detect_language(clean) if lang == "auto" else np.full(len(clean), lang)
        frame = pd.DataFrame({
            "label": self.labels(proba), "score": 2.0 * proba - 1.0, "probability": proba,
            "language": language, "truncated": truncated,
        })
        aspects = (find_aspects(clean.tolist(), self.probabilities, band=self.band)
                   if with_aspects else pd.DataFrame(columns=["doc", "aspect", "probability",
                                                              "sentiment"]))
        return frame, aspects

    def score(self, texts: Sequence[object], lang: str = "auto") -> list[dict[str, Any]]:
        """JSON-able records (the ``score_texts`` service contract)."""
        frame, aspects = self.score_frame(texts, lang)
        per_doc: dict[int, list[dict[str, str]]] = {}
        for doc, aspect, sentiment in aspects[["doc", "aspect", "sentiment"]].itertuples(
                index=False):
            per_doc.setdefault(int(doc), []).append({"aspect": str(aspect),
                                                     "sentiment": str(sentiment)})
        return [{"label": str(r.label), "score": float(r.score),
                 "probability": float(r.probability), "language": str(r.language),
                 "truncated": bool(r.truncated), "aspects": per_doc.get(i, [])}
                for i, r in enumerate(frame.itertuples(index=False))]
