"""Review summaries with evidence: per product (or category), in each language its reviews
are written in, every claim ("12 of 29 reviews praise the price") carries the number of
reviews behind it and their ids; complaints are ranked by volume, each with its trend
(reviews in the last ``window`` days against the ``window`` days before). Claims come from
the aspect sentiment already in the warehouse (``review_aspects``, ``insightloop aspects``);
nothing is generated that a review does not state."""

from __future__ import annotations

from typing import Any

from insightloop.errors import ConfigError, NotFoundError, WarehouseError
from insightloop.services.context import Context

__all__ = ["summarize_reviews"]

_ZH = {"content": "内容", "delivery": "物流配送", "packaging": "包装", "price": "价格",
       "quality": "质量", "service": "服务", "size/fit": "尺寸", "taste/freshness": "口味新鲜度",
       "usability": "易用性"}
_SQL = """
WITH picked AS (
    SELECT r.review_id, r.review_time, coalesce(r.language, 'en') AS language
    FROM reviews r {join} WHERE {where}
), stats AS (
    SELECT language, count(*) AS reviews, max(review_time) AS latest FROM picked GROUP BY 1
)
SELECT p.language, s.reviews, a.aspect, a.sentiment, count(DISTINCT p.review_id) AS n,
       list(DISTINCT p.review_id ORDER BY p.review_id) AS ids,
       count(DISTINCT p.review_id) FILTER (
           WHERE p.review_time > s.latest - to_days(?)) AS recent,
       count(DISTINCT p.review_id) FILTER (
           WHERE p.review_time <= s.latest - to_days(?)
             AND p.review_time > s.latest - to_days(2 * ?)) AS before
FROM picked p JOIN review_aspects a USING (review_id) JOIN stats s USING (language)
WHERE a.sentiment IN ('positive', 'negative')
GROUP BY ALL ORDER BY p.language, n DESC, a.aspect
"""


def _claim(lang: str, aspect: str, sentiment: str, n: int, total: int) -> str:
    if lang == "zh":
        verb = "称赞" if sentiment == "positive" else "抱怨"
        return f"{total}条评论中有{n}条{verb}{_ZH.get(aspect, aspect)}"
    verb = "praise" if sentiment == "positive" else "complain about"
    return f"{n} of {total} reviews {verb} the {aspect}"


def _trend(recent: int, before: int) -> str:
    return "rising" if recent > before else "falling" if recent < before else "flat"


def summarize_reviews(ctx: Context, product: str | None = None, category: str | None = None,
                      window: int = 90, evidence: int = 20) -> dict[str, Any]:
    """Claims with their review counts and ids, and complaints ranked by volume with their
    trend, per review language, for one ``product`` id or one ``category``."""
    if (product is None) == (category is None):
        raise ConfigError("summarise one product (--product ID) or one category (--category)")
    with ctx.read() as con:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        missing = {"reviews", "review_aspects"} - tables
        if missing:
            raise WarehouseError(f"the warehouse has no {', '.join(sorted(missing))}: ingest "
                                 "reviews, then run `insightloop aspects build`")
        if product is not None:
            join, where, arg = "", "r.product_id = ?", product
        elif "products" in tables:
            join, where, arg = ("JOIN products pr USING (product_id)",
                                "lower(pr.category) = lower(?)", str(category))
        else:
            raise WarehouseError("the warehouse has no products table, so reviews cannot be "
                                 "grouped by category: summarise a --product instead")
        rows = con.execute(_SQL.format(join=join, where=where),
                           [arg, window, window, window]).fetchall()
        if not rows:
            count = con.execute(f"SELECT count(*) FROM reviews r {join} WHERE {where}",
                                [arg]).fetchone()
            if not count or not count[0]:
                what = f"product {product!r}" if product else f"category {category!r}"
                raise NotFoundError(f"no reviews of {what}")
    languages: dict[str, dict[str, Any]] = {}
    for lang, total, aspect, sentiment, n, ids, recent, before in rows:
        out = languages.setdefault(lang, {"language": lang, "reviews": int(total),
                                          "claims": [], "complaints": []})
        claim = {"aspect": aspect, "sentiment": sentiment, "reviews": int(n),
                 "text": _claim(lang, aspect, sentiment, int(n), int(total)),
                 "review_ids": [str(i) for i in ids][:evidence]}
        out["claims"].append(claim)
        if sentiment == "negative":
            out["complaints"].append({**claim, "recent": int(recent), "before": int(before),
                                      "trend": _trend(int(recent), int(before))})
    return {"product": product, "category": category, "window_days": window,
            "languages": list(languages.values())}
