"""Numbers written in words (English) or Chinese numerals, rewritten as digits.

>>> words_to_digits("more than five orders in the last twenty one days")
'more than 5 orders in the last 21 days'
>>> words_to_digits("spent over two thousand five hundred, a year ago")
'spent over 2500, 1 year ago'
>>> zh_to_digits("三个月没有购买，消费超过一千五百元，退货率百分之二十")
'3个月没有购买，消费超过1500元，退货率20%'
>>> zh_to_digits("半年内下单十二次")
'6个月内下单12次'
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["normalise_numbers", "words_to_digits", "zh_to_digits"]

_UNITS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
     "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
     "nineteen"])}
_TENS = {w: 10 * (i + 2) for i, w in enumerate(
    ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_WORD = "|".join([*_UNITS, *_TENS, *_SCALES])
_RUN = re.compile(rf"\b(?:{_WORD})(?:(?:\s+|-|\s+and\s+)(?:{_WORD}))*\b")
_Repl = str | Callable[[re.Match[str]], str]
_PHRASES: tuple[tuple[re.Pattern[str], _Repl], ...] = (
            (re.compile(r"\bhalf (?:a|one) year\b"), "6 months"),
            (re.compile(r"\ba couple of\b"), "2"), (re.compile(r"\ba dozen\b"), "12"),
            (re.compile(r"\b(?:a|an|one single|a single)\s+(?=(?:day|week|month|year|"
                        r"order|purchase)s?\b)"), "1 "),
            (re.compile(r"\bonce\b"), "1 times"), (re.compile(r"\btwice\b"), "2 times"),
            (re.compile(r"(\d+(?:\.\d+)?)\s*k\b"), lambda m: f"{float(m.group(1)) * 1000:g}"),
            (re.compile(r"(?<=\d),(?=\d{3}\b)"), ""))
_ZH_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
_ZH_SCALE = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
_ZH_RUN = re.compile("[零〇一二两三四五六七八九十百千万]+")


def _english(run: str) -> str:
    total, current = 0, 0
    for word in re.split(r"[\s-]+", run):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _SCALES[word]
            current = 0
    return str(total + current)


def words_to_digits(text: str) -> str:
    """English number words (and "a year", "twice", "1k", "1,000") as digits."""
    for pattern, repl in _PHRASES:
        text = pattern.sub(repl, text)
    return _RUN.sub(lambda m: _english(m.group(0)), text)


def _chinese(run: str) -> int:
    total, section, digit = 0, 0, 0
    for ch in run:
        if ch in _ZH_DIGIT:
            digit = digit * 10 + _ZH_DIGIT[ch] if digit and ch in "〇零" else _ZH_DIGIT[ch]
        elif ch == "万":
            total += (section + digit) * 10_000
            section, digit = 0, 0
        else:
            section += max(digit, 1) * _ZH_SCALE[ch]
            digit = 0
    return total + section + digit


def zh_to_digits(text: str) -> str:
    """Chinese numerals, 百分之N and 半年 as digits."""
    text = text.replace("半年", "6个月").replace("一年半", "18个月")
    text = re.sub("百分之", "%%", text)
    text = _ZH_RUN.sub(lambda m: str(_chinese(m.group(0))), text)
    return re.sub(r"%%\s*(\d+(?:\.\d+)?)", r"\1%", text)


def normalise_numbers(text: str) -> str:
    """Both: Chinese numerals, then English words."""
    return words_to_digits(zh_to_digits(text))
