"""Clean-up and language detection on bad input: empty, emoji, mixed, HTML, long, BOM."""

from __future__ import annotations

import numpy as np

from insightloop.models.sentiment.text import clean_texts, detect_language


def test_clean_strips_html_bom_entities_and_controls() -> None:
    texts, cut = clean_texts(["\ufeff<p>Great <b>kettle</b></p>&amp; fast<br/>delivery\x00",
                              None, float("nan"), "   ", "质量<script>x</script>很好"])
    assert texts.tolist() == ["Great kettle & fast delivery", "", "", "", "质量 x 很好"]
    assert not cut.any()


def test_long_text_is_truncated_with_flag() -> None:
    texts, cut = clean_texts(["a" * 50, "b" * 10], max_chars=20)
    assert texts.str.len().tolist() == [20, 10]
    assert cut.tolist() == [True, False]


def test_language_detection() -> None:
    got = detect_language(["这个手机很好用", "The kettle boils fast", "", "😀😀👍",
                           "手机很好, battery is great and the screen is bright",
                           "Отличный товар", "12345"])
    assert got.tolist() == ["zh", "en", "other", "other", "mixed", "other", "other"]
    # a stray English brand in Chinese text stays Chinese
    assert detect_language(["苹果iPhone手机质量非常好物流也快"]).tolist() == ["zh"]
    assert isinstance(got, np.ndarray)
