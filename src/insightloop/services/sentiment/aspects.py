"""Aspect sentiment against a labelled file: ``insightloop evaluate aspects``.

The file (CSV/TSV/Parquet/JSONL, read by the one reader of user files) has one row per
aspect mention: the review text, the aspect (a name of
:data:`~insightloop.models.sentiment.aspects.ASPECTS`) and the gold polarity
(positive / negative / neutral); an optional language column (zh / en) groups the
scores, else the language is detected from the text. Rows with the same text are one
review scored once.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from insightloop.errors import InputFileError, SchemaError
from insightloop.models.sentiment import SentimentModel
from insightloop.models.sentiment.aspects import ASPECTS, find_aspects
from insightloop.models.sentiment.text import clean_texts, detect_language
from insightloop.services.context import Context
from insightloop.services.results.aspects import AspectEvaluation, AspectScores
from insightloop.services.sentiment.model import load_sentiment_model
from insightloop.storage.user_table import read_user_table

POLARITIES = ("positive", "negative", "neutral")
_ALIASES = {"pos": "positive", "neg": "negative", "neu": "neutral", "1": "positive",
            "-1": "negative", "0": "neutral"}
MISSED = "missed"


def read_aspect_labels(path: Path | str, text: str = "text", aspect: str = "aspect",
                       label: str = "polarity", lang: str | None = "lang") -> pd.DataFrame:
    """Columns text, aspect, polarity, lang of a labelled aspect file (one row per mention).

    ``lang`` names an optional column (zh/en); when the file has no such column the
    language is detected per text. An unknown aspect or polarity, or an empty text, is an
    :class:`InputFileError` naming the file, the line, the column and the value.
    """
    path = Path(path)
    wanted = [text, aspect, label]
    try:  # the one reader of user files: every column as text, missing values as ""
        frame = read_user_table(path, columns=[*wanted, lang] if lang else wanted,
                                as_text=True)
    except SchemaError as exc:
        if lang is None or f"no column {lang!r}" not in str(exc):
            raise InputFileError(str(exc)) from None
        try:
            frame = read_user_table(path, columns=wanted, as_text=True)
        except SchemaError as again:
            raise InputFileError(str(again)) from None
    raw = frame[label].astype(str).str.strip().str.lower()
    polarity = raw.replace(_ALIASES)
    _refuse(path, frame, label, ~polarity.isin(POLARITIES),
            "is not positive, negative or neutral (also pos/neg/neu, 1/-1/0)")
    names = frame[aspect].astype(str).str.strip().str.lower()
    _refuse(path, frame, aspect, ~names.isin(list(ASPECTS)),
            f"is not an aspect; use one of: {', '.join(ASPECTS)}")
    texts = frame[text].astype(str)
    _refuse(path, frame, text, texts.str.strip().eq(""), "is empty; give the review text")
    out = pd.DataFrame({"text": texts, "aspect": names, "polarity": polarity})
    if lang and lang in frame.columns:
        given = frame[lang].astype(str).str.strip().str.lower()
        out["lang"] = given.where(given.ne(""), pd.Series(detect_language(texts.tolist())))
    else:
        out["lang"] = detect_language(texts.tolist())
    return out.reset_index(drop=True)


def _refuse(path: Path, frame: pd.DataFrame, column: str, bad: pd.Series, why: str) -> None:
    rows = np.flatnonzero(bad.to_numpy())
    if rows.size:
        value = str(frame[column].iloc[rows[0]])[:80]
        raise InputFileError(f"{path}: line {int(rows[0]) + 2}, column {column!r}: {value!r} "
                             f"{why} ({rows.size} such rows)")


def predict_aspects(labels: pd.DataFrame, scorer: SentimentModel, rules: bool = True
                    ) -> np.ndarray:
    """Predicted polarity per labelled mention (``"missed"`` when the aspect is not found)."""
    texts = labels["text"].drop_duplicates()
    doc_of = pd.Series(np.arange(len(texts)), index=texts.to_numpy())
    clean, _ = clean_texts(texts.tolist())
    found = find_aspects(clean.tolist(), scorer.probabilities, band=scorer.band, rules=rules)
    key = pd.MultiIndex.from_arrays([doc_of.reindex(labels["text"]).to_numpy(),
                                     labels["aspect"].to_numpy()])
    pred = found.set_index(["doc", "aspect"])["sentiment"].reindex(key)
    return pred.fillna(MISSED).astype(str).to_numpy()


def _scores(gold: np.ndarray, pred: np.ndarray) -> AspectScores:
    confusion = (pd.crosstab(pd.Series(gold, name="gold"), pd.Series(pred, name="pred"))
                 if len(gold) else pd.DataFrame())
    return {
        "mentions": len(gold),
        "accuracy": float((gold == pred).mean()) if len(gold) else 0.0,
        "macro_f1": float(f1_score(gold, pred, labels=list(POLARITIES), average="macro",
                                   zero_division=0)) if len(gold) else 0.0,
        "detected": float((pred != MISSED).mean()) if len(gold) else 0.0,
        "confusion": {str(g): {str(p): int(n) for p, n in row.items() if n}
                      for g, row in confusion.iterrows()},
    }


def evaluate_aspects(ctx: Context | None, path: Path | str, text: str = "text",
                     aspect: str = "aspect", label: str = "polarity", lang: str = "lang",
                     model: str = "default", rules: bool = True) -> AspectEvaluation:
    """Score a labelled aspect file: accuracy, macro F1 and detection, overall and per language.

    ``rules=False`` scores aspects with the sentence model alone (no negation, contrast or
    lexicon): the behaviour before those rules, kept for comparison. Without ``ctx`` only
    packaged models (or a ``.npz`` path) are used: evaluation never reads a warehouse.
    """
    labels = read_aspect_labels(path, text, aspect, label, lang)
    scorer = load_sentiment_model(ctx, model)
    started = time.perf_counter()
    pred = predict_aspects(labels, scorer, rules=rules)
    elapsed = time.perf_counter() - started
    gold = labels["polarity"].to_numpy()
    langs = labels["lang"].to_numpy()
    overall = _scores(gold, pred)
    return {
        **overall,
        "texts": int(labels["text"].nunique()), "model": scorer.name, "rules": rules,
        "mentions_per_second": len(labels) / elapsed if elapsed > 0 else None,
        "languages": {str(k): _scores(gold[langs == k], pred[langs == k])
                      for k in sorted(set(langs))},
    }
