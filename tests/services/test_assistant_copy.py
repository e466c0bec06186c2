"""Campaign copy: the fact check on known texts (English and Chinese), the shipped briefs'
templates all pass and every planted error is caught, a model's invented facts are rejected
and a rejected variant can never be approved."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from contexts import ctx_of
from insightloop.errors import InputError
from insightloop.models.llm.contract import Catalogue, Completion, Message
from insightloop.services.assistant import (
    approve_variant,
    approved_variants,
    check_copy,
    generate_copy,
    load_eval,
    template_variants,
)

FACTS = {"products": ["Party Bunting"], "price": 4.15, "was_price": 4.95, "discount_pct": 15,
         "ends": "2026-12-24", "code": "PARTY15", "claims": ["free delivery over £50"]}


@pytest.mark.parametrize(("text", "problems"), [
    ("Party Bunting: 15% off until Dec 24, now £4.15 (was £4.95), code PARTY15", []),
    ("Free delivery over £50 on Party Bunting", []),
    ("Party Bunting 20% off", ["percentage 20% is not in the brief"]),
    ("Party Bunting now £3.99", ["price 3.99 is not in the brief"]),
    ("Party Bunting until 31 December", ["date 31 December is not in the brief"]),
    ("Party Bunting: 3 for 2", ["number 3 is not in the brief", "number 2 is not in the brief"]),
    ("Party Bunting, the best price guaranteed",
     ['claim "guaranteed" is not in the brief', 'claim "best" is not in the brief']),
    ("派对彩旗8折，12月24日截止", ["discount 8折 (20% off) is not in the brief"]),
    ("派对彩旗现价4.15英镑，12月25日截止", ["date 12月25日 is not in the brief"]),
    ("派对彩旗全场包邮", ['claim "包邮" is not in the brief']),
])
def test_fact_check_known_texts(text: str, problems: list[str]) -> None:
    assert check_copy(text, FACTS) == problems


def test_products_the_brief_does_not_name_are_rejected() -> None:
    assert check_copy("Party Bunting and a Regency Cakestand", FACTS,
                      known_products=["Regency Cakestand", "Party Bunting"]) == [
        "product 'Regency Cakestand' is not in the brief"]


def test_shipped_briefs_templates_pass_and_planted_errors_are_caught() -> None:
    briefs = load_eval("copy_briefs")
    assert len(briefs) >= 30 and {b["lang"] for b in briefs} == {"en", "zh"}
    for brief in briefs:
        variants = template_variants(brief)
        assert variants, brief["id"]
        for v in variants:
            assert check_copy(v["subject"] + "\n" + v["body"], brief["facts"]) == [], v
        assert check_copy(brief["bad_copy"], brief["facts"]), brief["bad_copy"]


class _Inventing:
    """A model that writes a subject with a price the brief does not have."""

    name = "fake"

    def complete(self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None,
                 grammar: Catalogue | None = None, max_tokens: int = 256,
                 timeout: float = 30.0) -> Completion:
        return Completion("Party Bunting now only £1.99!", None, 0.01, self.name)


def test_invented_facts_are_stored_rejected_and_cannot_be_approved(wh: Path) -> None:
    ctx = ctx_of(wh)
    brief = {"id": "b1", "lang": "en", "facts": FACTS}
    rows = generate_copy(ctx, brief, _Inventing())
    assert [r["passed"] for r in rows] == [False, False]
    assert rows[0]["problems"] == "price 1.99 is not in the brief"
    with pytest.raises(InputError, match="failed the fact check"):
        approve_variant(ctx, "b1-1", "ana")
    assert approved_variants(ctx, "b1") == []

    rows = generate_copy(ctx, brief)  # templates: replaces the brief's earlier variants
    assert all(r["passed"] for r in rows)
    assert approved_variants(ctx, "b1") == []  # nothing until a person approves
    approve_variant(ctx, "b1-2", "ana")
    assert [v["variant_id"] for v in approved_variants(ctx, "b1")] == ["b1-2"]
    assert json.dumps(approved_variants(ctx, "b1"))  # plain values
