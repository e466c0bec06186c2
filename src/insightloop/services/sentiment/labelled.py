"""Labelled review files: read them, evaluate a model on one, train the model on one."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from insightloop.errors import InputFileError, SchemaError
from insightloop.models.sentiment import SentimentClassifier
from insightloop.models.sentiment.text import clean_texts
from insightloop.services.context import Context
from insightloop.services.results import SentimentEvaluation, SentimentTrained
from insightloop.services.sentiment.model import (
    _CACHE,
    _LOCK,
    DEFAULT_KIND,
    EMBED_WEIGHTS,
    KIND_HELP,
    REGISTRY_NAME,
    TrainProgressFn,
    load_sentiment_model,
)
from insightloop.storage.user_table import read_user_table

POSITIVE = {"1", "1.0", "positive", "pos", "true", "yes"}
NEGATIVE = {"0", "0.0", "negative", "neg", "false", "no"}


def read_labelled(path: Path, text: str, label: str) -> tuple[list[str], np.ndarray]:
    """Texts and 1/0 labels from a CSV/TSV/Parquet/JSONL file (labels 1/0 or positive/negative).

    Read by :func:`~insightloop.storage.user_table.read_user_table`: invalid UTF-8 is an
    :class:`InputFileError` naming the file and line; a BOM is dropped; rows with an
    unknown label are an error naming the first bad row.
    """
    path = Path(path)
    try:  # the one reader of user files: every column as text, missing values as ""
        frame = read_user_table(path, columns=[text, label], as_text=True)
    except SchemaError as exc:
        raise InputFileError(str(exc)) from None
    raw = frame[label].astype(str).str.strip().str.lower()
    y = np.where(raw.isin(POSITIVE), 1, np.where(raw.isin(NEGATIVE), 0, -1))
    bad = np.flatnonzero(y < 0)
    if bad.size:
        raise InputFileError(f"{path}: row {int(bad[0]) + 2}, column {label!r}: label "
                             f"{frame[label].iloc[bad[0]]!r} is not 1/0 or positive/negative "
                             f"({bad.size} such rows)")
    texts = frame[text].where(frame[text].notna(), "").astype(str).tolist()
    return texts, y.astype(np.int64)


def evaluate_file(path: Path, text: str, label: str, lang: str = "auto",
                  model: str = "default", ctx: Context | None = None) -> SentimentEvaluation:
    """Score a labelled file with a shipped (or retrained) model; accuracy and macro F1.

    ``model_kind`` and ``model_description`` say which classifier answered (``default``
    resolves to a kind); ``load_seconds`` is the time to load it and score one text (its
    lazily loaded encoder included; less when already loaded),
    ``reviews_per_second`` the scoring rate after loading.

    Accuracy and F1 count every row by the sign of the probability (P >= 0.5 is
    positive), so abstained (neutral) rows are scored too; ``abstained`` counts them
    and ``accuracy_confident`` is the accuracy on the others. Without ``ctx`` only the
    packaged models (or a ``.npz`` path) are used: evaluation never reads a warehouse.
    """
    texts, y = read_labelled(path, text, label)
    if not texts:
        raise InputFileError(f"{path}: no rows")
    loading = time.perf_counter()
    scorer = load_sentiment_model(ctx, model)
    scorer.probabilities(["warm up"])  # a lazily loaded encoder counts as loading
    kind = scorer.classifier.kind
    started = time.perf_counter()
    frame, _ = scorer.score_frame(texts, lang=lang, with_aspects=False)
    elapsed = time.perf_counter() - started
    pred = (frame["probability"].to_numpy() >= 0.5).astype(np.int64)
    confident = frame["label"].to_numpy() != "neutral"
    return {
        "rows": len(y), "accuracy": float((pred == y).mean()),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=[0, 1], zero_division=0)),
        "reviews_per_second": len(y) / elapsed if elapsed > 0 else None,
        "model": scorer.name, "model_kind": kind,
        "model_description": KIND_HELP.get(kind, kind),
        "load_seconds": started - loading, "abstained": int((~confident).sum()),
        "accuracy_confident": float((pred[confident] == y[confident]).mean())
        if confident.any() else None,
        "languages": {str(k): int(v) for k, v in frame["language"].value_counts().items()},
    }


def train_model(ctx: Context, path: Path, text: str, label: str, kind: str = DEFAULT_KIND,
                output: Path | None = None,
                on_progress: TrainProgressFn | None = None) -> SentimentTrained:
    """Fit the sentiment head on a labelled file and save it (used by every later command).

    Registers a new version of model ``sentiment`` (used by every later command) unless
    ``output`` is given (then a portable ``.npz`` is written there). ``on_progress(step,
    done, total)`` counts the steps: reading, the classifier's own (one per batch of texts
    for a pretrained encoder), saving.
    """
    report: TrainProgressFn = on_progress or (lambda step, done, total: None)
    report("reading the labelled file", 0, 0)
    texts, y = read_labelled(path, text, label)
    clean, _ = clean_texts(texts)
    started = time.perf_counter()
    steps = [0]

    def inner(step: str, done: int, total: int) -> None:
        steps[0] = total + 2
        report(step, done + 1, total + 2)

    clf = SentimentClassifier(kind=kind, embed_weight=EMBED_WEIGHTS.get(kind, 1.0)
                              ).fit(clean.tolist(), y, on_progress=inner)
    report("saving", steps[0] - 1, steps[0])
    name = f"{kind}:{Path(path).name}"
    if output is None:  # a new version in the model registry (arrays + JSON)
        clf.metadata_ = {**clf.metadata, "name": name, "trained_on": str(path)}
        meta = ctx.models.save(REGISTRY_NAME, clf, {
            "task": "sentiment", "model": kind, "trained_on": str(path),
            "metrics": {"rows": len(y)}, "positives": int(y.sum())})
        target = ctx.models.folder(f"{REGISTRY_NAME}:{meta['version']}")
    else:  # an explicit export: the portable .npz any command can load by path
        target = output
        clf.save(target, name=name, trained_on=str(path))
    with _LOCK:
        _CACHE.pop(str(Path(target).resolve()), None)
    report("saved", steps[0], steps[0])
    return {"rows": len(y), "positives": int(y.sum()), "kind": kind, "path": str(target),
            "seconds": time.perf_counter() - started}
