"""Chinese name detection measured on a small labelled set (tests/fixtures/
zh_names_labelled.jsonl, written for this check: 40 review-like sentences, 16 names) and on
the bundled Chinese reviews: common words jieba's dictionary tags ``nr`` (顾客, 谢谢, 毛巾)
are no longer names, real ones (@王小山, 张伟说) still are."""

from __future__ import annotations

import gzip
import json
from importlib.resources import files
from pathlib import Path

import pandas as pd

from insightloop.services.privacy.detect import chinese_names

LABELLED = Path(__file__).parents[1] / "fixtures" / "zh_names_labelled.jsonl"


def test_precision_and_recall_on_the_labelled_set() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    tp = fp = fn = 0
    for row in rows:
        got, gold = set(chinese_names(row["text"])), set(row["names"])
        tp, fp, fn = tp + len(got & gold), fp + len(got - gold), fn + len(gold - got)
    assert tp + fn == 16 and len(rows) == 40
    # measured: precision 15/17 = 0.882, recall 15/16 = 0.938 (the surname rule alone:
    # 16/25 = 0.64 and 16/16)
    assert tp / (tp + fp) >= 0.85 and tp / (tp + fn) >= 0.9


def test_bundled_chinese_reviews() -> None:
    with gzip.open(str(files("insightloop.data") / "reviews_sample.csv.gz"), "rt",
                   encoding="utf-8") as f:
        texts = pd.read_csv(f)["text"].astype(str)
    zh = texts[texts.str.contains(r"[\u4e00-\u9fff]")]
    found = sorted({n for t in zh for n in chinese_names(t)})
    assert len(zh) == 208 and found == ["王小山", "胡君"]
