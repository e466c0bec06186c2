"""Typed result of ``insightloop evaluate aspects`` (aspect sentiment against gold labels)."""

from __future__ import annotations

from typing_extensions import TypedDict


class AspectScores(TypedDict):
    """Aspect sentiment against gold labels, for one language.

    ``detected`` is the share of gold mentions whose aspect the lexicon found in the text;
    a mention not found counts as wrong in ``accuracy`` and ``macro_f1`` (macro over
    positive, negative and neutral). ``confusion[gold][predicted]`` counts mentions;
    ``"missed"`` is the predicted label of a mention not found.
    """

    mentions: int
    accuracy: float
    macro_f1: float
    detected: float
    confusion: dict[str, dict[str, int]]


class AspectEvaluation(AspectScores):
    """Every mention of the file, and the same scores per language (``languages``)."""

    texts: int
    model: str
    rules: bool
    mentions_per_second: float | None
    languages: dict[str, AspectScores]
