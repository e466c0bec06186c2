"""Aspect detection (bilingual keyword lexicons) with clause-level sentiment.

A review is split into sentences (。！？；!?; and ". ") and clauses (，,：: , a space
between Chinese characters, ", and the/it/..."), and at contrast words: after "but",
"however", "except", 但是/但/可是/不过/然而/只是/就是 a new clause starts that is
marked *contrast*; "although"/"though"/虽然/尽管 start a *concessive* clause (a clause
holding 却 is a contrast clause too). A clause mentions an aspect when it contains one
of the aspect's keywords, so each aspect is scored on its own clause.

A clause's score (log-odds) is ``MODEL_WEIGHT`` times the logit of the sentiment model's
P(positive) for the clause plus ``LEXICON_WEIGHT`` times its lexicon score
(:mod:`.polarity`: opinion words and delivery/damage phrases, read through negation
and intensifiers). A clause naming an aspect but holding no opinion word (``"Shipping:
fast"``, ``"物流 很快"``) takes the score of the next clause of its sentence. An aspect
named in several clauses of a review takes their weighted mean: a clause after a
contrast word weighs ``CONTRAST_WEIGHT`` (the clause after "but" wins), a concessive
clause ``CONCESSIVE_WEIGHT``. The aspect's probability is the logistic of that score,
labelled with the model's band (neutral inside it). ``rules=False`` keeps the model
alone (the mean P(positive) of the clauses naming the aspect), the behaviour before
negation and contrast were read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import pandas as pd

from insightloop.models.sentiment.polarity import lexicon_scores

ASPECTS: dict[str, tuple[str, ...]] = {
    "quality": ("quality", "durable", "broke", "broken", "cheaply made", "flimsy", "sturdy",
                "defect", "defective", "stopped working", "works great", "well made",
                "质量", "做工", "品质", "材质", "坏了", "耐用", "正品", "假货", "瑕疵", "结实",
                "便宜没好货", "漏水", "漏的", "缺陷"),
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


MODEL_WEIGHT: Final = 0.25
"""Weight of the sentence model's log-odds for a clause (tuned on the dev half)."""
LEXICON_WEIGHT: Final = 3.0
"""Weight of the clause's lexicon score (tuned on the dev half)."""
FALLBACK_WEIGHT: Final = 0.5
"""Weight of the model's log-odds for a clause whose segment has no opinion word."""
CONTRAST_WEIGHT: Final = 4.0
"""Weight of a clause after a contrast word when an aspect is named in several clauses."""
CONCESSIVE_WEIGHT: Final = 0.25
"""Weight of a concessive clause ("although ...", 虽然...) in the same case."""

_SEP, _END, _CONTRAST, _CONCEDE = "\x1f", "\x1e", "\x1d", "\x1c"
_CONTRAST_RE = (r"(?i)(?:\b(?:but|however|except that|except)\b|但是|(?<!不)但|可是|不过|然而|"
                r"只是|就是)[\s，,：:]*")
_CONCEDE_RE = r"(?i)(?:\b(?:even though|although|though)\b|虽然|虽说|尽管)[\s，,：:]*"
_SENTENCE_RE = r"[。！？!?；;\n]+|\.+(?=\s|$)|…+|[~～]+"
_CLAUSE_RE = (r"[，,：:()（）]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])|(?i:\s+and\s+(?="
              r"(?:the|it|its|it's|my|they|this|that|i|we|he|she|delivery|shipping|price)\b))")
_COLUMNS = ["doc", "aspect", "probability", "sentiment"]


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
    """One row per non-empty clause, in text order.

    Columns ``doc`` (index of the text), ``clause``, ``sentence`` (index of the sentence
    in its text), ``contrast`` (the clause follows a contrast word, or holds 却) and
    ``concessive`` (it starts with although/虽然...).

    >>> texts = ["物流很快，但是质量不好", "Great price. But the box was crushed"]
    >>> split_clauses(texts).clause.tolist()
    ['物流很快', '质量不好', 'Great price', 'the box was crushed']
    >>> split_clauses(texts).contrast.tolist()
    [False, True, False, True]
    """
    s = pd.Series(list(texts), dtype=object).fillna("").astype(str)
    s = s.str.replace(_CONCEDE_RE, _SEP + _CONCEDE, regex=True)
    s = s.str.replace(_CONTRAST_RE, _SEP + _CONTRAST, regex=True)
    s = s.str.replace(_SENTENCE_RE, _END + _SEP, regex=True)
    s = s.str.replace(_CLAUSE_RE, _SEP, regex=True)
    parts = s.str.split(_SEP, regex=False).explode().fillna("").astype(str)
    doc = parts.index.to_numpy(dtype=np.int64)
    clause = parts.str.replace(r"[\x1c-\x1f]", "", regex=True).str.strip().to_numpy()
    contrast = parts.str.contains(_CONTRAST, regex=False).to_numpy()
    concessive = parts.str.contains(_CONCEDE, regex=False).to_numpy()
    end = parts.str.contains(_END, regex=False).to_numpy().astype(np.int64)
    # A marker left on an empty piece ("but, the strap") carries to the next piece.
    empty = pd.Series(clause).str.len().to_numpy() == 0
    same_doc = np.r_[False, doc[1:] == doc[:-1]]
    contrast = contrast | (same_doc & np.r_[False, (contrast & empty)[:-1]])
    concessive = concessive | (same_doc & np.r_[False, (concessive & empty)[:-1]])
    ends = pd.Series(end).groupby(doc).cumsum().to_numpy() - end
    frame = pd.DataFrame({"doc": doc, "clause": clause, "sentence": ends,
                          "contrast": contrast | pd.Series(clause).str.contains("却").to_numpy(),
                          "concessive": concessive}).loc[~empty].reset_index(drop=True)
    # The clause after a concessive one ("Although A, B") is its contrast.
    d, sent = frame["doc"].to_numpy(), frame["sentence"].to_numpy()
    conc = frame["concessive"].to_numpy()
    same = np.r_[False, (d[1:] == d[:-1]) & (sent[1:] == sent[:-1])]
    frame["contrast"] = frame["contrast"].to_numpy() | (same & np.r_[False, conc[:-1]] & ~conc)
    # Segment: a run of clauses of one sentence not broken by a contrast or concession.
    frame["segment"] = np.cumsum(~same | frame["contrast"].to_numpy() | conc)
    return frame


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), 1e-4, 1 - 1e-4)
    return np.log(q / (1 - q))


def clause_scores(clauses: pd.DataFrame, proba: np.ndarray) -> np.ndarray:
    """Log-odds per clause: the model's logit and the lexicon, borrowing as documented.

    A clause without an opinion word takes the score of the next clause of its segment
    that has one (else the previous one); with none in the segment, the model alone.
    """
    lex, found, lukewarm = lexicon_scores(clauses["clause"])
    model = np.where(lukewarm, 0.0, MODEL_WEIGHT * _logit(proba))
    z = pd.Series(np.where(found, model + LEXICON_WEIGHT * lex, np.nan))
    seg = clauses["segment"].to_numpy()
    filled = z.groupby(seg).bfill().groupby(seg).ffill().to_numpy()
    return np.where(np.isnan(filled), FALLBACK_WEIGHT * _logit(proba), filled)


def find_aspects(texts: Sequence[str],
                 score: Callable[[list[str]], np.ndarray],
                 aspects: dict[str, tuple[str, ...]] | None = None,
                 band: tuple[float, float] = (0.35, 0.65),
                 rules: bool = True) -> pd.DataFrame:
    """Aspect mentions with sentiment: columns doc, aspect, probability, sentiment.

    ``score`` maps a list of clauses to P(positive). One row per (text, aspect); see
    the module docstring for how the clauses naming an aspect are scored and combined
    (``rules=False``: the mean of the model's P(positive) over them).
    """
    lex = aspects or ASPECTS
    clauses = split_clauses(texts)
    if clauses.empty:
        return pd.DataFrame(columns=_COLUMNS)
    lower = clauses["clause"].str.lower()
    hits = [pd.DataFrame({"row": np.flatnonzero(lower.str.contains(_pattern(words), regex=True)
                                                .to_numpy()), "aspect": name})
            for name, words in lex.items()]
    found = pd.concat(hits, ignore_index=True)
    if found.empty:
        return pd.DataFrame(columns=_COLUMNS)
    rows = found["row"].to_numpy()
    if rules:  # every clause of a segment naming an aspect (a bare clause borrows)
        segs = clauses["segment"].to_numpy()
        needed = np.flatnonzero(np.isin(segs, segs[rows]))
        sub = clauses.iloc[needed].reset_index(drop=True)
        z = pd.Series(clause_scores(sub, score(sub["clause"].tolist())), index=needed)
        weight = np.where(clauses["contrast"].to_numpy(), CONTRAST_WEIGHT,
                          np.where(clauses["concessive"].to_numpy(), CONCESSIVE_WEIGHT, 1.0))
        found["w"] = weight[rows]
        found["wz"] = weight[rows] * z.reindex(rows).to_numpy()
    else:
        needed = np.unique(rows)
        proba = pd.Series(score(clauses["clause"].iloc[needed].tolist()), index=needed)
        found["w"] = 1.0
        found["wz"] = proba.reindex(rows).to_numpy()
    found["doc"] = clauses["doc"].to_numpy()[rows]
    out = found.groupby(["doc", "aspect"], sort=True)[["w", "wz"]].sum().reset_index()
    mean = (out["wz"] / out["w"]).to_numpy()
    out["probability"] = 1.0 / (1.0 + np.exp(-mean)) if rules else mean
    lo, hi = band
    out["sentiment"] = np.where(out["probability"] >= hi, "positive",
                                np.where(out["probability"] <= lo, "negative", "neutral"))
    return out.loc[:, _COLUMNS]
