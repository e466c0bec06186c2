"""Ranking metrics at k with binary relevance (the Microsoft Recommenders definitions).

For each evaluated user with ``R`` relevant (test) items and a ranked list of ``k``
recommendations with hits at ranks ``r_1 < r_2 < ...`` (1-based):

* ``precision@k = hits / k``
* ``recall@k = hits / R``
* ``ndcg@k = sum_hits 1/log2(r + 1) / sum_{r=1..min(R, k)} 1/log2(r + 1)``
* ``map@k = sum_j (j / r_j) / R`` (average precision over the hits, divided by *all* R
  relevant items, as in Microsoft Recommenders' ``map_at_k`` used for its published table)
* ``coverage`` = distinct recommended items / items in the catalogue.

Users are averaged with equal weight; users without relevant items are not evaluated.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hits_matrix(recommended: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean (users x k): is the item at each rank in the user's relevant set."""
    rec = np.asarray(recommended)
    rows = np.repeat(np.arange(rec.shape[0]), rec.shape[1])
    cols = rec.ravel()
    valid = cols >= 0
    hit = np.zeros(rec.size, dtype=bool)
    rel = relevant.tocsr()
    hit[valid] = np.asarray(rel[rows[valid], cols[valid]]).ravel() > 0
    return hit.reshape(rec.shape)


def ranking_metrics(recommended: np.ndarray, relevant: sp.csr_matrix, k: int,
                    n_items: int | None = None) -> dict[str, float]:
    """precision, recall, ndcg, map at ``k`` (and coverage when ``n_items`` is given).

    Parameters
    ----------
    recommended : int array (users x >= k)
        Ranked item indices per user; ``-1`` pads short lists.
    relevant : csr_matrix (users x items)
        Held-out items per user (any positive value = relevant).
    """
    rec = np.asarray(recommended)[:, :k]
    n_rel = np.diff(relevant.tocsr().indptr)
    users = n_rel > 0
    rec, n_rel = rec[users], n_rel[users].astype(np.float64)
    rel = relevant.tocsr()[users]
    hits = hits_matrix(rec, rel)
    n_hits = hits.sum(axis=1)
    ranks = np.arange(1, rec.shape[1] + 1, dtype=np.float64)
    discounts = 1.0 / np.log2(ranks + 1.0)
    dcg = (hits * discounts).sum(axis=1)
    ideal_cum = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))])
    idcg = ideal_cum[np.minimum(n_rel, k).astype(int)]
    ap = (np.cumsum(hits, axis=1) / ranks * hits).sum(axis=1) / n_rel
    out = {
        f"precision@{k}": float(np.mean(n_hits / k)) if len(n_rel) else 0.0,
        f"recall@{k}": float(np.mean(n_hits / n_rel)) if len(n_rel) else 0.0,
        f"ndcg@{k}": float(np.mean(dcg / idcg)) if len(n_rel) else 0.0,
        f"map@{k}": float(np.mean(ap)) if len(n_rel) else 0.0,
    }
    if n_items:
        shown = np.unique(rec[rec >= 0])
        out["coverage"] = float(len(shown) / n_items)
    return out
