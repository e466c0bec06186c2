"""End-to-end scoring of awkward inputs with the shipped model."""

from __future__ import annotations

import pytest

from insightloop.services.sentiment import score_texts


def test_bad_inputs_are_scored_without_error() -> None:
    texts = ["", "   ", "👍👍👍", "😡", "🙂🙁", "<div><b>Terrible</b> product, it broke after "
             "one day.</div>", "\ufeff质量非常好，物流也很快",
             "手机很好用 but the battery dies fast",
             "This kettle is wonderful and boils quickly. " * 200, "12345 !!!"]
    out = score_texts(None, texts)
    assert len(out) == len(texts)
    assert [o["label"] for o in out[:5]] == ["neutral", "neutral", "positive", "negative",
                                             "neutral"]
    assert out[0]["score"] == 0.0 and out[0]["language"] == "other"
    assert out[5]["label"] == "negative" and out[5]["language"] == "en"
    assert out[6]["label"] == "positive" and out[6]["language"] == "zh"
    assert out[7]["language"] == "mixed"
    assert out[8]["truncated"] is True and out[8]["label"] == "positive"
    assert all(-1.0 <= o["score"] <= 1.0 and 0.0 <= o["probability"] <= 1.0 for o in out)
    assert all(abs(o["score"] - (2 * o["probability"] - 1)) < 1e-9 for o in out)


def test_aspects_with_their_own_sentiment() -> None:
    [zh, en] = score_texts(None, ["物流很快，包装也很好，但是质量太差了，用了两天就坏了",
                            "Fast shipping and a great price. However the quality is awful, "
                            "it broke in a week."])
    zh_aspects = {a["aspect"]: a["sentiment"] for a in zh["aspects"]}
    en_aspects = {a["aspect"]: a["sentiment"] for a in en["aspects"]}
    assert zh_aspects["delivery"] == "positive" and zh_aspects["quality"] == "negative"
    assert en_aspects["delivery"] == "positive" and en_aspects["quality"] == "negative"
    assert en_aspects["price"] == "positive"


def test_lang_argument() -> None:
    assert score_texts(None, ["very good"], lang="en")[0]["language"] == "en"
    from insightloop.errors import SchemaError

    with pytest.raises(SchemaError):
        score_texts(None, ["x"], lang="fr")
