"""Aspect detection (bilingual keyword lexicons) with clause-level sentiment.

A review is split into clauses at sentence and clause punctuation (Chinese and
Latin: 。！？；，,.!?; and "but"/"但是"/"不过"...); a clause mentions an aspect when it
contains one of the aspect's keywords; the aspect's sentiment in the review is
the sentiment of the clauses that mention it (scored by the sentiment model).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

ASPECTS: dict[str, tuple[str, ...]] = {
    "quality": ("quality", "durable", "broke", "broken", "cheaply made", "flimsy", "sturdy",
                "defect", "defective", "stopped working", "works great", "well made",
                "质量", "做工", "品质", "材质", "坏了", "耐用", "正品", "假货", "瑕疵", "结实"),
    "price": ("price", "expensive", "cheap", "value for money", "great value", "good value",
              "worth the money", "overpriced",
              "bargain", "cost", "价格", "价钱", "便宜", "贵", "性价比", "划算", "实惠", "优惠"),
    "delivery": ("delivery", "shipping", "shipped", "arrived", "courier", "late", "on time",
                 "物流", "快递", "发货", "送货", "配送", "到货", "速度", "顺丰"),
    "service": ("service", "customer service", "support", "seller", "refund", "return",
                "replacement", "warranty", "staff", "服务", "客服", "售后", "态度", "卖家",
                "商家", "退货", "换货", "前台"),
    "packaging": ("packaging", "package", "packaged", "box", "wrapped", "包装", "盒子", "外包装",
                  "破损", "纸箱"),
    "size/fit": ("size", "fit", "fits", "too small", "too big", "too large", "tight", "loose",
                 "尺码", "尺寸", "大小", "码数", "偏大", "偏小", "合身", "太大", "太小"),
    "usability": ("easy to use", "difficult to use", "instructions", "setup", "install",
                  "battery", "screen", "noise", "noisy", "好用", "难用", "操作", "安装", "电池",
                  "屏幕", "噪音", "声音", "系统", "运行"),
    "taste/freshness": ("taste", "tastes", "flavor", "fresh", "stale", "味道", "口感", "新鲜",
                        "好吃", "难吃", "甜"),
    "content": ("story", "plot", "author", "writing", "characters", "acting", "movie",
                "情节", "内容", "作者", "故事", "翻译", "印刷"),
}

_SPLIT = re.compile(
    r"[。！？；，、,.!?;:\n]+|\s+(?:but|however|although|though)\s+|但是|不过|可是|就是",
    flags=re.IGNORECASE)


def _pattern(words: Sequence[str]) -> str:
    latin = [re.escape(w) for w in words if w.isascii()]
    cjk = [re.escape(w) for w in words if not w.isascii()]
    parts = []
    if latin:
        parts.append(r"\b(?:" + "|".join(sorted(latin, key=len, reverse=True)) + r")\b")
    if cjk:
        parts.append("(?:" + "|".join(sorted(cjk, key=len, reverse=True)) + ")")
    return "|".join(parts)


def split_clauses(texts: Sequence[str]) -> pd.DataFrame:
    """One row per non-empty clause: ``doc`` (index of the text) and ``clause``.

    >>> texts = ["物流很快，但是质量不好", "Great price. But the box was crushed"]
    >>> split_clauses(texts).clause.tolist()
    ['物流很快', '质量不好', 'Great price', 'the box was crushed']
    """
    s = pd.Series(list(texts), dtype=object).fillna("").astype(str)
    parts = s.str.split(_SPLIT, regex=True).explode()
    frame = pd.DataFrame({"doc": parts.index.to_numpy(dtype=np.int64),
                          "clause": parts.fillna("").astype(str).str.strip().to_numpy()})
    return frame.loc[frame["clause"].str.len() > 0].reset_index(drop=True)


def find_aspects(texts: Sequence[str],
                 score: Callable[[list[str]], np.ndarray],
                 aspects: dict[str, tuple[str, ...]] | None = None,
                 band: tuple[float, float] = (0.35, 0.65)) -> pd.DataFrame:
    """Aspect mentions with sentiment: columns doc, aspect, probability, sentiment.

    ``score`` maps a list of clauses to P(positive). One row per (text, aspect);
    the probability is the mean over the clauses of that text mentioning it.
    """
    lex = aspects or ASPECTS
    clauses = split_clauses(texts)
    cols = ["doc", "aspect", "probability", "sentiment"]
    if clauses.empty:
        return pd.DataFrame(columns=cols)
    lower = clauses["clause"].str.lower()
    hits = [pd.DataFrame({"row": np.flatnonzero(lower.str.contains(_pattern(words), regex=True)
                                                .to_numpy()), "aspect": name})
            for name, words in lex.items()]
    found = pd.concat(hits, ignore_index=True)
    if found.empty:
        return pd.DataFrame(columns=cols)
    rows = np.unique(found["row"].to_numpy())
    proba = pd.Series(score(clauses["clause"].iloc[rows].tolist()), index=rows)
    found["doc"] = clauses["doc"].to_numpy()[found["row"].to_numpy()]
    found["probability"] = proba.reindex(found["row"]).to_numpy()
    out = (found.groupby(["doc", "aspect"], sort=True)["probability"].mean().reset_index())
    lo, hi = band
    out["sentiment"] = np.where(out["probability"] >= hi, "positive",
                                np.where(out["probability"] <= lo, "negative", "neutral"))
    return out.loc[:, cols]
