"""Text clean-up and language detection for reviews (no downloads, no models).

Every function works on a whole column at once (pandas string methods, which
run the regular expressions in C per element).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MAX_CHARS = 1000
"""Reviews longer than this (after clean-up) are truncated, with ``truncated=True``."""

_TAG = r"<[^>]{0,200}>"
_ENTITIES = {"&nbsp;": " ", "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'"}
# CJK unified ideographs (+ extension A, compatibility), kana, hangul: "CJK" share.
_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_LATIN = r"[A-Za-z]"


def clean_texts(texts: Sequence[object] | pd.Series, max_chars: int = MAX_CHARS
                ) -> tuple[pd.Series, np.ndarray]:
    """Cleaned texts and a truncation flag per text.

    Removes byte-order marks, HTML tags and common entities, control characters
    and repeated whitespace; ``None``/NaN become ``""``; texts longer than
    ``max_chars`` are cut there (flag True).

    >>> t, cut = clean_texts(["\\ufeff<b>Great</b>&nbsp;value!", None, "x" * 30], max_chars=20)
    >>> list(t), cut.tolist()
    (['Great value!', '', 'xxxxxxxxxxxxxxxxxxxx'], [False, False, True])
    """
    s = pd.Series(list(texts), dtype=object).where(lambda v: v.notna(), "").astype(str)
    s = s.str.replace("\ufeff", "", regex=False)
    s = s.str.replace(r"(?i)<br\s*/?>|</p>", " ", regex=True).str.replace(_TAG, " ", regex=True)
    for ent, rep in _ENTITIES.items():
        s = s.str.replace(ent, rep, regex=False)
    s = s.str.replace(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]", " ", regex=True)
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    lengths = s.str.len().to_numpy()
    truncated = lengths > max_chars
    if truncated.any():
        s = s.str.slice(0, max_chars)
    return s.reset_index(drop=True), truncated


def detect_language(texts: Sequence[str] | pd.Series, mixed_share: float = 0.2) -> np.ndarray:
    """``"zh"``, ``"en"``, ``"mixed"`` (zh + en) or ``"other"`` per text, by character share.

    A text is Chinese when CJK ideographs are most of its letters, English when
    Latin letters are; ``mixed`` when the minority script still holds at least
    ``mixed_share`` of the letters (and both are present); ``other`` when it has
    neither (empty, emoji-only, digits, other scripts).

    >>> texts = ["质量很好", "great phone", "手机 great 很好用 battery life", "👍👍", ""]
    >>> detect_language(texts).tolist()
    ['zh', 'en', 'mixed', 'other', 'other']
    """
    s = pd.Series(list(texts), dtype=object).fillna("").astype(str)
    cjk = s.str.count(_CJK).to_numpy(dtype=float)
    # Latin letters count by word (a Chinese character carries about one English word).
    latin_words = s.str.count(r"[A-Za-z]+").to_numpy(dtype=float)
    other_letters = (s.str.count(r"[^\W\d_]").to_numpy(dtype=float) - cjk
                     - s.str.count(_LATIN).to_numpy(dtype=float))
    total = cjk + latin_words
    out = np.full(len(s), "other", dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):
        zh_share = np.where(total > 0, cjk / np.maximum(total, 1), 0.0)
    has = total > 0
    out[has & (zh_share >= 0.5)] = "zh"
    out[has & (zh_share < 0.5)] = "en"
    minority = np.minimum(zh_share, 1 - zh_share)
    out[has & (cjk > 0) & (latin_words > 0) & (minority >= mixed_share)] = "mixed"
    out[~has & (other_letters > 0)] = "other"
    return out.astype(str)
