"""Sentiment: the USE-m3 stacked model vs the TF-IDF + logistic-regression baseline, in one run.

Data (../shared/data): zh online_shopping_10_cats (62,773 non-empty reviews, 10
categories) and en Blitzer multi-domain (8,000 reviews, 4 domains; text = title +
". " + body). Fixed test split, never trained on: per data set,
``train_test_split(test_size=0.2, random_state=42, stratify=label)`` — see
:func:`load_splits`.

    .venv/bin/python benchmarks/sentiment.py            # benchmark (accuracy, LODO, speed)
    .venv/bin/python benchmarks/sentiment.py --train    # rebuild the packaged models

``--train`` fits both models on the union of the two training splits and writes
``src/insightloop/data/sentiment_{usem3,baseline}.npz``. The benchmark reports test
accuracy per language, leave-one-domain-out accuracy (train on the other domains'
training rows, test on the held-out domain's test rows; same for zh categories),
reviews/s of the whole scoring path, load time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CACHE = Path("/tmp/insightloop-sentiment-cache")
ZH = DATA / "zh_online_shopping_10_cats" / "online_shopping_10_cats.csv"
EN = DATA / "en_amazon_multidomain_sentiment_blitzer" / "blitzer_reviews_parsed.csv"


def load_splits() -> pd.DataFrame:
    """Both corpora with columns lang, domain, label, text, split (train/test)."""
    from sklearn.model_selection import train_test_split

    zh = pd.read_csv(ZH, encoding="utf-8-sig", dtype={"review": str})
    zh = zh.loc[zh["review"].fillna("").str.replace("\ufeff", "").str.strip() != ""]
    zh = pd.DataFrame({"lang": "zh", "domain": zh["cat"], "label": zh["label"].astype(int),
                       "text": zh["review"].str.replace("\ufeff", "", regex=False)})
    en = pd.read_csv(EN, dtype=str)
    en = pd.DataFrame({"lang": "en", "domain": en["domain"], "label": en["label"].astype(int),
                       "text": en["title"].fillna("") + ". " + en["review_text"].fillna("")})
    parts = []
    for frame in (zh, en):
        tr, te = train_test_split(frame, test_size=0.2, random_state=42, stratify=frame["label"])
        parts += [tr.assign(split="train"), te.assign(split="test")]
    return pd.concat(parts, ignore_index=True)


def embeddings(frame: pd.DataFrame) -> np.ndarray:
    """USE-m3 sentence features of the cleaned texts (cached under /tmp)."""
    from insightloop.models.sentiment.encoder import PretrainedEncoder
    from insightloop.models.sentiment.text import clean_texts

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "use_all.npy"
    if path.exists():
        cached = np.load(path)
        if len(cached) == len(frame):
            return cached
    clean, _ = clean_texts(frame["text"])
    out = PretrainedEncoder("sentence").encode(clean.tolist())
    np.save(path, out)
    return out


def fit(kind: str, frame: pd.DataFrame, emb: np.ndarray | None, mask: np.ndarray):
    from insightloop.models.sentiment import SentimentClassifier
    from insightloop.models.sentiment.text import clean_texts

    clean, _ = clean_texts(frame["text"][mask])
    clf = SentimentClassifier(kind=kind)
    e = emb[mask] if (emb is not None and kind == "usem3") else None
    return clf.fit(clean.tolist(), frame["label"].to_numpy()[mask], embeddings=e)


def accuracy(clf, frame: pd.DataFrame, emb: np.ndarray | None, mask: np.ndarray) -> float:
    from insightloop.models.sentiment.text import clean_texts

    clean, _ = clean_texts(frame["text"][mask])
    e = emb[mask] if (emb is not None and clf.kind == "usem3") else None
    p = clf.predict_proba(clean.tolist(), embeddings=e)
    return float(((p >= 0.5).astype(int) == frame["label"].to_numpy()[mask]).mean())


def train_packaged(frame: pd.DataFrame, emb: np.ndarray) -> None:
    train = (frame["split"] == "train").to_numpy()
    for kind in ("usem3", "baseline"):
        clf = fit(kind, frame, emb, train)
        out = REPO / "src" / "insightloop" / "data" / f"sentiment_{kind}.npz"
        clf.save(out, name=f"{kind}-zh-en-v1",
                 trained_on="online_shopping_10_cats + Blitzer multi-domain, 80% train split "
                            "(test_size=0.2, random_state=42, stratified)")
        print(f"{kind}: {out} {out.stat().st_size / 1e6:.1f} MB", flush=True)


def speed(model: str, texts: list[str]) -> dict[str, float]:
    import importlib

    import insightloop.models.sentiment.encoder as enc
    import insightloop.services.sentiment as svc

    importlib.reload(enc)  # a cold encoder, so load time includes the pretrained weights
    svc._CACHE.clear()
    t0 = time.perf_counter()
    scorer = svc.load_sentiment_model(None, model)
    scorer.score_frame(["warm up"], with_aspects=False)
    load = time.perf_counter() - t0
    t1 = time.perf_counter()
    scorer.score_frame(texts, with_aspects=False)
    rate = len(texts) / (time.perf_counter() - t1)
    return {"load_seconds": load, "reviews_per_second": rate}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="store_true", help="rebuild the packaged models")
    ap.add_argument("--lodo-zh", type=int, default=4, help="zh categories held out (largest)")
    ap.add_argument("--speed-n", type=int, default=2000)
    args = ap.parse_args()
    if not ZH.exists() or not EN.exists():
        sys.exit(f"datasets not found under {DATA}")
    frame = load_splits()
    t = time.perf_counter()
    emb = embeddings(frame)
    print(f"embedded {len(frame):,} texts in {time.perf_counter() - t:.0f}s", flush=True)
    if args.train:
        train_packaged(frame, emb)
        return
    results: dict[str, dict[str, float]] = {"baseline": {}, "usem3": {}}
    train, test = (frame["split"] == "train").to_numpy(), (frame["split"] == "test").to_numpy()
    for kind in results:
        clf = fit(kind, frame, emb, train)
        for lang in ("zh", "en"):
            results[kind][f"test_{lang}"] = accuracy(clf, frame, emb,
                                                     test & (frame["lang"] == lang).to_numpy())
        print(kind, results[kind], flush=True)
    held = (list(frame.loc[frame["lang"] == "en", "domain"].unique())
            + list(frame.loc[frame["lang"] == "zh", "domain"].value_counts().index[
                :args.lodo_zh]))
    for dom in held:
        out_dom = (frame["domain"] == dom).to_numpy()
        for kind in results:
            clf = fit(kind, frame, emb, train & ~out_dom)
            results[kind][f"lodo_{dom}"] = accuracy(clf, frame, emb, test & out_dom)
        print(dom, {k: round(v[f"lodo_{dom}"], 4) for k, v in results.items()}, flush=True)
    sample = frame.loc[test].sample(args.speed_n, random_state=0)["text"].tolist()
    for kind, model in (("baseline", "baseline"), ("usem3", "usem3")):
        results[kind].update(speed(model, sample))
        lodo = [v for k, v in results[kind].items() if k.startswith("lodo_")]
        results[kind]["lodo_mean"] = float(np.mean(lodo))
    results["peak_rss_mb"] = {"process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    results["ratio_usem3_vs_baseline"] = {
        "reviews_per_second": results["usem3"]["reviews_per_second"]
        / results["baseline"]["reviews_per_second"]}
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
