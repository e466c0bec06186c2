"""Data-driven topics: clustering of sentence embeddings, named by c-TF-IDF keywords.

Texts are clustered with k-means on their (L2-normalised) multilingual
embeddings, so a Chinese and an English review about the same thing can share
a topic; each cluster's keywords are the terms with the highest class-based
TF-IDF (term frequency in the cluster times ``log(1 + mean words per cluster /
term frequency overall)``, as in BERTopic). Chinese is segmented with jieba,
other text by words; stop words and one-character tokens are dropped.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.cluster import KMeans

EN_STOP = frozenset([
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "but", "by", "can",
    "could", "did", "do", "does", "doing", "don't", "down", "during", "each",
    "even", "ever", "few", "for", "from", "get", "got", "had", "has", "have",
    "having", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into",
    "is", "it", "it's", "its", "just", "like", "me", "more", "most", "much", "my",
    "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or",
    "other", "our", "out", "over", "own", "really", "same", "she", "should", "so",
    "some", "still", "such", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under",
    "until", "up", "very", "was", "we", "well", "were", "what", "when", "where",
    "which", "while", "who", "why", "will", "with", "would", "you", "your", "i'm",
    "i've", "it's", "can't", "didn't", "doesn't", "isn't", "wasn't", "won't",
    "book", "movie", "product"
])
ZH_STOP = frozenset([
    "的", "了", "是", "我", "也", "都", "就", "和",
    "很", "还", "在", "有", "不", "没有", "这个",
    "一个", "这", "那", "你", "他", "她", "它",
    "我们", "但是", "不过", "就是", "可以", "非常",
    "比较", "感觉", "觉得", "东西", "什么", "因为",
    "所以", "而且", "真的", "太", "吧", "啊", "呢",
    "吗", "么", "说", "会", "要", "能", "又", "但",
    "对", "给", "买", "用", "到", "着", "过", "让",
    "把", "被", "个", "一", "上", "下", "来", "去",
    "看", "好", "还是", "已经", "一下", "一点", "这样",
    "那么", "这么", "如果", "一些"
])
_WORD = re.compile(r"[a-z][a-z'\-]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Keyword tokens per text: jieba words for Chinese, lower-case words otherwise."""
    with warnings.catch_warnings():  # jieba 0.42 imports the deprecated pkg_resources
        warnings.simplefilter("ignore", UserWarning)
        # lazy: jieba (1.1 s and a dictionary) only when topic keywords are extracted
        import jieba

    jieba.setLogLevel(logging.WARNING)
    out: list[list[str]] = []
    for text in texts:
        low = text.lower()
        toks = _WORD.findall(low)
        if _CJK.search(low):
            toks += [w for w in jieba.lcut(low) if len(w) > 1 and _CJK.match(w)]
        out.append([t for t in toks if len(t) > 1 and t not in EN_STOP and t not in ZH_STOP])
    return out


def ctfidf_keywords(tokens: list[list[str]], labels: np.ndarray, top: int = 8
                    ) -> dict[int, list[str]]:
    """Top ``top`` c-TF-IDF keywords per cluster label.

    >>> kw = ctfidf_keywords([["battery", "charge"], ["battery", "dies"], ["plot", "story"],
    ...                       ["story", "author"]], np.array([0, 0, 1, 1]), top=1)
    >>> kw
    {0: ['battery'], 1: ['story']}
    """
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, toks in enumerate(tokens):
        for t in toks:
            rows.append(i)
            cols.append(vocab.setdefault(t, len(vocab)))
    terms = np.array(sorted(vocab, key=vocab.__getitem__), dtype=object)
    clusters = np.unique(labels)
    if not vocab:
        return {int(c): [] for c in clusters}
    counts = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(tokens), len(vocab)))
    member = sp.csr_matrix((np.ones(len(labels)), (np.searchsorted(clusters, labels),
                                                   np.arange(len(labels)))),
                           shape=(len(clusters), len(labels)))
    tf = np.asarray((member @ counts).todense())
    avg_words = tf.sum() / len(clusters)
    idf = np.log1p(avg_words / np.maximum(tf.sum(axis=0), 1.0))
    tfn = tf / np.maximum(tf.sum(axis=1, keepdims=True), 1.0)
    score = tfn * idf
    # Ties (equal score) break by the term itself so results are deterministic.
    order = np.lexsort((np.broadcast_to(terms.astype(str), score.shape), -score), axis=1)
    return {int(c): [str(terms[j]) for j in order[i, :top] if tf[i, j] > 0]
            for i, c in enumerate(clusters)}


def cluster_topics(embeddings: np.ndarray, texts: Sequence[str], k: int | None = None,
                   seed: int = 0, top: int = 8) -> tuple[np.ndarray, pd.DataFrame]:
    """Topic label per text and a table topic_id, name, keywords, size, share.

    ``k`` defaults to ``round(sqrt(n / 10))`` clipped to 2..20.
    """
    n = len(texts)
    if n < 2:
        raise ValueError("topic discovery needs at least two texts")
    k = int(k or np.clip(round(np.sqrt(n / 10)), 2, 20))
    k = min(k, n)
    x = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms == 0, 1.0, norms)
    labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)
    keywords = ctfidf_keywords(tokenize(list(texts)), labels, top=top)
    sizes = np.bincount(labels, minlength=k)
    table = pd.DataFrame({
        "topic_id": np.arange(k, dtype=np.int64),
        "name": [" / ".join(keywords.get(i, [])[:3]) or f"topic {i}" for i in range(k)],
        "keywords": [", ".join(keywords.get(i, [])) for i in range(k)],
        "size": sizes.astype(np.int64),
        "share": sizes / n,
    })
    return labels.astype(np.int64), table
