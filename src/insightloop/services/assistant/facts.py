"""The fact check every piece of campaign copy passes before anyone can approve it.

A brief's ``facts`` (product names, prices, discounts, dates, a code, claims) are the only
things copy may state. :func:`check_copy` finds in a text every price or amount, percentage
(and Chinese 折), date, known product name, claim word (free, guaranteed, best, 包邮, 最低...)
and any other number, and names each one the facts do not back.

>>> facts = {"products": ["Red Retrospot Bag"], "price": 2.08, "discount_pct": 20,
...          "ends": "2026-12-24", "code": "BAG20"}
>>> check_copy("Red Retrospot Bag: 20% off, now £2.08 until 24 December (code BAG20)", facts)
[]
>>> for problem in check_copy("Red Retrospot Bag: 30% off, now £1.99, free delivery", facts):
...     print(problem)
percentage 30% is not in the brief
price 1.99 is not in the brief
claim "free" is not in the brief
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["check_copy", "fact_numbers"]

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_PRICE = re.compile(r"(?:[£$€¥￥]\s?|(?:gbp|eur|usd|rmb)\s?)(\d+(?:[.,]\d+)?)|(\d+(?:\.\d+)?)\s?"
                    r"(?:元|英镑|镑|块|欧元|美元|pounds?\b|euros?\b|dollars?\b)", re.I)
_PCT = re.compile(r"(\d+(?:\.\d+)?)\s?(?:%|percent\b|per cent\b)|百分之(\d+)", re.I)
_ZHE = re.compile(r"(\d(?:\.\d)?)\s?折")
_DATE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|"
    r"sep|oct|nov|dec)[a-z]*|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+"
    r"(\d{1,2})(?:st|nd|rd|th)?|(\d{1,2})月(\d{1,2})[日号]", re.I)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]*\d)")
_CLAIMS = ("free", "guaranteed", "guarantee", "best", "lowest", "cheapest", "#1", "number one",
           "only today", "last chance", "limited stock", "包邮", "免费", "最低", "最便宜", "第一",
           "保证", "仅限今天", "最后机会", "限量")


def _dates(facts: Mapping[str, Any]) -> set[tuple[int, int]]:
    out = set()
    for key, value in facts.items():
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = dt.date.fromisoformat(value)
            out.add((day.month, day.day))
        del key
    return out


def fact_numbers(facts: Mapping[str, Any]) -> set[float]:
    """Every number the facts state (prices, percentages, thresholds, date parts, numbers
    inside names and claims)."""
    found: set[float] = set()
    for value in facts.values():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, bool):
                continue
            if isinstance(item, int | float):
                found.add(round(float(item), 2))
            elif isinstance(item, str):
                found.update(round(float(n), 2) for n in re.findall(r"\d+(?:\.\d+)?", item))
    return found


def _claims(facts: Mapping[str, Any]) -> str:
    return " ".join(str(c) for c in facts.get("claims", ())).lower()


def check_copy(text: str, facts: Mapping[str, Any], known_products: Iterable[str] = ()
               ) -> list[str]:
    """What ``text`` states that ``facts`` do not back (empty: the copy may be approved)."""
    problems: list[str] = []
    lower = text.lower()
    numbers = fact_numbers(facts)
    pcts = {round(float(facts[k]), 2) for k in facts if k.endswith("_pct")}
    rest = text
    for m in _PCT.finditer(text):
        value = round(float(m.group(1) or m.group(2)), 2)
        if value not in pcts:
            problems.append(f"percentage {value:g}% is not in the brief")
        rest = rest.replace(m.group(0), " ", 1)
    for m in _ZHE.finditer(text):
        off = round(100 - float(m.group(1)) * 10, 2)
        if off not in pcts:
            problems.append(f"discount {m.group(0)} ({off:g}% off) is not in the brief")
        rest = rest.replace(m.group(0), " ", 1)
    for m in _PRICE.finditer(rest):
        value = round(float((m.group(1) or m.group(2)).replace(",", ".")), 2)
        if value not in numbers:
            problems.append(f"price {value:g} is not in the brief")
        rest = rest.replace(m.group(0), " ", 1)
    dates = _dates(facts)
    for m in _DATE.finditer(rest):
        g = m.groups()
        month, day = ((int(g[1]), int(g[2])) if g[0] else
                      (_MONTHS[g[4].lower()[:3]], int(g[3])) if g[3] else
                      (_MONTHS[g[5].lower()[:3]], int(g[6])) if g[5] else (int(g[7]), int(g[8])))
        if (month, day) not in dates:
            problems.append(f"date {m.group(0)} is not in the brief")
        rest = rest.replace(m.group(0), " ", 1)
    allowed = {str(p).lower() for p in facts.get("products", ())}
    for name in known_products:
        if name and name.lower() in lower and name.lower() not in allowed \
                and not any(name.lower() in a for a in allowed):
            problems.append(f"product {name!r} is not in the brief")
    code = str(facts.get("code", ""))
    if code:
        rest = rest.replace(code, " ")
    for product in facts.get("products", ()):
        rest = re.sub(re.escape(str(product)), " ", rest, flags=re.I)
    for m in _NUMBER.finditer(rest):
        if round(float(m.group(0)), 2) not in numbers:
            problems.append(f"number {m.group(0)} is not in the brief")
    claims = _claims(facts)
    for word in _CLAIMS:
        if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", lower) and word not in claims:
            problems.append(f'claim "{word}" is not in the brief')
    return problems
