"""Templates: profile fields, recommendations with reasons and the segment's strategy;
a missing or NULL field, a syntax error and an unknown customer are errors (per customer
in render, raised by preview), never an empty string; the sandbox refuses internals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engagement_helpers import make_ctx
from insightloop.errors import InputError
from insightloop.services.context import Context
from insightloop.services.engagement import preview, render


@pytest.fixture()
def ctx(tmp_path: Path) -> Context:
    customers = pd.DataFrame({"customer_id": ["1", "2", "3"],
                              "name": ["Ada", None, "Grace"],
                              "email": ["ada@x.org", "b@x.org", "g@x.org"]})
    c360 = pd.DataFrame({"customer_id": ["1", "2", "3"], "recency_days": [5, 120, 30],
                         "segment_name": ["champions", "at risk", "loyal"],
                         "strategy": ["reward them", "win them back", "upsell"]})
    recs = pd.DataFrame({"customer_id": ["1", "1", "1", "1", "3"], "rank": [1, 2, 3, 4, 1],
                         "product_id": ["p1", "p2", "p3", "p4", "p2"],
                         "score": [0.9, 0.8, 0.7, 0.6, 0.5],
                         "reason": ["bought with X", "similar to Y", "popular", "more", "new"],
                         "model": ["ease"] * 5})
    products = pd.DataFrame({"product_id": ["p1", "p2", "p3", "p4"],
                             "name": ["Mug", "Lamp", "Tray", "Cup"]})
    return make_ctx(tmp_path, customers, customer_360=c360, recommendations=recs,
                    products=products)


def test_fields_recommendations_and_strategy(ctx: Context) -> None:
    text = ("Hi {{ name }} ({{ segment_name }}: {{ strategy }}), {{ recency_days }} days. "
            "{% for r in recommendations %}[{{ r.rank }} {{ r.name }}: {{ r.reason }}]"
            "{% endfor %} code {{ code }}")
    out = render(ctx, text, ["1", "3.0", "2", "404"], extra={"code": "SPRING"},
                 subject_template="{{ customer.name | default('friend') }}, for you",
                 html_template="<p>{{ name }} {{ '<b>' }}</p>")
    assert list(out.columns) == ["customer_id", "subject", "text", "html", "error"]
    assert out["customer_id"].tolist() == ["1", "3", "2", "404"]
    first = out.iloc[0]
    assert first["text"] == ("Hi Ada (champions: reward them), 5 days. [1 Mug: bought with X]"
                             "[2 Lamp: similar to Y][3 Tray: popular] code SPRING")
    assert first["subject"] == "Ada, for you" and first["html"] == "<p>Ada &lt;b&gt;</p>"
    assert first["error"] is None
    assert out.iloc[1]["text"].endswith("days. [1 Lamp: new] code SPRING")
    # Customer 2 has no name (NULL): an error, not "Hi  (...)".
    assert out.iloc[2]["text"] is None and "'name' is undefined" in out.iloc[2]["error"]
    assert "unknown customer '404'" in out.iloc[3]["error"]


def test_preview_raises_and_syntax_errors_fail_everyone(ctx: Context) -> None:
    assert preview(ctx, "Hello {{ name }}", "1")["text"] == "Hello Ada"
    with pytest.raises(InputError, match=r"customer '2'.*'name' is undefined"):
        preview(ctx, "Hello {{ name }}", "2")
    with pytest.raises(InputError, match="'discount' is undefined"):
        preview(ctx, "{{ discount }} off", "1")
    with pytest.raises(InputError, match="text template line 1"):
        preview(ctx, "Hello {{ name ", "1")
    broken = render(ctx, "{% if %}", ["1", "3"])
    assert broken["error"].str.startswith("text template").all()
    assert broken["text"].isna().all()
    assert render(ctx, "x", []).empty


def test_the_sandbox_refuses_python_internals(ctx: Context) -> None:
    out = render(ctx, "{{ name.__class__.__mro__[1].__subclasses__() }}", ["1"])
    assert out.iloc[0]["text"] is None
    assert "unsafe" in out.iloc[0]["error"] or "__class__" in out.iloc[0]["error"]
    assert render(ctx, "{{ 1 / 0 }}", ["1"]).iloc[0]["error"].startswith(
        "text template: ZeroDivisionError")
