"""The rule-based provider: known requests -> known filters, every filter valid in the
audience language, numbers in words and Chinese numerals, negation and or-grouping."""

from __future__ import annotations

import json

import pytest

from insightloop.features.audiences import compile_filter
from insightloop.models.llm.contract import AUDIENCE_SCHEMA, Catalogue, parse_json
from insightloop.models.llm.numbers import normalise_numbers
from insightloop.models.llm.rules import RuleProvider, parse_request

SCHEMA = {"recency_days": "DOUBLE", "tenure_days": "DOUBLE", "monetary": "DOUBLE",
          "avg_order_value": "DOUBLE", "n_orders": "BIGINT", "n_returns": "HUGEINT",
          "return_rate": "DOUBLE", "churn_score": "DOUBLE", "clv_p_alive": "DOUBLE",
          "clv": "DOUBLE", "value_tier": "VARCHAR", "rfm_segment": "VARCHAR",
          "country": "VARCHAR"}
CAT = Catalogue(SCHEMA, {"country": ("United Kingdom", "France", "Germany", "EIRE"),
                         "rfm_segment": ("champions", "loyal", "hibernating", "at risk"),
                         "value_tier": ("low", "medium", "high")})

CASES = [
    ("customers who haven't bought in 3 months", "recency_days > 90"),
    ("spent over £500", "monetary > 500"),
    ("more than five orders", "n_orders > 5"),
    ("average order above 50", "avg_order_value > 50"),
    ("return rate above 20%", "return_rate > 0.2"),
    ("customers for over a year", "tenure_days > 365"),
    ("at-risk customers", "churn_score >= 0.5"),
    ("VIP customers", "value_tier = 'high'"),
    ("最近30天有购买的客户", "recency_days <= 30"),
    ("有流失风险的客户", "churn_score >= 0.5"),
    ("法国或德国的客户", "country in ('France', 'Germany')"),
    ("消费超过一千五百元的客户", "monetary > 1500"),
    ("退货率百分之二十以上", "return_rate >= 0.2"),
    ("not in the UK", "not country = 'United Kingdom'"),
    ("Irish customers with at least 2 orders", "country = 'EIRE' and n_orders >= 2"),
    ("UK or French customers who spent more than 200 and are not VIP",
     "country in ('United Kingdom', 'France') and monetary > 200 and not value_tier = 'high'"),
    ("spent over 100 or more than 3 orders, in France",
     "(monetary > 100 or n_orders > 3) and country = 'France'"),
    ("customers who spent between 500 and 2,000", "monetary between 500 and 2000"),
    ("champions who have not ordered in the last two weeks",
     "rfm_segment = 'champions' and recency_days > 14"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_known_requests_give_known_filters(text: str, expected: str) -> None:
    where, explanation = parse_request(text, CAT)
    assert where == expected
    assert explanation
    compile_filter(where, SCHEMA)  # valid in the audience language


def test_nothing_recognised_gives_empty_filter() -> None:
    where, reason = parse_request("tell me a joke", CAT)
    assert where == ""
    assert "no audience condition" in reason


def test_columns_missing_from_the_catalogue_are_never_used() -> None:
    where, _ = parse_request("VIP customers in France", Catalogue({"country": "VARCHAR"}))
    assert where == "country = 'France'"


def test_numbers_in_words_and_chinese_numerals() -> None:
    assert normalise_numbers("twenty five orders, 1.5k spend, 两万") == \
        "25 orders, 1500 spend, 20000"
    assert normalise_numbers("一年") == "1年"


def test_provider_answers_json_matching_the_schema() -> None:
    done = RuleProvider().complete([{"role": "user", "content": "德国客户"}],
                                   schema=AUDIENCE_SCHEMA, grammar=CAT)
    assert done.provider == "rule"
    assert done.parsed == json.loads(done.text)
    assert parse_json(done.text, AUDIENCE_SCHEMA, "rule") == {
        "where": "country = 'Germany'", "explanation": "国家 等于 'Germany'"}
    assert done.latency_s >= 0


def test_without_a_catalogue_the_customer_360_columns_are_assumed() -> None:
    done = RuleProvider().complete([{"role": "user", "content": "VIP customers in France"}])
    assert done.parsed is not None
    assert done.parsed["where"] == "value_tier = 'high' and country = 'France'"
