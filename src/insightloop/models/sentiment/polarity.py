"""Clause polarity from bilingual opinion lexicons, reading negation and intensity.

:func:`lexicon_scores` gives each clause a signed score: the sum of its opinion words
and phrases (strong +-1, weak +-0.5), where

* a **negator** (not, no, never, n't, without, lacks, ...; 不/没/没有/无/别/未/非/缺乏)
  flips an opinion word in its scope (the next few words, or five Chinese characters,
  up to punctuation): a negated positive counts ``-NEGATED_POSITIVE`` times its weight
  ("not good", "不太满意"), a negated negative ``+NEGATED_NEGATIVE`` times ("not bad",
  "没有问题", "不贵"); a negator with no opinion word in its scope counts
  ``BARE_NEGATOR`` ("never answered my emails", "物流一直不更新");
* an **intensifier** just before a word (very, so, 很, 非常, 太, ...) adds half its
  weight, a **downtoner** (a bit, slightly, 有点, 稍微) takes half off;
* fixed expressions are read whole before any of that: "不错" is positive (its 不 is
  no negator), "can't beat the price" positive, "never arrived", "arrived broken",
  "等了一周", "坏了" negative (the delivery and damage phrases), "快递"/"无线"/"不少"
  are not opinions (protected from the single-character rules).

Everything is a regular-expression pass over the whole column of clauses (pandas
string methods, run in C per element): opinion phrases and words are first replaced by
one private-use marker character per class, then markers and negators are counted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

KEEP, POS, POS_WEAK, NEG, NEG_WEAK = "\ue000", "\ue001", "\ue002", "\ue003", "\ue004"
LUKEWARM = "\ue009"
INTENSE, DOWN, NOT_EN, NOT_ZH = "\ue005", "\ue006", "\ue007", "\ue008"
WEIGHTS = {POS: 1.0, POS_WEAK: 0.5, NEG: -1.0, NEG_WEAK: -0.5, LUKEWARM: 0.0}

NEGATED_POSITIVE = 0.8
"""A negated positive word ("not good") counts this much of its weight, negatively."""
NEGATED_NEGATIVE = 0.6
"""A negated negative word ("not bad") counts this much of its weight, positively."""
BARE_NEGATOR = -0.5
"""A negator with no opinion word in its scope ("never answered", "一直不更新")."""

# Fixed expressions (read first, longest first). Entries are regular expressions on the
# lower-cased clause (most are plain text); English ones match whole words only.
PHRASES: dict[str, tuple[str, ...]] = {
    KEEP: ("还没用", "还没有用", "还未用", "还没使用", "还没有使用", "还没试", "未使用", "待追评",
           "是不是", "是否", "有没有", "好不好", "会不会", "能不能", "行不行",
           "not yet used", r"(?:have|has)(?:n't| not) (?:used|tried)",
           "快递", "无线", "不同", "不少", "不仅", "不但", "不管", "无论", "不知道", "不得不",
           "没想到", "不用说", "非得", "不一样", "别人", "别的", "无印", "不久", "差不多", "出差",
           "差点", "好像", "好几", "只好", "尽快", "价值", "香港", "超市", "最后", "最近",
           "区别", "差别", "分别", "级别", "类别", "信用卡", "内存卡", "拖鞋", "晚上", "假期",
           "not only",
           "no doubt", "no matter", "not sure", "whether or not"),
    POS: ("不错", "没得说", "无可挑剔", "没话说", "物美价廉", "物超所值", "性价比高", "问题不大",
          "完好无损", "没有任何问题", "没什么问题", "没问题", "无损", "赞一个", "好评", "五星",
          "第二天就到", "隔天就到", "当天就到", "很快就到", "神速", "不用担心", "正好", "刚好",
          "很值", "超值",
          r"can'?t beat", r"couldn'?t be happier", r"can'?t go wrong", r"can'?t complain",
          r"no complaints?", r"no problems?", r"no issues?", r"nothing wrong",
          r"works? (?:great|well|perfectly|fine|like a charm)", r"worked (?:great|well)",
          r"well made", r"well-made", r"well built", r"well packed", r"well packaged",
          r"on time", r"ahead of schedule", r"arrived (?:early|quickly|promptly|fast|on time)",
          r"easy to (?:use|clean|read|install|assemble|follow)", r"worth (?:every|the)",
          r"highly recommend(?:ed)?", r"five stars?", r"5 stars?", r"value for (?:the )?money",
          r"a steal", r"fits? (?:perfectly|well|great|true to size)", r"true to size",
          r"page[- ]turner", r"must read", r"love (?:it|this|them)", "一级", "一级棒",
          r"(?:low|fair|reasonable|good|great) prices?",
          r"(?:price|prices|cost) (?:is|was|are|were) "
          r"(?:very |so |quite |pretty |more than )?(?:low|fair|reasonable|right)"),
    NEG: ("不解决问题", "没解决", "解决不了", "没(?:有)?人(?:搭理|理|管|回复|处理)", "不理人",
          "不回复",
          "没有回复", "不给退", "不给换", "便宜没好货", r"no (?:response|reply|answer)",
          r"never (?:responded|replied|answered|got back|called back)",
          r"(?:did ?n't|did not|could ?n't|could not) (?:solve|fix|help|resolve)",
          "不怎么样", "不值", "等了(?:好几|[一二三四五六七八九十两几半多]+|\\d+)[天周月]",
          "太慢", "很慢", "好慢", "超慢", "慢死", "坏了", "坏的", "摔坏", "压坏", "碎了", "破了",
          "破损", "裂了", "漏了", "漏水", "少发", "发错", "错发", "丢件", "掉色", "起球", "开线",
          "退货", "差评", "上当", "受骗", "后悔", "失望", "垃圾", "假货", "次品", "二手", "投诉",
          "态度差", "态度恶劣", "没收到", "还没到", "迟迟", "延误", "太贵", "偏贵", "贵了",
          "太小", "太大", "偏小", "偏大", "卡顿", "很卡", "太卡", "卡死", "死机", "发烫", "异味",
          "缺陷",
          "难闻", "无聊", "无奈", "不能用", "用不了", "拖了", "拖拖拉拉",
          r"never (?:arrived|came|received|got)", r"(?:did ?n'?t|did not|has ?n'?t|has not|"
          r"have ?n'?t|have not|never) (?:arrive|arrived|come|received|receive|get)",
          r"still (?:waiting|hasn'?t)", r"took (?:forever|ages|weeks|months|over a month|"
          r"a month|\w+ weeks)", r"(?:arrived|came|showed up|delivered) (?:late|broken|damaged|"
          r"cracked|crushed|dented|torn|scratched|defective|dead|shattered|smashed|open)",
          r"dead on arrival", r"\bdoa\b", r"lost in the mail", r"stopped working",
          r"quit working", r"fell apart", r"falls apart", r"broke (?:down|off|apart)",
          r"cheaply made", r"cheap plastic", r"(?:looks|feels|felt|looked) cheap",
          r"waste of (?:money|time)", r"hard to (?:use|clean|read|install|assemble|follow)",
          r"difficult to (?:use|clean|read|install|assemble|follow)", r"too (?:small|big|"
          r"large|tight|loose|short|long|expensive|slow|heavy|thin|flimsy)", r"rip[- ]off",
          r"not worth", r"return(?:ed)? (?:it|them|this)", r"sent (?:it )?back",
          r"nothing special", r"one star", r"1 star", r"poorly (?:made|written|packed|"
          r"packaged|designed)", r"do not buy", r"don'?t buy", r"don'?t waste",
          r"(?:high|steep) prices?",
          r"(?:price|prices|cost) (?:is|was|are|were) (?:a bit |too |very |"
          r"quite |rather |so |way )?(?:high|steep)", "性价比(?:很|太|比较|极|有点)?低",
          "性价比不(?:是很|太|怎么)?高",
          "需要(?:改进|提高|培训|加强)", "不如"),
    LUKEWARM: (r"so-so", "一般般", "马马虎虎", "凑合", "中规中矩", "还可以", "还行", "还好", "一般",
               "ok", "okay", "average", r"not bad,? not (?:great|good)"),
}
WORDS: dict[str, tuple[str, ...]] = {
    POS: ("好", "满意", "喜欢", "快", "及时", "准时", "迅速", "便宜", "实惠", "划算", "超值",
          "值得",
          "精致", "漂亮", "好看", "舒服", "舒适", "结实", "耐用", "正品", "完好", "好用", "方便",
          "流畅", "清晰", "给力", "赞", "棒", "推荐", "热情", "周到", "耐心", "新鲜", "好吃", "香",
          "干净", "完美", "优秀", "一流", "合适", "合身", "精美", "惊喜", "严实", "满分", "喜爱",
          "好喝", "可口", "细腻", "柔软", "贴心", "负责", "专业", "靠谱", "放心", "省心",
          "回购", "再来", "再买", "大气", "稳定", "灵敏", "清楚", "耐看", "舒心", "开心", "感谢",
          "good", "great", "excellent", "perfect", "perfectly", "love", "loved", "loves",
          "nice", "awesome", "amazing", "fantastic", "wonderful", "best", "happy", "pleased",
          "satisfied", "recommend", "sturdy", "durable", "solid", "fast", "quick", "quickly",
          "promptly", "prompt", "early", "reasonable", "affordable", "bargain", "comfortable",
          "convenient", "helpful", "friendly", "responsive", "fresh", "delicious", "tasty",
          "beautiful", "gorgeous", "lovely", "enjoyable", "enjoyed", "engaging", "brilliant",
          "superb", "outstanding", "impressive", "impressed", "reliable", "accurate", "glad",
          "favorite", "favourite", "excellently", "terrific", "fabulous", "incredible",
          "worth", "worthwhile", "compelling", "gripping", "fascinating", "interesting",
          "beautifully", "sharp", "crisp", "smooth", "quiet", "efficient", "effective",
          "intact", "secure", "securely", "exceeded", "exceeds", "flawless", "flawlessly",
          "classic", "masterpiece", "funny", "inexpensive", "cheaper", "fits", "fit",
          "recommended", "works", "worked", "liked", "fun", "touching"),
    POS_WEAK: ("fine", "decent", "adequate", "work", "cheap",
               "working"),
    NEG: ("差", "烂", "坏", "破", "慢", "贵", "脏", "旧", "难用", "难吃", "难看", "粗糙",
          "郁闷", "生气", "恶心", "坑", "骗", "敷衍", "糟糕", "问题", "毛病", "瑕疵", "划痕",
          "漏", "臭", "差劲", "不满", "无语", "悲剧", "坑爹", "太差", "劣质",
          "bad", "poor", "poorly", "terrible", "awful", "horrible", "worst", "disappointed",
          "disappointing", "disappointment", "broken", "broke", "breaks", "break", "cracked",
          "damaged", "defective", "faulty", "flimsy", "useless", "waste", "junk", "garbage",
          "crap", "late", "slow", "slowly", "delayed", "missing", "wrong", "problem",
          "problems", "issue", "issues", "leak", "leaks", "leaked", "leaking", "rust",
          "rusted", "rusty", "torn", "ripped", "scratched", "dented", "crushed", "smashed",
          "shattered", "overpriced", "expensive", "pricey", "boring", "dull", "annoying",
          "noisy", "uncomfortable", "rude", "unhelpful", "hate", "hated", "lousy", "sucks",
          "sucked", "fail", "failed", "fails", "failure", "died", "dead", "tasteless",
          "stale", "bland", "wobbly", "unreliable", "return",
          "mess", "messy", "cheesy", "stupid", "ridiculous",
          "pathetic", "unfortunately", "sadly", "mediocre", "weak", "flawed", "defect",
          "defects", "complaint", "complain", "regret", "avoid", "unusable", "tedious",
          "predictable", "confusing", "horrid", "worse", "dreadful", "fake", "misleading",
          "melted", "burnt", "burned", "peeling", "chipped", "frayed", "dies",
          "unacceptable", "nightmare", "frustrating", "frustrated", "upset", "angry"),
    NEG_WEAK: ("偏",),
    INTENSE: ("非常", "特别", "超级", "十分", "相当", "极其", "真的", "很", "超", "太", "真", "最",
              "极", "挺", "very", "really", "extremely", "so", "super", "highly", "absolutely",
              "incredibly", "totally", "completely", "truly", "quite", "too", "most"),
    DOWN: ("有点", "有些", "稍微", "稍", "略", "a bit", "a little", "slightly", "somewhat",
           "kind of", "kinda", "fairly", "pretty"),
}
NEGATORS_EN = (r"\b(?:not|no|never|nothing|none|hardly|barely|without|cannot|neither|nor|"
               r"wasn'?t|isn'?t|aren'?t|weren'?t|don'?t|doesn'?t|didn'?t|won'?t|can'?t|"
               r"couldn'?t|wouldn'?t|shouldn'?t|haven'?t|hasn'?t|lacks?|lacking|lacked)\b")
NEGATORS_ZH = r"没有|不是|缺乏|缺少|没|不|无|别|未|非"
_GAP_EN = r"(?:[ \w'\-\ue005\ue006]{0,30}?)"  # up to a few words (no opinion, no punctuation)
_GAP_ZH = r"[^\ue001-\ue004\ue007\ue008，。！？、,.!?;；:： ]{0,5}?"
_POLAR = (POS, POS_WEAK, NEG, NEG_WEAK, LUKEWARM)
_CJK_CHAR = r"[\u3400-\u9fff\uf900-\ufaff]"


def _latin(entries: Sequence[str]) -> re.Pattern[str] | None:
    """English entries of a lexicon class as one regex on whole words, longest first."""
    latin = sorted((e for e in entries if e.isascii()), key=len, reverse=True)
    return re.compile(r"(?<![\w'-])(?:" + "|".join(latin) + r")(?![\w'-])") if latin else None


def _cjk(entries: Sequence[str]) -> re.Pattern[str] | None:
    """Chinese entries as one regex: longest first, single characters as one class, last."""
    cjk = sorted((e for e in entries if not e.isascii() and len(e) > 1), key=len, reverse=True)
    chars = "".join(e for e in entries if not e.isascii() and len(e) == 1)
    parts = (["(?:" + "|".join(cjk) + ")"] if cjk else []) + ([f"[{chars}]"] if chars else [])
    return re.compile("|".join(parts)) if parts else None


def _count(s: pd.Series, pattern: str, rows: np.ndarray) -> np.ndarray:
    """Matches of ``pattern`` per text, counted only on ``rows`` (zero elsewhere)."""
    out = np.zeros(len(s))
    if rows.any():
        out[rows] = s[rows].str.count(pattern).to_numpy(dtype=float)
    return out


# (English regex, Chinese regex, marker) in the order they run.
_PASSES: list[tuple[re.Pattern[str] | None, re.Pattern[str] | None, str]] = [
    *((_latin(v), _cjk(v), k) for k, v in PHRASES.items()),
    *((_latin(v), _cjk(v), k) for k, v in WORDS.items()),
    (re.compile(NEGATORS_EN), None, NOT_EN), (None, re.compile(NEGATORS_ZH), NOT_ZH),
]


def mark(clauses: Sequence[str] | pd.Series) -> pd.Series:
    """Clauses with opinion phrases, words and negators replaced by marker characters.

    >>> mark(["不太满意", "not bad at all"]).str.len().tolist()
    [3, 10]
    """
    s = pd.Series(list(clauses), dtype=object).fillna("").astype(str).str.lower()
    s = s.str.replace("’", "'", regex=False)
    latin = s.str.contains("[a-z]", regex=True).to_numpy()
    cjk = s.str.contains(_CJK_CHAR, regex=True).to_numpy()
    for rows, pattern, marker in ((latin, p, m) for p, _, m in _PASSES if p is not None):
        if rows.any():  # each script's regexes run only on the clauses holding that script
            s[rows] = s[rows].str.replace(pattern, marker, regex=True)
    for rows, pattern, marker in ((cjk, p, m) for _, p, m in _PASSES if p is not None):
        if rows.any():
            s[rows] = s[rows].str.replace(pattern, marker, regex=True)
    return s


def lexicon_scores(clauses: Sequence[str] | pd.Series
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed lexicon score per clause, whether any opinion word (or negator) was found, and
    whether the only opinion is lukewarm (一般, 还可以, okay, average: the clause is neutral).

    >>> score, found, lukewarm = lexicon_scores(["not bad", "没有问题", "不太好", "Delivery was "
    ...                                          "late", "the price is $20", "质量一般"])
    >>> [round(float(v), 2) for v in score]
    [0.6, 0.6, -0.8, -1.0, 0.0, 0.0]
    >>> found.tolist()
    [True, True, True, True, False, True]
    >>> lukewarm.tolist()
    [False, False, False, False, False, True]
    """
    s = mark(clauses)
    score = np.zeros(len(s))
    not_en = s.str.count(NOT_EN).to_numpy(dtype=float)
    not_zh = s.str.count(NOT_ZH).to_numpy(dtype=float)
    bare = not_en + not_zh
    found = bare > 0
    has_strong = s.str.contains(INTENSE, regex=False).to_numpy()
    has_soft = s.str.contains(DOWN, regex=False).to_numpy()
    for m in _POLAR:
        w = WEIGHTS[m]
        total = s.str.count(m).to_numpy(dtype=float)
        if not total.any():
            continue
        here = total > 0
        negated = (_count(s, f"{NOT_EN}{_GAP_EN}{m}", here & (not_en > 0))
                   + _count(s, f"{NOT_ZH}{_GAP_ZH}{m}", here & (not_zh > 0)))
        negated = np.minimum(negated, total)
        strong = _count(s, f"{INTENSE} ?{m}", here & has_strong)
        soft = _count(s, f"{DOWN} ?{m}", here & has_soft)
        flip = -NEGATED_POSITIVE if w > 0 else -NEGATED_NEGATIVE
        plain = total - negated
        score += w * (plain + 0.5 * np.minimum(strong, plain) - 0.5 * np.minimum(soft, plain))
        score += flip * w * negated
        bare -= negated
        found |= total > 0
    score += BARE_NEGATOR * np.maximum(bare, 0.0)
    warm = s.str.count(LUKEWARM).to_numpy() > 0
    opinion = s.str.contains(f"[{POS}{POS_WEAK}{NEG}{NEG_WEAK}]", regex=True).to_numpy()
    return score, found, warm & ~opinion & (bare <= 0)
