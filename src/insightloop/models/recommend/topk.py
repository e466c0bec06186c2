"""One top-k routine for every recommender: seen-item exclusion and deterministic ties.

Rules, identical for all models: excluded cells (seen items, out-of-stock items) get
``-inf`` and are never returned; among equal scores the lower item index wins; when fewer
than ``k`` items are eligible the row is padded with index ``-1`` and score ``nan``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def mask_rows(scores: np.ndarray, seen: sp.csr_matrix | None = None,
              exclude_items: np.ndarray | None = None) -> np.ndarray:
    """Set seen cells (per row of ``seen``) and globally excluded items to ``-inf`` in place."""
    if seen is not None and seen.nnz:
        rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
        scores[rows, seen.indices] = -np.inf
    if exclude_items is not None and len(exclude_items):
        scores[:, exclude_items] = -np.inf
    return scores


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best columns of each row of ``scores``.

    Sorted by score descending, then item index ascending; ``-inf`` and ``nan`` cells are
    not eligible; short rows are padded with ``-1`` / ``nan``. Fully vectorised: a partition
    finds each row's k-th value, then only the cells at or above it are sorted.

    >>> idx, val = top_k(np.array([[0.1, 0.5, 0.5, -np.inf]]), 3)
    >>> idx.tolist(), val.tolist()
    ([[1, 2, 0]], [[0.5, 0.5, 0.1]])
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError("scores must be 2-d (users x items)")
    n_rows, n_cols = s.shape
    k = int(max(0, min(k, n_cols)))
    out_idx = np.full((n_rows, k), -1, dtype=np.int64)
    out_val = np.full((n_rows, k), np.nan, dtype=np.float64)
    if k == 0 or n_rows == 0:
        return out_idx, out_val
    if np.isnan(s).any():
        s = np.where(np.isnan(s), -np.inf, s)
    kth = np.partition(s, n_cols - k, axis=1)[:, n_cols - k]
    cand = s >= kth[:, None]
    rows, cols = np.nonzero(cand)
    vals = s[rows, cols]
    finite = np.isfinite(vals)  # a row whose k-th value is -inf has fewer eligible items
    rows, cols, vals = rows[finite], cols[finite], vals[finite]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(n_rows))
    rank = np.arange(len(rows)) - starts[rows]
    keep = rank < k
    out_idx[rows[keep], rank[keep]] = cols[keep]
    out_val[rows[keep], rank[keep]] = vals[keep]
    return out_idx, out_val
