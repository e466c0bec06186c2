"""Aspect sentiment: clauses, negation, contrast, and accuracy on the shipped labelled set."""

from __future__ import annotations

from pathlib import Path

import pytest

from insightloop.errors import InputFileError
from insightloop.models.sentiment.aspects import find_aspects, split_clauses
from insightloop.models.sentiment.polarity import lexicon_scores
from insightloop.services.sentiment.aspects import evaluate_aspects, read_aspect_labels
from insightloop.services.sentiment.model import load_sentiment_model

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TEST_HALF = FIXTURES / "aspects_test.csv"


def test_clauses_mark_contrast_and_concession() -> None:
    frame = split_clauses(["虽然价格有点贵，但是质量很好", "Although it was cheap, it broke. Fast "
                           "shipping, but the box was crushed", "价格便宜，质量却很差"])
    assert frame["clause"].tolist() == ["价格有点贵", "质量很好", "it was cheap", "it broke",
                                        "Fast shipping", "the box was crushed", "价格便宜",
                                        "质量却很差"]
    assert frame["concessive"].tolist() == [True, False, True, False, False, False, False, False]
    # after 但是 / "but"; the clause after a concessive one; a clause holding 却
    assert frame["contrast"].tolist() == [False, True, False, True, False, True, False, True]
    assert frame["sentence"].tolist() == [0, 0, 0, 0, 1, 1, 0, 0]


@pytest.mark.parametrize(("clause", "sign"), [
    ("not bad", 1), ("not good", -1), ("never arrived", -1), ("no problems at all", 1),
    ("it doesn't work", -1), ("can't beat the price", 1), ("not very comfortable", -1),
    ("Customer service never answered", -1), ("arrived broken", -1), ("on time", 1),
    ("不错", 1), ("不好", -1), ("没有问题", 1), ("不太好", -1), ("不贵", 1), ("不满意", -1),
    ("坏了", -1), ("物流很慢", -1), ("没什么问题", 1), ("物流一直不更新", -1), ("一般", 0),
])
def test_lexicon_reads_negation(clause: str, sign: int) -> None:
    score, found, _ = lexicon_scores([clause])
    assert found[0]
    assert int(score[0] > 0) - int(score[0] < 0) == sign, (clause, score[0])


def test_intensifiers_and_downtoners_scale() -> None:
    score, _, _ = lexicon_scores(["good", "very good", "a bit expensive", "expensive", "很贵",
                                  "有点贵"])
    assert score[1] > score[0] > 0
    assert score[3] < score[2] < 0 and score[4] < score[5] < 0


KNOWN = [
    ("Delivery was late and the mug arrived broken.", {"delivery": "negative",
                                                       "quality": "negative"}),
    ("Great price but the strap broke after a week.", {"price": "positive",
                                                       "quality": "negative"}),
    ("Not bad for the price.", {"price": "positive"}),
    ("The package never arrived.", {"delivery": "negative"}),
    ("The quality is not great, but the shipping was fast.", {"quality": "negative",
                                                              "delivery": "positive"}),
    ("Although the price is high, the quality is excellent.", {"price": "negative",
                                                               "quality": "positive"}),
    ("The story was never boring.", {"content": "positive"}),
    ("质量没有问题，就是价格有点贵。", {"quality": "positive", "price": "negative"}),
    ("虽然价格不便宜，但是质量真的很好。", {"price": "negative", "quality": "positive"}),
    ("物流太慢了，等了一个星期，包装也破损了。", {"delivery": "negative", "packaging": "negative"}),
    ("客服态度很好，可是发货太慢。", {"service": "positive", "delivery": "negative"}),
    ("价格便宜，质量却很差。", {"price": "positive", "quality": "negative"}),
    ("质量一般。", {"quality": "neutral"}),
    ("不太好用，操作很复杂。", {"usability": "negative"}),
]


@pytest.mark.parametrize(("text", "expected"), KNOWN)
def test_known_answers_negation_and_contrast(text: str, expected: dict[str, str]) -> None:
    model = load_sentiment_model(None)
    found = find_aspects([text], model.probabilities, band=model.band)
    got = dict(zip(found["aspect"], found["sentiment"], strict=True))
    assert {a: got.get(a) for a in expected} == expected


def test_model_alone_misses_negation() -> None:
    """Clauses scored by the sentence model alone (``rules=False``) read these wrong."""
    model = load_sentiment_model(None)
    texts = ["Not bad for the price.", "The story was never boring.",
             "质量没有问题，就是价格有点贵。"]
    wanted = [("price", "positive"), ("content", "positive"), ("quality", "positive")]
    for rules, right in ((False, False), (True, True)):
        found = find_aspects(texts, model.probabilities, band=model.band, rules=rules)
        keys = zip(found["doc"], found["aspect"], strict=True)
        got = dict(zip(keys, found["sentiment"], strict=True))
        assert all((got[(i, a)] == p) is right for i, (a, p) in enumerate(wanted)), got


def test_accuracy_on_the_test_half() -> None:
    """Measured 0.712 (en) / 0.827 (zh) with the rules, 0.485 / 0.694 with the model alone;
    the rules were tuned on aspects_dev.csv only."""
    rules = evaluate_aspects(None, TEST_HALF)
    alone = evaluate_aspects(None, TEST_HALF, rules=False)
    en, zh = rules["languages"]["en"], rules["languages"]["zh"]
    assert en["mentions"] >= 60 and zh["mentions"] >= 90
    assert en["accuracy"] >= 0.69 and zh["accuracy"] >= 0.80
    assert en["macro_f1"] >= 0.50 and zh["macro_f1"] >= 0.74
    for lang in ("en", "zh"):
        assert rules["languages"][lang]["accuracy"] > alone["languages"][lang]["accuracy"] + 0.1
    assert rules["mentions"] == en["mentions"] + zh["mentions"]
    assert rules["confusion"]["negative"]["negative"] >= 0.75 * sum(
        rules["confusion"]["negative"].values())


def test_labelled_set_is_large_enough_and_split_by_text() -> None:
    dev = read_aspect_labels(FIXTURES / "aspects_dev.csv")
    test = read_aspect_labels(TEST_HALF)
    both = [dev, test]
    for lang in ("en", "zh"):
        assert sum(int((f["lang"] == lang).sum()) for f in both) >= 100
    assert not set(dev["text"]) & set(test["text"])
    assert set(dev["polarity"]) == set(test["polarity"]) == {"positive", "negative", "neutral"}


@pytest.mark.parametrize(("rows", "message"), [
    ("text,aspect,polarity\nGreat price,price,good\n", "line 2, column 'polarity': 'good'"),
    ("text,aspect,polarity\nok,price,positive\nGreat,colour,positive\n",
     "line 3, column 'aspect': 'colour' is not an aspect"),
    ("text,aspect,polarity\n,price,positive\n", "line 2, column 'text'"),
    ("text,polarity\nGreat,positive\n", "no column 'aspect'"),
])
def test_bad_label_files_name_line_column_and_value(tmp_path: Path, rows: str,
                                                   message: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(rows, encoding="utf-8")
    with pytest.raises(InputFileError, match=message.replace("(", r"\(")):
        read_aspect_labels(path)
