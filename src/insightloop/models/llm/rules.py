"""The rule-based provider: plain-language audience requests (English and Chinese) turned
into the audience filter language, deterministically and offline.

A request is split into clauses at "and"/"or"/commas (和/且/或/，); in each clause the
concepts below are found by pattern (recency, tenure, order value, orders, spend, return
rate, churn risk, value tier, P(alive), CLV, RFM segment, country), each consuming its words;
a "not"/"excluding"/不/除了 left over negates the concept after it. "or" binds tighter than
"and" (``French or German customers who spent over 500`` is ``(France or Germany) and spend``)
and equalities on one column joined by "and" become an ``in`` list (nobody lives in two
countries). Numbers may be written in words or Chinese numerals (:mod:`.numbers`).

>>> cat = Catalogue({"recency_days": "DOUBLE", "monetary": "DOUBLE", "country": "VARCHAR"},
...                 {"country": ("United Kingdom", "France", "Germany")})
>>> parse_request("French or German customers who spent over £500", cat)[0]
"country in ('France', 'Germany') and monetary > 500"
>>> parse_request("英国客户，三个月没有购买", cat)[0]
"country = 'United Kingdom' and recency_days > 90"
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from insightloop.models.llm.contract import (
    Catalogue,
    Completion,
    Message,
    last_user,
)
from insightloop.models.llm.numbers import normalise_numbers
from insightloop.models.llm.vocabulary import (
    COUNTRY_ALIASES,
    HOME_COUNTRY,
    LABELS,
    SEGMENT_ALIASES,
    TIER_WORDS,
)

__all__ = ["RuleProvider", "parse_request"]

_NUM = r"(?P<num>\d+(?:\.\d+)?)\s*(?P<pct>%|percent|per cent)?"
_UNIT = r"\s*(?P<unit>days?|weeks?|months?|years?|yrs?|天|日|周|星期|个月|月|年)"
_GT = (r"more than|over|above|greater than|exceeding|higher than|bigger than|in excess of|"
       r"longer than|>|超过|大于|高于|多于|超出|逾|长于")
_GE = r"at least|no less than|not less than|minimum of|>=|至少|不少于|不低于|不小于|满"
_LT = r"less than|under|below|fewer than|lower than|shorter than|<|低于|少于|小于|不到|不足|短于"
_LE = r"at most|no more than|not more than|up to|maximum of|<=|不超过|最多|不高于|不多于|不大于"
_EQ = r"exactly|only|just|=|仅|只有|只"
_CMP = rf"(?P<cmp>{_GE}|{_LE}|{_GT}|{_LT}|{_EQ})"
_POST = (r"(?P<post>\+|or more|or above|or higher|or less|or fewer|or below|以上|以下|及以上|"
         r"及以下|多)?")
_CMP_OF = [(">=", _GE), ("<=", _LE), (">", _GT), ("<", _LT), ("=", _EQ)]
_POST_OF = {"+": ">=", "or more": ">=", "or above": ">=", "or higher": ">=", "以上": ">=",
            "及以上": ">=", "多": ">", "or less": "<=", "or fewer": "<=", "or below": "<=",
            "以下": "<=", "及以下": "<="}
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365, "天": 1, "日": 1, "周": 7, "星": 7, "个": 30,
         "月": 30, "年": 365}
_RANGE = (r"(?:between|from|在|介于)?\s*(?P<lo>\d+(?:\.\d+)?)\s*(?:~|到|至|-)\s*"
          r"(?P<hi>\d+(?:\.\d+)?)\s*(?P<rpct>%)?(?:之间)?")
_AMOUNT = (rf"(?:{_RANGE}|{_CMP}?\s*(?:£|\$|€|¥|￥|gbp|eur|usd)?\s*{_NUM}\s*(?:元|"
           rf"英镑|镑|块|pounds?|euros?|dollars?)?\s*{_POST})")
_SEP = re.compile(r"\s+(?:and|&|who|with|that|but|whose|while|plus)\s+|\s*(?:[,;，；、]|"
                  r"并且|而且|同时|但是|但|且|和|及|并|with)\s*"
                  r"|(?P<or>\s+or\s+|\s*(?:或者|或是|或|还是|/)\s*)")
_NEG = re.compile(r"\b(?:not|excluding|exclude|except|outside(?: of)?|other than|non|aren'?t|"
                  r"isn'?t|no)\b|不是|不在|不属于|非|除了|除|排除|不包括|以外|之外")


@dataclass
class _Atom:
    column: str
    op: str
    value: Any
    start: int
    negated: bool = False

    def text(self) -> str:
        if self.op == "in":
            inner = ", ".join(_lit(v) for v in self.value)
            body = f"{self.column} in ({inner})"
        elif self.op == "between":
            body = f"{self.column} between {_lit(self.value[0])} and {_lit(self.value[1])}"
        else:
            body = f"{self.column} {self.op} {_lit(self.value)}"
        return f"not {body}" if self.negated else body


def _lit(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    number = float(value)
    return str(int(number)) if number == int(number) else repr(round(number, 6))


def _cmp(m: re.Match[str], default: str) -> str:
    post = m.groupdict().get("post")
    if post:
        return _POST_OF[post]
    word = m.groupdict().get("cmp")
    if word:
        for op, alternatives in _CMP_OF:
            if re.fullmatch(alternatives, word):
                return op
    return default


def _days(m: re.Match[str]) -> float:
    unit = (m.groupdict().get("unit") or "d").strip()
    return float(m.group("num")) * _DAYS.get(unit[0], 1)


# (column, pattern, kind, default op): kind says how the match becomes a value.
_RECENCY = "recency_days"
_TENURE = "tenure_days"
_BOUGHT = (r"(?:bought|ordered|purchased|shopped|purchases?|orders?|buying|"
           r"ordering|activity|been active|买过?|购买|下单|消费|购物|交易|复购|订单)")
_PATTERNS: list[tuple[str, str, str, str]] = [
    # tenure first: "joined in the last 90 days" is not recency
    (_TENURE, rf"(?:joined|signed up|became (?:a )?customers?|first (?:order|purchase)(?: was)?|"
        rf"acquired)\s+(?:{_CMP}\s*)?{_NUM}{_UNIT}\s+ago", "days", ">"),
    (_TENURE, rf"(?:joined|signed up|acquired|new customers?)(?: us)?\s+(?:in|"
        rf"within|during) the (?:last|past)\s+{_NUM}{_UNIT}", "days", "<="),
    (_TENURE, rf"(?:customers?|clients?|members?|with us|shopping with us|been with us|"
        rf"tenure)\s+(?:of|for|is)?\s*(?:{_CMP}\s*)?{_NUM}{_UNIT}{_POST}", "days", ">="),
    (_TENURE, rf"(?:最近|近|过去)\s*{_NUM}{_UNIT}(?:内|里|之内|以内)?(?:新)?(?:注册|加入|首次购买|"
        rf"首单|获得)的?(?:新)?(?:客户|用户)?", "days", "<="),
    (_TENURE, rf"(?:成为客户|注册|客龄|入会|加入|首次购买|"
        rf"首单|第1次购买|老客户)(?:时间|已经|已|"
        rf"至今)*\s*(?:{_CMP}\s*)?{_NUM}{_UNIT}{_POST}", "days", ">="),
    # inactivity: recency above
    (_RECENCY, rf"(?:haven'?t|have not|hasn'?t|has not|didn'?t|did not|not|no|without(?: any)?|"
        rf"inactive|lapsed)\s*(?:\w+\s+){{0,2}}?{_BOUGHT}?\s*(?:anything\s+)?(?:in|"
        rf"for|during|within|over|since)?\s*(?:the\s+)"
        rf"?(?:last|past)?\s*(?:{_CMP}\s*)?{_NUM}{_UNIT}{_POST}", "days", ">"),
    (_RECENCY, rf"last (?:order|purchase|bought|visit)"
        rf"(?: was| placed)?\s*(?:{_CMP}\s*)?{_NUM}{_UNIT}\s*(?:ago)"
        rf"?", "days", ">"),
    (_RECENCY, rf"(?:{_CMP}\s*)?{_NUM}{_UNIT}\s+since (?:their|the|a) last (?:order|"
        rf"purchase)", "days", ">"),
    (_RECENCY, rf"(?:{_CMP}\s*)?{_NUM}{_UNIT}{_POST}(?:内|里|以来|了)?\s*(?:都)?(?:没有|"
        rf"没|未|无)(?:有)?(?:再)?{_BOUGHT}", "days", ">"),
    (_RECENCY, rf"(?:没有|没|未)(?:在)?(?:最近|过去|近)"
        rf"\s*{_NUM}{_UNIT}(?:内|里)?{_BOUGHT}", "days", ">"),
    (_RECENCY, rf"最后(?:1次)?{_BOUGHT}(?:在|是|于)?\s*(?:{_CMP}\s*)"
        rf"?{_NUM}{_UNIT}{_POST}(?:以)?前", "days", ">"),
    # activity: recency within
    (_RECENCY, rf"(?:in|within|during|over) the (?:last|past)\s+{_NUM}{_UNIT}", "days", "<="),
    (_RECENCY, rf"last (?:order|purchase)\s+(?:{_CMP}\s*){_NUM}{_UNIT}\s*(?:ago)?", "days", "<"),
    (_RECENCY, rf"(?:最近|过去|近)\s*{_NUM}{_UNIT}(?:内|里|之内)?", "days", "<="),
    (_RECENCY, rf"{_NUM}{_UNIT}(?:内|之内|以内)", "days", "<="),
    # value measures (order value before spend, spend before orders)
    ("clv_p_alive", r"(?:probability|chance|likelihood) (?:of )?(?:being )?(?:alive|"
        r"active)|p[_ ]?\(?alive\)?|存活概率|活跃概率|仍活跃的概率", "measure", ">"),
    ("clv", r"predicted (?:customer )?(?:lifetime )?value|customer lifetime value|"
        r"lifetime value|clv|客户终身价值|终身价值|生命周期价值|预测价值", "measure", ">"),
    ("churn_score", r"churn (?:score|risk|probability)|流失(?:风险|"
        r"概率)(?:分数|评分)?", "measure", ">"),
    ("avg_order_value", r"average order(?: value)?|aov|average basket(?: value)?|basket size|"
        r"(?:average )?spend per order|order value|客单价|平均订单(?:金额|价值)?|平均每单(?:金额|"
        r"消费)?|每单平均(?:金额|消费)?|单均", "measure", ">"),
    ("return_rate", r"returns? rate|refund rate|退货率|退款率", "rate", ">"),
    ("n_orders", rf"(?:{_CMP}\s*)?{_NUM}\s*(?P<plus>\+)?\s*(?:separate |different )?(?:orders|"
        rf"purchases|times|transactions|order|purchase|"
        rf"次|笔订单|笔|单|个订单){_POST}", "count", "="),
    ("n_orders", r"(?:number of orders|order count|orders|purchase count|购买次数|下单次数|"
        r"订单数量?|订单量|消费次数)", "measure", ">"),
    ("monetary", r"spent|spend(?:ing|s)?|total (?:spend|revenue|sales)|lifetime spend|"
        r"revenue|paid|消费(?:金额|额|总额)?|花费|"
        r"花了|累计消费|总消费|总金额|购买金额", "measure", ">"),
]
_FLAGS: list[tuple[str, str, str, Any]] = [
    ("n_returns", r"(?:no returns|never returned|did not return|didn'?t return|without returns|"
        r"没有退货|没退过货|从未退货|从没退货|零退货|无退货)", "=", 0),
    ("n_returns", r"(?:returned (?:something|items?|goods|products?|an item|at least 1 times)|"
        r"with returns|made (?:a )?returns?|have returns|has returns|退过货|"
        r"有退货|有过退货|退货过)", ">", 0),
    ("n_orders", r"(?:one-time|1-time|single[- ]purchase|single[- ]order)\s*(?:buyers?|"
        r"customers?|shoppers?)?|(?:bought|ordered|purchased)\s+(?:only\s+)?1 times|"
        r"只(?:买|购买|下单|消费)过?1次|仅(?:购买|下单)过?1次|只有1(?:笔|个)?订单", "=", 1),
    ("n_orders", r"repeat (?:customers|buyers|purchasers|shoppers)|came back|复购客户|"
        r"回头客|重复购买|复购", ">=", 2),
    ("churn_score", r"low churn risk|unlikely to churn|流失风险低|不太可能流失|低流失", "<", 0.5),
    ("churn_score", r"at[- ]risk(?: of churn(?:ing)?)?|high churn risk|likely to churn|"
        r"risk of churn(?:ing)?|churners?|about to churn|might churn|流失风险|"
        r"可能流失|有流失|即将流失|易流失|高流失|流失概率高", ">=", 0.5),
]
_LEAD = re.compile(r"\s*(?:(?:of|is|was|were|has been|have been|total|in total|a|an|their|"
                   r"per customer|总额|总计|累计|金额|在|是|达到|达|有)\s*)*" + _AMOUNT)
_TRAIL = re.compile(_AMOUNT + r"\s*(?:in\s+)?(?:total\s+)?(?:of\s+)?(?:的)?\s*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_OP_WORDS = {">": ("more than", "大于"), ">=": ("at least", "不少于"), "<": ("less than", "小于"),
             "<=": ("at most", "不超过"), "=": ("equal to", "等于"), "in": ("one of", "属于"),
             "between": ("between", "介于")}


def _amount(m: re.Match[str], column: str, default: str) -> tuple[str, Any] | None:
    groups = m.groupdict()
    rate = column in ("return_rate", "churn_score", "clv_p_alive")
    if groups.get("lo") is not None:
        lo, hi = float(groups["lo"]), float(groups["hi"])
        if rate and (groups.get("rpct") or hi > 1):
            lo, hi = lo / 100, hi / 100
        return "between", (min(lo, hi), max(lo, hi))
    if groups.get("num") is None:
        return None
    value = float(groups["num"])
    if rate and (groups.get("pct") or value > 1):
        value /= 100
    return _cmp(m, default), value


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _names(mapping: dict[str, str]) -> re.Pattern[str]:
    words = sorted(mapping, key=len, reverse=True)
    return re.compile("|".join(
        rf"(?<![a-z]){re.escape(w)}(?![a-z])" if w.isascii() else re.escape(w) for w in words))


def _clause_atoms(clause: str, cat: Catalogue) -> tuple[list[_Atom], str]:
    """The concepts found in one clause, and the clause with their words blanked out."""
    atoms: list[_Atom] = []
    cols = cat.columns
    for column, pattern, kind, default in _PATTERNS:
        if column not in cols:
            continue
        for m in list(re.finditer(pattern, clause)):
            if clause[m.start():m.end()].strip() == "":
                continue
            if kind == "days":
                atoms.append(_Atom(column, _cmp(m, default), _days(m), m.start()))
                clause = _blank(clause, m.start(), m.end())
            elif kind == "count":
                op = ">=" if m.groupdict().get("plus") else _cmp(m, default)
                atoms.append(_Atom(column, op, float(m.group("num")), m.start()))
                clause = _blank(clause, m.start(), m.end())
            else:
                after = _LEAD.match(clause, m.end())
                before = _TRAIL.search(clause[:m.start()])
                hit, span = (after, (m.start(), after.end())) if after else \
                    (before, (before.start(), m.end())) if before else (None, (0, 0))
                found = _amount(hit, column, default) if hit else None
                if found:
                    atoms.append(_Atom(column, found[0], found[1], span[0]))
                    clause = _blank(clause, *span)
    for column, pattern, op, value in _FLAGS:
        if column in cols:
            for m in re.finditer(pattern, clause):
                atoms.append(_Atom(column, op, value, m.start()))
                clause = _blank(clause, m.start(), m.end())
    for column, mapping in (("value_tier", TIER_WORDS), ("rfm_segment", _segments(cat)),
                            ("country", _countries(cat))):
        if column not in cols or not mapping:
            continue
        for m in _names(mapping).finditer(clause):
            target = mapping[m.group(0)]
            if target == "*abroad*":
                atoms.append(_Atom(column, "=", _known(cat, column, HOME_COUNTRY), m.start(), True))
            else:
                atoms.append(_Atom(column, "=", _known(cat, column, target), m.start()))
            clause = _blank(clause, m.start(), m.end())
    return atoms, clause



def _known(cat: Catalogue, column: str, value: str) -> str:
    """``value`` as the catalogue spells it (case-insensitive), else as given."""
    for known in cat.values.get(column, ()):
        if known.lower() == value.lower():
            return known
    return value


def _segments(cat: Catalogue) -> dict[str, str]:
    known = {v.lower(): v for v in cat.values.get("rfm_segment", ())}
    found = {k: v for k, v in SEGMENT_ALIASES.items() if v in known or not known}
    found.update({k: k for k in known if k != "at risk"})
    return found


def _countries(cat: Catalogue) -> dict[str, str]:
    found = {v.lower(): v for v in COUNTRY_ALIASES.values() if not v.startswith("*")}
    found.update(COUNTRY_ALIASES)
    found.update({v.lower(): v for v in cat.values.get("country", ())})
    return found


def _merge(terms: list[tuple[bool, _Atom]]) -> list[tuple[bool, _Atom]]:
    """Equalities on one column in a row become one ``in`` (nobody is in two countries)."""
    out: list[tuple[bool, _Atom]] = []
    for is_or, atom in terms:
        if out and atom.op in ("=", "in") and out[-1][1].op in ("=", "in") \
                and out[-1][1].column == atom.column and not atom.negated \
                and isinstance(atom.value, str | tuple):
            prev = out[-1][1]
            values = prev.value if prev.op == "in" else (prev.value,)
            if atom.value not in values:
                prev.value, prev.op = (*values, atom.value), "in"
            continue
        out.append((is_or, atom))
    return out


def parse_request(text: str, catalogue: Catalogue) -> tuple[str, str]:
    """``(where, explanation)`` for a plain-language request; ``("", reason)`` when no
    condition in it is recognised."""
    norm = normalise_numbers(text.lower().replace("’", "'"))
    norm = re.sub(r"between\s+([£$€¥]?\d[\d.]*%?)\s+and\s+([£$€¥]?\d)", r"\1~\2", norm)
    norm = re.sub(r"between\s+|介于", "", norm)
    terms: list[tuple[bool, _Atom]] = []
    pos, is_or = 0, False
    for sep in [*_SEP.finditer(norm), None]:
        end = sep.start() if sep else len(norm)
        atoms, rest = _clause_atoms(norm[pos:end], catalogue)
        neg = _NEG.search(rest)
        if neg and atoms:
            target = next((a for a in atoms if a.start >= neg.start()), atoms[-1])
            target.negated = not target.negated
        for i, atom in enumerate(sorted(atoms, key=lambda a: a.start)):
            terms.append((is_or and i == 0, atom))
        if atoms or sep is None or sep.group("or"):
            is_or = bool(sep and sep.group("or"))
        pos = sep.end() if sep else end
    terms = _merge(terms)
    if not terms:
        return "", "no audience condition recognised (country, recency, spend, orders, order " \
                   "value, return rate, tenure, churn risk, value tier, segment)"
    groups: list[list[_Atom]] = []
    for is_or_term, atom in terms:
        if is_or_term and groups:
            groups[-1].append(atom)
        else:
            groups.append([atom])
    where = " and ".join(
        f"({' or '.join(a.text() for a in g)})" if len(g) > 1 else g[0].text() for g in groups)
    zh = bool(_CJK.search(text))
    parts = [_explain(a, zh) for g in groups for a in g]
    return where, ("；" if zh else "; ").join(parts)


def _explain(atom: _Atom, zh: bool) -> str:
    label = LABELS.get(atom.column, (atom.column, atom.column))[int(zh)]
    op = _OP_WORDS[atom.op][int(zh)]
    value = ", ".join(map(str, atom.value)) if atom.op == "in" else \
        " - ".join(_lit(v) for v in atom.value) if atom.op == "between" else _lit(atom.value)
    body = f"{label} {op} {value}"
    return (("不满足：" if zh else "not: ") + body) if atom.negated else body


#: The columns assumed when a request comes without a catalogue (e.g. through the server):
#: those of ``customer_360`` the rules know, values matched as written.
DEFAULT_CATALOGUE = Catalogue({c: "VARCHAR" if c in ("value_tier", "rfm_segment", "country")
                               else "DOUBLE" for c in LABELS})


class RuleProvider:
    """The deterministic fallback: no model, patterns only (see the module docstring)."""

    name = "rule"

    def complete(self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None,
                 grammar: Catalogue | None = None, max_tokens: int = 256,
                 timeout: float = 30.0) -> Completion:
        started = time.perf_counter()
        where, explanation = parse_request(last_user(messages), grammar or DEFAULT_CATALOGUE)
        text = json.dumps({"where": where, "explanation": explanation}, ensure_ascii=False)
        return Completion(text=text, parsed={"where": where, "explanation": explanation},
                          latency_s=time.perf_counter() - started, provider=self.name)
