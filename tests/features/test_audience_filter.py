"""The audience filter language: known answers on a small DuckDB table, errors with their
position, the canonical form, and properties (no literal ever reaches the SQL text)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insightloop.errors import ConfigError
from insightloop.features.audiences import (
    ALIASES,
    MAX_DEPTH,
    MAX_IN_ITEMS,
    MAX_LENGTH,
    FilterError,
    column_kind,
    compile_filter,
    render_filter,
)

ROWS = """
    ('c1', 10.0, 5, 'Champions', 'high', TIMESTAMP '2024-01-10 08:00', true, 0.1, ['a']),
    ('c2', 100.0, 1, 'At Risk', 'low', TIMESTAMP '2023-06-01 00:00', false, 0.8, []),
    ('c3', 200.0, 2, 'at risk', 'medium', TIMESTAMP '2023-01-15 12:00', NULL, NULL, NULL),
    ('c4', 50.0, 3, 'Loyal', 'high', TIMESTAMP '2023-12-01 09:30', true, 0.4, ['b']),
    ('c5', 95.0, 0, NULL, 'low', NULL, false, 0.55, NULL),
    ('c6', 5.0, 10, 'O''Brien''s', 'mid', TIMESTAMP '2024-02-01 00:00', true, 0.2, NULL)
"""


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute("CREATE TABLE customer_360 (customer_id VARCHAR, recency_days DOUBLE, "
              "n_orders BIGINT, rfm_segment VARCHAR, value_tier VARCHAR, "
              "last_order_time TIMESTAMP, opted_in BOOLEAN, churn_score DOUBLE, "
              f"tags VARCHAR[]); INSERT INTO customer_360 VALUES {ROWS}")
    yield c
    c.close()


@pytest.fixture(scope="module")
def schema(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute("DESCRIBE customer_360").fetchall()}


def members(con: duckdb.DuckDBPyConnection, schema: dict[str, str], expr: str) -> list[str]:
    f = compile_filter(expr, schema)
    rows = con.execute(f"SELECT customer_id FROM customer_360 WHERE {f.sql} ORDER BY 1",
                       list(f.params)).fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize(("expr", "expected"), [
    ("recency_days > 90", "c2 c3 c5"),
    ("recency_days >= 100", "c2 c3"),
    ("recency_days = 50", "c4"),
    ("recency_days != 50", "c1 c2 c3 c5 c6"),
    ("recency_days <> 50", "c1 c2 c3 c5 c6"),
    ("recency_days < 50", "c1 c6"),
    ("recency_days <= 50", "c1 c4 c6"),
    ("recency_days >= 1e2", "c2 c3"),
    ("recency_days > -1 and recency_days < 5.5", "c6"),
    ("segment = 'at risk'", "c2 c3"),            # alias + case-insensitive text
    ("rfm_segment = 'AT RISK'", "c2 c3"),
    ("segment != 'at risk'", "c1 c4 c6"),        # NULL segment (c5) is neither
    ("segment = 'O''Brien''s'", "c6"),
    ('segment = "o\'brien\'s"', "c6"),
    # precedence: and binds tighter than or
    ("recency_days < 20 or recency_days > 150 and tier = 'medium'", "c1 c3 c6"),
    ("(recency_days < 20 or recency_days > 150) and tier = 'medium'", "c3"),
    ("not tier = 'high'", "c2 c3 c5 c6"),
    ("not (tier = 'high' or tier = 'low')", "c3 c6"),
    ("not tier = 'high' and recency_days < 100", "c5 c6"),
    ("tier in ('HIGH', 'mid')", "c1 c4 c6"),
    ("tier not in ('HIGH', 'mid')", "c2 c3 c5"),
    ("n_orders in (0, 10)", "c5 c6"),
    ("n_orders between 1 and 3", "c2 c3 c4"),
    ("n_orders not between 1 and 3", "c1 c5 c6"),
    ("last_order_time between date '2023-06-01' and '2023-12-31'", "c2 c4"),
    ("last_order_time >= date '2024-01-10'", "c1 c6"),
    ("churn is null", "c3"),
    ("churn is not null and churn > 0.5", "c2 c5"),
    ("segment is null", "c5"),
    ("tags is not null", "c1 c2 c4"),
    ("segment contains 'RISK'", "c2 c3"),
    ("segment contains \"o'b\"", "c6"),
    ("segment not contains 'risk'", "c1 c4 c6"),
    ("opted_in = true", "c1 c4 c6"),
    ("opted_in != TRUE", "c2 c5"),
    ("orders >= 5", "c1 c6"),                    # alias n_orders
    ("recency > 90 AND NOT Tier = 'low'", "c3"),  # keywords and column names any case
    ("TIER IN ('high') AND NOT Recency_Days > 20", "c1"),
    ("((((n_orders = 3))))", "c4"),
])
def test_known_answers(con: duckdb.DuckDBPyConnection, schema: dict[str, str], expr: str,
                       expected: str) -> None:
    assert members(con, schema, expr) == expected.split()


def test_compiled_form(schema: dict[str, str]) -> None:
    f = compile_filter("spend > 5 or segment in ('a', 'b')",
                       {**schema, "monetary": "DECIMAL(18,2)"})
    assert f.sql == '(("monetary" > ?) OR (lower("rfm_segment") IN (lower(?), lower(?))))'
    assert f.params == (5, "a", "b")
    assert f.columns == ("monetary", "rfm_segment")
    assert compile_filter("churn > 0.5", schema).params == (0.5,)


@pytest.mark.parametrize(("expr", "position", "words"), [
    ("recency_days >> 5", 15, ["'>'", "expected a value"]),
    ("recnecy_days > 5", 1, ["unknown column 'recnecy_days'", "recency_days"]),
    ("n_orders = 'five'", 12, ["'five'", "BIGINT", "a number"]),
    ("segment = 5", 11, ["'5'", "'text'"]),
    ("opted_in = 1", 12, ["true or false"]),
    ("segment = 'at risk", 11, ["unterminated"]),
    ("n_orders > 1 n_orders", 14, ["expected 'and', 'or'"]),
    ("and > 1", 1, ["expected a column name"]),
    ("n_orders between 1 or 3", 20, ["'and' between the two bounds"]),
    ("(n_orders > 1", 14, ["')'", "end of the filter"]),
    ("last_order_time > date '2023-02-30'", 24, ["not a date"]),
    ("segment < 'b'", 1, ["'<' cannot compare string"]),
    ("n_orders contains '1'", 1, ["'contains' needs a text column"]),
    ("tags = 'a'", 1, ["VARCHAR[]", "is null"]),
    ("segment in ()", 13, ["expected a value"]),
    ("segment = 'a'; DROP TABLE customer_360", 14, ["';'"]),
    ("n_orders > 1e999", 12, ["out of range"]),
])
def test_errors_name_position_and_token(schema: dict[str, str], expr: str, position: int,
                                        words: list[str]) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(expr, schema)
    message = str(info.value)
    assert f"position {position} " in message, message
    for word in words:
        assert word in message, message
    assert isinstance(info.value, ConfigError)  # exit 2 in the CLI, 400 in the API


def test_limits(schema: dict[str, str]) -> None:
    with pytest.raises(FilterError, match="empty"):
        compile_filter("   ", schema)
    long = "n_orders > 1" + " or n_orders > 1" * (MAX_LENGTH // 16)
    assert len(long) > MAX_LENGTH
    with pytest.raises(FilterError, match=f"at most {MAX_LENGTH:,}"):
        compile_filter(long, schema)
    deep = "(" * MAX_DEPTH + "n_orders > 1" + ")" * MAX_DEPTH
    assert compile_filter(deep, schema).params == (1,)
    with pytest.raises(FilterError, match="nested more than 32"):
        compile_filter("(" + deep + ")", schema)
    with pytest.raises(FilterError, match="nested"):
        compile_filter("not " * 40 + "n_orders > 1", schema)
    values = ",".join(str(i % 10) for i in range(MAX_IN_ITEMS))  # fits in MAX_LENGTH
    assert len(compile_filter(f"n_orders in ({values})", schema).params) == MAX_IN_ITEMS
    with pytest.raises(FilterError, match="at most 1,000 values"):
        compile_filter(f"n_orders in ({values}, 1)", schema)


def test_canonical_form(schema: dict[str, str]) -> None:
    text = "NOT (Spend >= 100 OR TIER in ('high',\"O'k\"))  AND  orders BETWEEN 1 AND 2"
    assert render_filter(text) == ("not (monetary >= 100 or value_tier in ('high', 'O''k')) "
                                   "and n_orders between 1 and 2")
    assert render_filter("a = 'x' Or (b = 1 and (c = 2 OR d IS NOT NULL))") == \
        "a = 'x' or b = 1 and (c = 2 or d is not null)"
    assert render_filter("Recency_Days > 9", schema) == "recency_days > 9"
    assert render_filter("last_order_time < '2024-01-01'", schema) == \
        "last_order_time < date '2024-01-01'"
    assert ALIASES["segment"] == "rfm_segment" and ALIASES["p_alive"] == "clv_p_alive"


def test_column_kinds() -> None:
    assert [column_kind(t) for t in ("DOUBLE", "DECIMAL(18,3)", "HUGEINT", "UBIGINT",
                                     "VARCHAR", "DATE", "TIMESTAMP WITH TIME ZONE",
                                     "BOOLEAN", "VARCHAR[]", "STRUCT(a INTEGER)", "BLOB")] == \
        ["number", "number", "number", "number", "string", "date", "date", "bool", "other",
         "other", "other"]


# -- properties -------------------------------------------------------------------------

_ALLOWED_WORDS = {"AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "lower", "contains"}


def assert_sql_only_structure(sql: str, schema: dict[str, str]) -> None:
    """Nothing in ``sql`` but quoted schema columns, keywords, operators and ``?``."""
    rest = sql
    for name in sorted(schema, key=len, reverse=True):
        rest = rest.replace('"' + name.replace('"', '""') + '"', " ")
    assert re.fullmatch(r"[\sA-Za-z()?,=<>!]*", rest), sql
    assert set(re.findall(r"[A-Za-z]+", rest)) <= _ALLOWED_WORDS, sql


_hostile = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12) | \
    st.sampled_from(["'; DROP TABLE x; --", '" OR 1=1 --', "') OR ('a'='a", "\\", "''", '""',
                     "?", "$1", "lower(", "*/", "/*"])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0) -> tuple[str, list[object]]:
    """A random well-typed filter over the test schema and the literal values it holds."""
    if depth < 3 and draw(st.booleans()):
        left, lv = draw(_expressions(depth + 1))
        right, rv = draw(_expressions(depth + 1))
        op = draw(st.sampled_from(["and", "or", "AND", "Or"]))
        neg = draw(st.sampled_from(["", "not ", "NOT "]))
        return f"{neg}({left} {op} {right})", lv + rv
    kind = draw(st.sampled_from(["text", "num", "in", "contains", "null", "between"]))
    if kind == "text":
        value = draw(_hostile)
        col = draw(st.sampled_from(["segment", "rfm_segment", "tier", "customer_id"]))
        return f"{col} {draw(st.sampled_from(['=', '!=', '<>']))} {_quote(value)}", [value]
    if kind == "contains":
        value = draw(_hostile)
        return f"segment contains {_quote(value)}", [value]
    if kind == "in":
        values = draw(st.lists(_hostile, min_size=1, max_size=4))
        return f"tier in ({', '.join(_quote(v) for v in values)})", list(values)
    if kind == "null":
        return f"churn is {draw(st.sampled_from(['', 'not ']))}null", []
    number = draw(st.integers(-10**6, 10**6) | st.floats(-1e6, 1e6, allow_nan=False))
    if kind == "between":
        return f"n_orders between {number!r} and {number!r}", [number, number]
    return f"recency_days {draw(st.sampled_from(['<', '<=', '>', '>=']))} {number!r}", [number]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expressions())
def test_random_filters_keep_every_value_in_parameters(
        con: duckdb.DuckDBPyConnection, schema: dict[str, str],
        case: tuple[str, list[object]]) -> None:
    expr, values = case
    f = compile_filter(expr, schema)
    assert list(f.params) == values
    assert_sql_only_structure(f.sql, schema)
    canon = render_filter(expr, schema)  # the canonical form is stable and means the same
    assert render_filter(canon, schema) == canon
    again = compile_filter(canon, schema)
    assert again.params == f.params
    count = "SELECT list(customer_id ORDER BY customer_id) FROM customer_360 WHERE "
    assert con.execute(count + f.sql, list(f.params)).fetchall() == \
        con.execute(count + again.sql, list(again.params)).fetchall()


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20).filter(lambda s: s.lower() not in ALIASES))
def test_unknown_identifiers_are_refused(schema: dict[str, str], name: str) -> None:
    if name in schema or name.lower() in {c.lower() for c in schema}:
        return
    with pytest.raises(FilterError):
        compile_filter(f"{name} = 1", schema)
    with pytest.raises(FilterError):
        compile_filter(f'"{name}" = 1', schema)  # a quoted name is text, not a column


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abnotirs_ =<>!'\"(),.0129-")) |
               st.characters(), max_size=60))
def test_any_text_compiles_safely_or_fails_cleanly(con: duckdb.DuckDBPyConnection,
                                                   schema: dict[str, str], text: str) -> None:
    try:
        f = compile_filter(text, schema)
    except FilterError as exc:
        assert "position" in str(exc) or "empty" in str(exc)
        return
    assert_sql_only_structure(f.sql, schema)
    con.execute(f"SELECT count(*) FROM customer_360 WHERE {f.sql}", list(f.params)).fetchall()


# -- a Python oracle: random filters (any mix of and/or/not/brackets, keyword case, aliases)
# evaluated with SQL's three-valued logic on the same rows, independently of the parser.

PY_ROWS = [  # customer_id, recency_days, n_orders, rfm_segment, value_tier, opted_in, churn
    ("c1", 10.0, 5, "Champions", "high", True, 0.1),
    ("c2", 100.0, 1, "At Risk", "low", False, 0.8),
    ("c3", 200.0, 2, "at risk", "medium", None, None),
    ("c4", 50.0, 3, "Loyal", "high", True, 0.4),
    ("c5", 95.0, 0, None, "low", False, 0.55),
    ("c6", 5.0, 10, "O'Brien's", "mid", True, 0.2),
]
_FIELD = {"recency_days": 1, "recency": 1, "n_orders": 2, "orders": 2, "rfm_segment": 3,
          "segment": 3, "value_tier": 4, "tier": 4, "opted_in": 5, "churn_score": 6,
          "churn": 6}
_CMP = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
Truth = bool | None
Pred = Any


def _and(values: list[Truth]) -> Truth:
    return False if False in values else None if None in values else True


def _or(values: list[Truth]) -> Truth:
    return True if True in values else None if None in values else False


@st.composite
def _predicates(draw: st.DrawFn) -> tuple[str, Pred]:
    kind = draw(st.sampled_from(["num", "text", "in", "between", "null", "contains", "bool"]))
    if kind in ("num", "between"):
        col = draw(st.sampled_from(["recency_days", "recency", "n_orders", "orders", "churn"]))
        nums = draw(st.lists(st.sampled_from([0, 1, 2, 5, 50, 95, 100, 0.4, 0.55]),
                             min_size=2, max_size=2))
        if kind == "between":
            low, high = nums
            neg = draw(st.booleans())
            def between(v: Any, lo: float = low, hi: float = high, n: bool = neg) -> Truth:
                return None if v is None else (not (lo <= v <= hi)) if n else lo <= v <= hi
            return (f"{col} {'not ' if neg else ''}between {low} and {high}",
                    (_FIELD[col], between))
        op = draw(st.sampled_from(list(_CMP)))
        return (f"{col} {op} {nums[0]}",
                (_FIELD[col], lambda v, o=op, x=nums[0]: None if v is None else _CMP[o](v, x)))
    if kind == "bool":
        flag = draw(st.booleans())
        op = draw(st.sampled_from(["=", "!="]))
        word = str(flag).upper() if draw(st.booleans()) else str(flag).lower()
        return (f"opted_in {op} {word}",
                (5, lambda v, o=op, x=flag: None if v is None else _CMP[o](v, x)))
    col = draw(st.sampled_from(["segment", "rfm_segment", "tier", "value_tier"]))
    pool = ["at risk", "AT RISK", "champions", "high", "Low", "o'brien's", "mid", "x"]
    if kind == "null":
        neg = draw(st.booleans())
        return (f"{col} is {'not ' if neg else ''}null",
                (_FIELD[col], lambda v, n=neg: (v is not None) if n else (v is None)))
    if kind == "contains":
        part = draw(st.sampled_from(["RISK", "o", "'", "ham", "zz"]))
        neg = draw(st.booleans())
        def contains(v: Any, p: str = part, n: bool = neg) -> Truth:
            return None if v is None else (p.lower() in v.lower()) != n
        return f"{col} {'not ' if neg else ''}contains {_quote(part)}", (_FIELD[col], contains)
    if kind == "in":
        texts = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        neg = draw(st.booleans())
        def in_(v: Any, vs: tuple[str, ...] = tuple(x.lower() for x in texts),
                n: bool = neg) -> Truth:
            return None if v is None else (v.lower() in vs) != n
        return (f"{col} {'not ' if neg else ''}in ({', '.join(_quote(v) for v in texts)})",
                (_FIELD[col], in_))
    text = draw(st.sampled_from(pool))
    op = draw(st.sampled_from(["=", "!=", "<>"]))
    eq = op == "="
    return (f"{col} {op} {_quote(text)}",
            (_FIELD[col], lambda v, x=text.lower(), e=eq: None if v is None
             else (v.lower() == x) == e))


@st.composite
def _trees(draw: st.DrawFn, depth: int = 0) -> tuple[str, Any]:
    """An 'or' of 'and's of unaries, as text and as a function row -> Truth."""
    ors = []
    for _ in range(draw(st.integers(1, 3 if depth < 2 else 1))):
        ands = []
        for _ in range(draw(st.integers(1, 3 if depth < 2 else 1))):
            shape = draw(st.sampled_from(["pred", "pred", "not", "group"] if depth < 2
                                         else ["pred", "not"]))
            if shape == "group":
                text, fn = draw(_trees(depth + 1))
                ands.append((f"({text})", fn))
                continue
            text, (field, test) = draw(_predicates())
            def fn(row: tuple[Any, ...], f: int = field, t: Any = test) -> Truth:
                return t(row[f])  # type: ignore[no-any-return]
            if shape == "not":
                ands.append((f"{draw(st.sampled_from(['not', 'NOT', 'Not']))} {text}",
                             lambda row, g=fn: None if g(row) is None else not g(row)))
            else:
                ands.append((text, fn))
        word = draw(st.sampled_from([" and ", " AND ", " And "]))
        ors.append((word.join(t for t, _ in ands),
                    lambda row, fs=tuple(f for _, f in ands): _and([f(row) for f in fs])))
    word = draw(st.sampled_from([" or ", " OR "]))
    return (word.join(t for t, _ in ors),
            lambda row, fs=tuple(f for _, f in ors): _or([f(row) for f in fs]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees())
def test_random_filters_select_what_sql_three_valued_logic_says(
        con: duckdb.DuckDBPyConnection, schema: dict[str, str], case: tuple[str, Any]) -> None:
    text, oracle = case
    expected = [row[0] for row in PY_ROWS if oracle(row) is True]
    assert members(con, schema, text) == expected, text
