"""The sentiment model: packaged or retrained, loaded once per file, and text scoring."""

from __future__ import annotations

import importlib.resources
import threading
from collections.abc import Callable
from pathlib import Path
from typing import cast

from insightloop.errors import InputFileError, NotFoundError, SchemaError
from insightloop.models.sentiment import SentimentClassifier, SentimentModel
from insightloop.services.context import Context
from insightloop.services.results import TextSentiment

ProgressFn = Callable[[int, int], None]
TrainProgressFn = Callable[[str, int, int], None]
"""``on_progress(step, done, total)`` of :func:`train_model`."""
PACKAGED_MODEL = "sentiment_usem3.npz"
PACKAGED_BASELINE = "sentiment_baseline.npz"
PACKAGED_E5 = "sentiment_e5.npz"
PACKAGED_STATIC = "sentiment_static.npz"
PACKAGED_FILES = {"usem3": PACKAGED_MODEL, "baseline": PACKAGED_BASELINE, "e5": PACKAGED_E5,
                  "static": PACKAGED_STATIC}
KIND_HELP = {
    "static": "hashed n-grams stacked with static word / character-pair vectors distilled from "
              "multilingual-e5-small, one logistic regression (fast)",
    "baseline": "hashed n-grams (character 1-3, word 1-2, TF-IDF) + logistic regression "
                "alone",
    "usem3": "hashed n-grams stacked with the USE-m3 sentence embedding",
    "e5": "hashed n-grams stacked with the multilingual-e5-small sentence embedding "
          "(~10 reviews/s)",
}
"""What each packaged kind is, in one phrase (CLI help, docs, JSON ``model_kind``)."""
EMBED_WEIGHTS = {"e5": 0.3}
"""Weight of the embedding block per kind (others 1.0), as the packaged models were trained."""
USER_MODEL = Path("sentiment") / "sentiment.npz"  # where earlier releases saved it (still read)
REGISTRY_NAME = "sentiment"  # `insightloop sentiment train` registers versions of this name
BATCH = 512
_CACHE: dict[str, SentimentModel] = {}
_LOCK = threading.Lock()


DEFAULT_KIND = "baseline"
"""The packaged model ``default`` resolves to, chosen on the measured numbers
(docs/sentiment.md): the n-gram model beat the USE-m3 stack in and across domains."""


def packaged_model_path(model: str = "default") -> Path:
    """Path of a model shipped in the package: ``default``, ``baseline``, ``usem3`` or ``e5``."""
    kind = DEFAULT_KIND if model == "default" else model
    name = PACKAGED_FILES.get(kind, PACKAGED_BASELINE)
    return Path(str(importlib.resources.files("insightloop.data") / name))


def model_path(ctx: Context | None = None, model: str = "default") -> Path:
    """The model file used: a retrained one under ``models_dir`` first, else the packaged one."""
    if model not in ("default", *PACKAGED_FILES):
        path = Path(model)
        try:
            found = path.is_file()
        except (OSError, ValueError):  # a name too long for the file system, or with NUL
            found = False
        if not found:
            raise NotFoundError(f"sentiment model file {model[:200]!r} does not exist (or is "
                                "not a file); name default, baseline, usem3 or e5, or a .npz "
                                "written by `insightloop sentiment train`")
        return path
    if model == "default" and ctx is not None:
        user = ctx.models.root / USER_MODEL
        if user.exists():
            return user
    return packaged_model_path(model)


def registered_model(ctx: Context | None) -> Path | None:
    """Folder of the latest sentiment model registered by `insightloop sentiment train`."""
    if ctx is None:
        return None
    try:
        return ctx.models.folder(REGISTRY_NAME)
    except NotFoundError:
        return None


def load_sentiment_model(ctx: Context | None = None, model: str = "default"
                         ) -> SentimentModel:
    """The sentiment model (cached per file): retrained in the context's model registry, or
    packaged (always, without a context).

    ``model`` is ``"default"`` (a retrained model if saved, else the packaged
    :data:`DEFAULT_KIND`), ``"baseline"`` (TF-IDF n-grams + logistic regression),
    ``"usem3"`` (USE-m3 embedding stacked with the n-grams), ``"e5"`` (multilingual-e5-small
    embedding stacked with the n-grams; more accurate, about 10 reviews/s) or a path to a ``.npz``
    written by ``insightloop sentiment train``.
    """
    folder = registered_model(ctx) if model == "default" else None
    if folder is not None and ctx is not None:
        with _LOCK:
            key = str(folder.resolve())
            if key not in _CACHE:
                clf, _meta = ctx.models.load(f"{REGISTRY_NAME}:{folder.name}")
                _CACHE[key] = SentimentModel(clf, name=str(clf.metadata.get("name")
                                                           or f"{clf.kind}:{folder.name}"))
            return _CACHE[key]
    path = model_path(ctx, model)
    key = str(path.resolve())
    with _LOCK:
        if key not in _CACHE:
            try:
                clf = SentimentClassifier.load(path)
            except (OSError, ValueError, KeyError, TypeError, EOFError):
                raise InputFileError(f"{path} is not a sentiment model file; give a .npz "
                                     "written by `insightloop sentiment train`") from None
            name = str(clf.metadata.get("name") or f"{clf.kind}:{path.stem}")
            _CACHE[key] = SentimentModel(clf, name=name)
        return _CACHE[key]


def score_texts(ctx: Context | None, texts: list[str], lang: str = "auto",
                model: str = "default") -> list[TextSentiment]:
    """Score texts: ``[{"label", "score", "probability", "language", "truncated", "aspects"}]``.

    ``ctx`` None uses the packaged models only (never a retrained one).
    """
    if lang not in ("auto", "zh", "en"):
        raise SchemaError(f"lang must be auto, zh or en, got {lang!r}")
    return cast("list[TextSentiment]", load_sentiment_model(ctx, model).score(texts, lang))
