"""Sentiment across review domains: every candidate model and the TF-IDF baseline, in one run.

    .venv/bin/python benchmarks/sentiment_domains.py [--lodo-zh 4] [--speed-n 2000] [--json F]

Data: the two development corpora of ``benchmarks/sentiment.py`` (zh online_shopping_10_cats,
en Blitzer multi-domain) with its fixed 80/20 split. For each candidate:

* **leave-one-domain-out** (LODO): train on the training rows of every other domain of both
  corpora, test on the held-out domain's test rows; all 4 English domains and the
  ``--lodo-zh`` largest Chinese categories. The static candidates also lose the held-out
  domain's vocabulary (entries that never occur in the training rows get weight 0), so the
  held-out domain is as unseen as a new one;
* **in-domain** accuracy on the test split (zh, en) after training on all training rows;
* every fit uses all English training rows but only a fixed random ``--zh-train`` (10,000)
  of the 50,218 Chinese ones: this 2-core machine is shared by several jobs, and the
  comparison is between candidates fitted on the same rows (the packaged models use all);
* **end to end** in a fresh process: load the packaged model and score ``--speed-n`` random
  test reviews (``SentimentModel.score_frame``, no aspects): reviews/s counting the load,
  load seconds and the process's peak RSS.

Candidates:

* ``tfidf_lr``: the plain baseline of issue 19 — scikit-learn ``TfidfVectorizer`` (word 1-2-grams,
  ``\\b\\w+\\b`` tokens, plus ``char_wb`` 1-3-grams; sublinear tf, min_df 2) and
  ``LogisticRegression(C=1)``, one model for both languages;
* ``baseline``: the packaged hashed n-gram kind;
* ``static_only``: LR on the static e5 vectors alone (``models/sentiment/static.py``);
* ``static_w{W}``: the hashed n-grams stacked with the static vectors at weight W (the
  ``static`` kind).

Accuracy is the sign of P - 0.5 (every row). The static vectors come from the cache that
``benchmarks/sentiment_static.py`` builds (PCA ``--dim``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentiment import CACHE, DATA, EN, REPO, ZH, load_splits
from sentiment_static import embedder

WEIGHTS = (1.0,)
RESULTS = CACHE / "domains_results.json"


def tfidf_lr(texts: list[str], y: np.ndarray) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    union = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b",
                        sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2))
    return make_pipeline(union, LogisticRegression(C=1.0, solver="liblinear")).fit(texts, y)


class Static:
    """Static embeddings of every text, restricted per fold to the training vocabulary."""

    def __init__(self, texts: list[str], dim: int, frame: pd.DataFrame) -> None:
        emb = embedder(frame, dim)
        self.vectors, self.weights = emb.vectors, emb.weights
        self.counts = emb.counts(texts)
        self.binary = (self.counts > 0).astype(np.float32).tocsc()

    def encode(self, train: np.ndarray) -> np.ndarray:
        seen = np.asarray(self.binary[train].sum(axis=0)).ravel() > 0
        x = self.counts @ sp.diags(self.weights * seen)
        out = np.asarray(x @ self.vectors, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def evaluate_fold(texts: list[str], y: np.ndarray, train: np.ndarray,
                  tests: dict[str, np.ndarray], static: Static | None, only: set[str],
                  dim: int) -> dict[str, dict[str, float]]:
    """Accuracy of every candidate trained on ``train``, on each named test mask.

    Results are cached in :data:`RESULTS` (per candidate, test set and vector size), so an
    interrupted or partial (``--only``) run is not repeated.
    """
    from sklearn.linear_model import LogisticRegression

    from insightloop.models.sentiment import SentimentClassifier

    tr = np.flatnonzero(train)
    tr_txt = [texts[i] for i in tr]
    te = {name: np.flatnonzero(m) for name, m in tests.items()}
    te_txt = {name: [texts[i] for i in idx] for name, idx in te.items()}
    cache = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    out: dict[str, dict[str, float]] = {}

    def key(cand: str, name: str) -> str:
        k = f"{cand}|{name}|{len(tr)}"
        return f"{k}|{dim}" if cand.startswith("static") else k

    def todo(cand: str) -> bool:
        for name in te:
            if key(cand, name) in cache:
                out.setdefault(cand, {})[name] = cache[key(cand, name)]
        return (not only or cand in only) and any(key(cand, n) not in cache for n in te)

    def score(cand: str, predict: Any) -> None:
        for name, idx in te.items():
            acc = float((predict(name, idx) == y[idx]).mean())
            out.setdefault(cand, {})[name] = cache[key(cand, name)] = acc
        fresh = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        RESULTS.write_text(json.dumps({**fresh, **cache}))

    if todo("tfidf_lr"):
        plain = tfidf_lr(tr_txt, y[tr])
        score("tfidf_lr", lambda name, idx: plain.predict(te_txt[name]))
    if todo("baseline"):
        base = SentimentClassifier(kind="baseline").fit(tr_txt, y[tr])
        score("baseline", lambda name, idx: base.predict_proba(te_txt[name]) >= 0.5)
    if static is None:
        return out
    emb = static.encode(train)
    if todo("static_only"):
        lr = LogisticRegression(C=1.0, max_iter=2000).fit(emb[tr], y[tr])
        score("static_only", lambda name, idx: lr.predict(emb[idx]))
    for w in WEIGHTS:
        if todo(f"static_w{w:g}"):
            clf = SentimentClassifier(kind="static", embed_weight=w).fit(tr_txt, y[tr],
                                                                         embeddings=emb[tr])
            score(f"static_w{w:g}", lambda name, idx, clf=clf: clf.predict_proba(
                te_txt[name], embeddings=emb[idx]) >= 0.5)
    return out


_SPEED = """
import json, sys, time
t0 = time.perf_counter()
from insightloop.services.sentiment import load_sentiment_model
texts = json.load(open(sys.argv[2], encoding="utf-8"))
m = load_sentiment_model(None, sys.argv[1]); m.score_frame(["warm up"], with_aspects=False)
load = time.perf_counter() - t0
m.score_frame(texts, with_aspects=False)
total = time.perf_counter() - t0
# VmHWM: this process's peak RSS (ru_maxrss would count the parent's, inherited at fork)
status = open("/proc/self/status", encoding="ascii").read().split("VmHWM:")[1]
peak = int(status.split()[0]) / 1024
print(json.dumps({"load_s": load, "reviews_per_s": len(texts) / total,
                  "peak_mb": peak}))
"""


def speed(kind: str, texts: list[str]) -> dict[str, float]:
    """Fresh process: import + load + score ``texts`` (reviews/s counts all of it)."""
    path = Path("/tmp") / f"insightloop-speed-{kind}.json"
    path.write_text(json.dumps(texts), encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", _SPEED, kind, str(path)], capture_output=True,
                         text=True, check=True, cwd=REPO)
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lodo-zh", type=int, default=4, help="zh categories held out (largest)")
    ap.add_argument("--speed-n", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--zh-train", type=int, default=10_000,
                    help="Chinese training rows per fit (a fixed random subset; 0 = all 50k)")
    ap.add_argument("--folds", default="", help="comma-separated held-out domains to run "
                    "(default all; `in` = the in-domain fit)")
    ap.add_argument("--only", default="", help="comma-separated candidates to compute (the "
                    "rest come from the cache); no static vectors are needed without static*")
    args = ap.parse_args()
    if not ZH.exists() or not EN.exists():
        sys.exit(f"datasets not found under {DATA}")
    from insightloop.models.sentiment.text import clean_texts

    t0 = time.perf_counter()
    frame = load_splits()
    texts = clean_texts(frame["text"])[0].tolist()
    y = frame["label"].to_numpy()
    only = {c for c in args.only.split(",") if c}
    static = (Static(texts, args.dim, frame)
              if not only or any(c.startswith("static") for c in only) else None)
    train, test = (frame["split"] == "train").to_numpy(), (frame["split"] == "test").to_numpy()
    zh_train = np.flatnonzero(train & (frame["lang"] == "zh").to_numpy())
    if 0 < args.zh_train < len(zh_train):  # the machine is shared: fits on a fixed subset
        drop = np.random.default_rng(0).permutation(zh_train)[args.zh_train:]
        train[drop] = False
    folds = {f for f in args.folds.split(",") if f}
    results: dict[str, dict[str, float]] = {}
    held = (list(frame.loc[frame["lang"] == "en", "domain"].unique())
            + list(frame.loc[frame["lang"] == "zh", "domain"].value_counts().index[
                :args.lodo_zh]))
    for dom in held:
        if folds and dom not in folds:
            continue
        out_dom = (frame["domain"] == dom).to_numpy()
        fold = evaluate_fold(texts, y, train & ~out_dom, {f"lodo_{dom}": test & out_dom}, static,
                             only, args.dim)
        for k, v in fold.items():
            results.setdefault(k, {}).update(v)
        print(dom, {k: round(v[f"lodo_{dom}"], 4) for k, v in fold.items()}, flush=True)
    tests = {f"test_{lang}": test & (frame["lang"] == lang).to_numpy() for lang in ("en", "zh")}
    for k, v in (evaluate_fold(texts, y, train, tests, static, only, args.dim).items()
                 if not folds or "in" in folds else []):
        results.setdefault(k, {}).update(v)
    print("in-domain", {k: {n: round(x, 4) for n, x in v.items() if n.startswith("test_")}
                        for k, v in results.items()}, flush=True)
    if only or folds:
        return
    for v in results.values():
        v["lodo_mean"] = float(np.mean([x for n, x in v.items() if n.startswith("lodo_")]))
    sample = frame.loc[test].sample(args.speed_n, random_state=0)["text"].tolist()
    for kind in ("baseline", "static"):
        key = "static_w1" if kind == "static" else kind
        results.setdefault(key, {}).update(speed(kind, sample))
        print(kind, "speed", results[key], flush=True)
    results["run"] = {"seconds": time.perf_counter() - t0, "speed_n": args.speed_n}
    print(json.dumps(results, indent=1, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
