"""Business rules on top of a ranking: association rules, explanations, category diversity.

All vectorised over sparse matrices / numpy arrays (no loops over rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

RULE_COLUMNS = ("antecedent", "consequent", "count", "support", "confidence", "lift")


def association_rules(baskets: sp.csr_matrix, item_ids: np.ndarray, min_support: float = 0.01,
                      min_confidence: float = 0.1, min_lift: float = 1.0,
                      max_rules: int | None = 1000) -> pd.DataFrame:
    """Pairwise rules ``A -> B`` from a baskets x items matrix (any positive = in basket).

    ``support = n(A and B) / baskets``, ``confidence = n(A and B) / n(A)``,
    ``lift = confidence / (n(B) / baskets)``. Items below ``min_support`` are pruned before
    the sparse co-occurrence product (Apriori's first step), so memory follows the
    frequent items only. Sorted by lift, then confidence, then ids.
    """
    b = sp.csr_matrix(baskets, dtype=np.float32)
    b.data = np.ones_like(b.data)
    n = b.shape[0]
    if n == 0:
        return pd.DataFrame(columns=list(RULE_COLUMNS))
    count = np.asarray(b.sum(axis=0)).ravel()
    frequent = np.flatnonzero(count >= max(min_support * n, 1.0))
    sub = b[:, frequent]
    co = sp.triu(sub.T @ sub, k=1).tocoo()
    pair_count = co.data.astype(np.float64)
    keep = pair_count >= max(min_support * n, 1.0)
    a = np.concatenate([co.row[keep], co.col[keep]])
    c = np.concatenate([co.col[keep], co.row[keep]])
    both = np.concatenate([pair_count[keep], pair_count[keep]])
    ca, cc = count[frequent][a], count[frequent][c]
    conf = both / ca
    lift = conf / (cc / n)
    ok = (conf >= min_confidence) & (lift >= min_lift)
    out = pd.DataFrame({
        "antecedent": np.asarray(item_ids, dtype=object)[frequent[a[ok]]],
        "consequent": np.asarray(item_ids, dtype=object)[frequent[c[ok]]],
        "count": both[ok].astype(np.int64), "support": both[ok] / n,
        "confidence": conf[ok], "lift": lift[ok],
    })
    out = out.sort_values(["lift", "confidence", "antecedent", "consequent"],
                          ascending=[False, False, True, True], kind="stable")
    if max_rules is not None:
        out = out.head(max_rules)
    return out.reset_index(drop=True)


def explain(history: sp.csr_matrix, recommended: np.ndarray, similarity: sp.csr_matrix
            ) -> tuple[np.ndarray, np.ndarray]:
    """For each recommended item, the history item most similar to it ("because you bought X").

    Returns ``(item index or -1, similarity)`` arrays shaped like ``recommended``; ties go
    to the lower item index; -1 when no history item is a neighbour.
    """
    hist = sp.csr_matrix(history)
    rec = np.asarray(recommended)
    n_users, n = rec.shape
    best = np.full(rec.shape, -1, dtype=np.int64)
    best_sim = np.zeros(rec.shape)
    deg = np.diff(hist.indptr)
    if n == 0 or hist.nnz == 0:
        return best, best_sim
    # one triple (slot, seen item) for every seen item of a user and every slot of that user
    seen_items = np.repeat(hist.indices, n)
    slots = np.repeat(np.repeat(np.arange(n_users), deg) * n, n) + np.tile(np.arange(n), hist.nnz)
    rec_flat = rec.ravel()
    target = rec_flat[slots]
    valid = target >= 0
    sims = np.zeros(len(slots))
    if valid.any():
        sims[valid] = np.asarray(similarity[seen_items[valid], target[valid]]).ravel()
    good = sims > 0
    slots, seen_items, sims = slots[good], seen_items[good], sims[good]
    order = np.lexsort((seen_items, -sims, slots))
    slots, seen_items, sims = slots[order], seen_items[order], sims[order]
    first = np.r_[True, slots[1:] != slots[:-1]] if len(slots) else np.zeros(0, dtype=bool)
    flat_best = best.ravel()
    flat_sim = best_sim.ravel()
    flat_best[slots[first]] = seen_items[first]
    flat_sim[slots[first]] = sims[first]
    return flat_best.reshape(rec.shape), flat_sim.reshape(rec.shape)


def diversify(candidates: np.ndarray, scores: np.ndarray, categories: np.ndarray, n: int,
              max_per_category: int) -> tuple[np.ndarray, np.ndarray]:
    """Re-rank each row so that at most ``max_per_category`` of its first ``n`` items share a
    category; items over the cap move after the others (order otherwise kept).

    ``categories`` gives an integer code per item (``-1`` = unknown, never capped).
    """
    cand = np.asarray(candidates)
    rows, width = cand.shape
    cats = np.where(cand >= 0, categories[np.maximum(cand, 0)], -1)
    key = np.arange(rows)[:, None] * (int(categories.max(initial=0)) + 2) + cats + 1
    flat = key.ravel()
    order = np.argsort(flat, kind="stable")
    sorted_keys = flat[order]
    start = np.r_[0, np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1]
    run_start = np.repeat(start, np.diff(np.r_[start, len(flat)]))
    occurrence = np.empty(len(flat), dtype=np.int64)
    occurrence[order] = np.arange(len(flat)) - run_start
    occ = occurrence.reshape(rows, width)
    over = (occ >= max_per_category) & (cats >= 0)
    over |= cand < 0
    rank = np.argsort(over * width + np.arange(width)[None, :], axis=1, kind="stable")
    new_c = np.take_along_axis(cand, rank, axis=1)[:, :n]
    new_s = np.take_along_axis(np.asarray(scores), rank, axis=1)[:, :n]
    return new_c, new_s
