"""The audience filter language, compiled to parameterised SQL (users never write SQL).

:func:`compile_filter` checks every column against the table's schema and every literal
against its column's type; identifiers are quoted with :func:`insightloop.storage.sql.ident`
and every literal is a ``?`` parameter. Grammar (keywords case-insensitive)::

    expr := or;  or := and ("or" and)*;  and := unary ("and" unary)*
    unary := "not" unary | "(" expr ")" | predicate
    predicate := COLUMN op literal | COLUMN ["not"] "in" "(" literal ("," literal)* ")"
               | COLUMN ["not"] "between" literal "and" literal | COLUMN "is" ["not"] "null"
               | COLUMN ["not"] "contains" STRING
    op := = | != | <> | < | <= | > | >=
    literal := NUMBER | 'string' | "string" | true | false | date 'YYYY-MM-DD'

Text equality, ``in`` and ``contains`` ignore case. A predicate on NULL is neither true nor
false (SQL): ``churn > 0.5`` and ``not churn > 0.5`` both leave out the unscored.

>>> f = compile_filter("Spend >= 100 and segment = 'At Risk'",
...                    {"monetary": "DOUBLE", "rfm_segment": "VARCHAR"})
>>> f.sql
'(("monetary" >= ?) AND (lower("rfm_segment") = lower(?)))'
>>> f.params, f.columns
((100, 'At Risk'), ('monetary', 'rfm_segment'))
>>> render_filter("NOT (spend >= 100 OR tier IN ('high', 'Mid'))")
"not (monetary >= 100 or value_tier in ('high', 'Mid'))"
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from insightloop.errors import InputError
from insightloop.storage.sql import ident

__all__ = ["ALIASES", "MAX_DEPTH", "MAX_IN_ITEMS", "MAX_LENGTH", "CompiledFilter",
           "FilterError", "column_kind", "compile_filter", "render_filter"]

#: Friendly names a marketer types -> the ``customer_360`` column they mean. A real column
#: of the same name wins over its alias.
ALIASES: dict[str, str] = {
    "segment": "rfm_segment",    # the named RFM segment: champions, loyal, at risk, lost, ...
    "rfm": "rfm_segment",
    "cluster": "segment_name",   # the behavioural cluster's name ("Lapsed, low spend", ...)
    "clv_tier": "value_tier",
    "tier": "value_tier",
    "churn": "churn_score",
    "p_alive": "clv_p_alive",
    "orders": "n_orders",
    "spend": "monetary",
    "aov": "avg_order_value",
    "tenure": "tenure_days",
    "recency": "recency_days",
}
MAX_LENGTH = 4_000
MAX_DEPTH = 32
MAX_IN_ITEMS = 1_000

Kind = Literal["number", "string", "date", "bool", "other"]
_KEYWORDS = frozenset({"and", "or", "not", "in", "between", "is", "null", "contains", "true",
                       "false", "date"})
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![A-Za-z_0-9])
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
""", re.VERBOSE)
_NUM = re.compile(r"U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?\d?|FLOAT\d?|DOUBLE|REAL|DECIMAL|NUMERIC")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FilterError(InputError):
    """An audience filter that cannot be parsed or does not fit the table's columns."""


@dataclass(frozen=True)
class CompiledFilter:
    """A boolean SQL expression over ``columns`` with ``?`` placeholders bound to ``params``."""

    sql: str
    params: tuple[Any, ...]
    columns: tuple[str, ...]


class _Tok(NamedTuple):
    kind: str  # number | string | name | op | punct | char | end
    text: str
    pos: int   # 1-based character position in the filter


class _Lit(NamedTuple):
    kind: Kind
    value: Any
    tok: _Tok


class _Pred(NamedTuple):
    column: str
    tok: _Tok
    op: str  # = != < <= > >=, [not] in, [not] between, is [not] null, [not] contains
    lits: tuple[_Lit, ...]


class _Bool(NamedTuple):
    op: str  # and | or | not
    items: tuple[_Pred | _Bool, ...]


_Node = _Pred | _Bool


def column_kind(duckdb_type: str) -> Kind:
    """The literal kind a column of ``duckdb_type`` (as DESCRIBE prints it) compares with."""
    t = duckdb_type.strip().upper()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION", "LIST")):
        return "other"
    base = t.split("(")[0].strip()
    if _NUM.fullmatch(base):
        return "number"
    if base in ("VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "ENUM", "UUID"):
        return "string"
    if base in ("DATE", "DATETIME") or base.startswith("TIMESTAMP"):
        return "date"
    if base in ("BOOLEAN", "BOOL", "LOGICAL"):
        return "bool"
    return "other"


def _fail(tok: _Tok, what: str) -> FilterError:
    near = "the end of the filter" if tok.kind == "end" else repr(tok.text[:40])
    return FilterError(f"audience filter, position {tok.pos} ({near}): {what}")


def _tokenize(expr: str) -> list[_Tok]:
    if not isinstance(expr, str) or not expr.strip():
        raise FilterError("audience filter is empty: write e.g. \"recency_days > 90\"")
    if len(expr) > MAX_LENGTH:
        raise FilterError(f"audience filter is {len(expr):,} characters long; at most "
                          f"{MAX_LENGTH:,} are allowed (save smaller audiences and combine them)")
    toks: list[_Tok] = []
    i = 0
    while i < len(expr):
        m = _TOKEN.match(expr, i)
        if m is None:
            hint = " (unterminated text: close it with a quote)" if expr[i] in "'\"" else ""
            raise _fail(_Tok("char", expr[i], i + 1), f"unexpected character{hint}")
        if m.lastgroup != "ws":
            toks.append(_Tok(m.lastgroup or "", m.group(), i + 1))
        i = m.end()
    toks.append(_Tok("end", "", len(expr) + 1))
    return toks


class _Parser:
    def __init__(self, expr: str, schema: Mapping[str, str] | None) -> None:
        self.toks = _tokenize(expr)
        self.i = 0
        self.depth = 0
        self.schema = schema
        self.lower = {} if schema is None else {c.lower(): c for c in schema}

    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def is_kw(self, word: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "name" and tok.text.lower() == word

    def take(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, text: str, what: str) -> _Tok:
        tok = self.peek()
        if tok.text.lower() != text or tok.kind == "string":
            raise _fail(tok, f"expected {what}")
        return self.take()

    def parse(self) -> _Node:
        node = self.chain("or")
        if self.peek().kind != "end":
            raise _fail(self.peek(), "expected 'and', 'or' or the end of the filter")
        return node

    def chain(self, op: str) -> _Node:
        """``and``s joined by ``or`` (op "or"), or ``unary``s joined by ``and``."""
        sub = (lambda: self.chain("and")) if op == "or" else self.unary
        items = [sub()]
        while self.is_kw(op) and self.take():
            items.append(sub())
        return items[0] if len(items) == 1 else _Bool(op, tuple(items))

    def unary(self) -> _Node:
        tok = self.peek()
        if (not self.is_kw("not") and tok.text != "(") or tok.kind == "string":
            return self.predicate()
        self.depth += 1  # brackets and 'not's nest (the recursion is bounded by them)
        if self.depth > MAX_DEPTH:
            raise _fail(tok, f"filter nested more than {MAX_DEPTH} levels deep")
        self.take()
        if tok.text == "(":
            node = self.chain("or")
            self.expect(")", f"')' to close the '(' of position {tok.pos}")
        else:
            node = _Bool("not", (self.unary(),))
        self.depth -= 1
        return node

    def column(self) -> tuple[str, _Tok]:
        tok = self.peek()
        if tok.kind != "name" or tok.text.lower() in _KEYWORDS:
            raise _fail(tok, "expected a column name")
        self.take()
        name = tok.text
        if self.schema is None:
            return ALIASES.get(name.lower(), name), tok
        if name in self.schema:
            return name, tok
        if name.lower() in self.lower:
            return self.lower[name.lower()], tok
        target = ALIASES.get(name.lower())
        if target is not None and target in self.schema:
            return target, tok
        known = sorted(set(self.schema) | {a for a, t in ALIASES.items() if t in self.schema})
        close = difflib.get_close_matches(name.lower(), known, n=4, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else \
            "; `insightloop audiences columns` lists the columns a filter can use"
        raise _fail(tok, f"unknown column {name!r}{hint}")

    def predicate(self) -> _Pred:
        col, ctok = self.column()
        tok = self.peek()
        if tok.kind == "op":
            self.take()
            return self.check(_Pred(col, ctok, "!=" if tok.text == "<>" else tok.text,
                                    (self.literal(),)))
        negate = self.is_kw("not") and any(self.is_kw(w, 1) for w in
                                           ("in", "between", "contains"))
        if negate:
            self.take()
        prefix = "not " if negate else ""
        if self.is_kw("in") and self.take():
            self.expect("(", "'(' after 'in'")
            lits = [self.literal()]
            while self.peek().text == ",":
                self.take()
                if len(lits) >= MAX_IN_ITEMS:
                    raise _fail(self.peek(), f"an 'in' list holds at most {MAX_IN_ITEMS:,} "
                                             "values (save an audience per list instead)")
                lits.append(self.literal())
            self.expect(")", "',' or ')' in the 'in' list")
            return self.check(_Pred(col, ctok, prefix + "in", tuple(lits)))
        if self.is_kw("between") and self.take():
            low = self.literal()
            self.expect("and", "'and' between the two bounds of 'between'")
            return self.check(_Pred(col, ctok, prefix + "between", (low, self.literal())))
        if self.is_kw("contains") and self.take():
            return self.check(_Pred(col, ctok, prefix + "contains", (self.literal(),)))
        if self.is_kw("is") and not negate and self.take():
            op = "is not null" if self.is_kw("not") and self.take() else "is null"
            self.expect("null", "'null' after 'is'" if op == "is null" else "'null'")
            return _Pred(col, ctok, op, ())
        raise _fail(tok, "expected an operator (=, !=, <, <=, >, >=, in, not in, between, "
                         "is null, contains) after the column")

    def literal(self) -> _Lit:
        tok = self.take()
        if tok.kind == "number":
            num = float(tok.text)
            if not math.isfinite(num):
                raise _fail(tok, "number out of range")
            if not re.fullmatch(r"-?\d+", tok.text) or abs(num) >= 2 ** 63:
                return _Lit("number", num, tok)
            return _Lit("number", int(tok.text), tok)
        if tok.kind == "string":
            text = tok.text[1:-1].replace(tok.text[0] * 2, tok.text[0])
            if "\x00" in text or text != text.encode("utf-8", "replace").decode():
                raise _fail(tok, "text contains a NUL character or invalid Unicode")
            return _Lit("string", text, tok)
        word = tok.text.lower() if tok.kind == "name" else ""
        if word in ("true", "false"):
            return _Lit("bool", word == "true", tok)
        if word == "date":
            text_tok = self.take()
            if text_tok.kind != "string":
                raise _fail(text_tok, "expected 'YYYY-MM-DD' after date")
            return _Lit("date", _parse_date(text_tok), text_tok)
        raise _fail(tok, "expected a value (a number, 'text', true, false or "
                         "date 'YYYY-MM-DD')")

    def check(self, pred: _Pred) -> _Pred:
        if self.schema is None:
            return pred
        ctype = self.schema[pred.column]
        kind = column_kind(ctype)
        op = pred.op
        if kind in ("string", "bool") and (op in ("<", "<=", ">", ">=") or "between" in op):
            raise _fail(pred.tok, f"{op!r} cannot compare {kind} column {pred.column!r} "
                                  "(use =, !=, in" + (", contains)" if kind == "string" else ")"))
        if op.endswith("contains") and kind != "string":
            raise _fail(pred.tok, f"'contains' needs a text column; {pred.column!r} is {ctype}")
        return _Pred(pred.column, pred.tok, op,
                     tuple(_coerce(lit, kind, pred, ctype) for lit in pred.lits))


def _parse_date(tok: _Tok) -> dt.date:
    try:
        return dt.date.fromisoformat(_ISO_DATE.fullmatch(tok.text[1:-1])[0])  # type: ignore[index]
    except (TypeError, ValueError):
        raise _fail(tok, "not a date: write date 'YYYY-MM-DD'") from None


def _coerce(lit: _Lit, kind: Kind, pred: _Pred, ctype: str) -> _Lit:
    """``lit`` checked against a column of ``kind`` (a date may be written as plain text)."""
    if kind == "other":
        raise _fail(pred.tok, f"column {pred.column!r} of type {ctype} can only be tested "
                              "with 'is null' / 'is not null'")
    if kind == "date" and lit.kind == "string":
        return _Lit("date", _parse_date(lit.tok), lit.tok)
    if lit.kind != kind:
        written = {"number": "a number", "string": "'text'", "date": "date 'YYYY-MM-DD'",
                   "bool": "true or false"}
        raise _fail(lit.tok, f"column {pred.column!r} is {ctype} ({kind}), so compare it with "
                             f"{written[kind]}, not {written[lit.kind]}")
    return lit


def _sql(node: _Node, params: list[Any], columns: dict[str, None]) -> str:
    if isinstance(node, _Bool):
        if node.op == "not":
            return f"(NOT {_sql(node.items[0], params, columns)})"
        joined = f" {node.op.upper()} ".join(_sql(item, params, columns) for item in node.items)
        return f"({joined})"
    columns[node.column] = None
    col = ident(node.column)
    text = any(lit.kind == "string" for lit in node.lits)
    target = f"lower({col})" if text else col
    ph = "lower(?)" if text else "?"
    params.extend(lit.value for lit in node.lits)
    op = node.op
    if op in ("is null", "is not null"):
        return f"({col} {op.upper()})"
    if op.endswith("in"):
        return f"({target} {op.upper()} ({', '.join([ph] * len(node.lits))}))"
    if op.endswith("between"):
        return f"({target} {op.upper()} ? AND ?)"
    if op.endswith("contains"):
        neg = "NOT " if op.startswith("not") else ""
        return f"({neg}contains({target}, {ph}))"
    return f"({target} {op} {ph})"


def _render_lit(lit: _Lit) -> str:
    if lit.kind == "string":
        return "'" + str(lit.value).replace("'", "''") + "'"
    if lit.kind == "date":
        return f"date '{lit.value.isoformat()}'"
    if lit.kind == "bool":
        return "true" if lit.value else "false"
    return repr(lit.value)


def _render(node: _Node, parent: str = "or") -> str:
    if isinstance(node, _Pred):
        if node.op.endswith("in"):
            return f"{node.column} {node.op} ({', '.join(_render_lit(x) for x in node.lits)})"
        if node.op.endswith("between"):
            low, high = (_render_lit(x) for x in node.lits)
            return f"{node.column} {node.op} {low} and {high}"
        return " ".join([node.column, node.op, *(_render_lit(x) for x in node.lits)])
    if node.op == "not":
        return "not " + _render(node.items[0], "not")
    text = f" {node.op} ".join(_render(item, node.op) for item in node.items)
    # 'and' binds tighter than 'or'; under 'not' or inside an 'and' a group needs brackets
    return f"({text})" if parent == "not" or (parent == "and" and node.op == "or") else text


def compile_filter(expr: str, schema: Mapping[str, str]) -> CompiledFilter:
    """``expr`` as parameterised SQL over the columns of ``schema`` (name -> DuckDB type);
    :class:`FilterError` (exit 2) naming the position and token of the first problem."""
    params: list[Any] = []
    columns: dict[str, None] = {}
    sql = _sql(_Parser(expr, schema).parse(), params, columns)
    return CompiledFilter(sql=sql, params=tuple(params), columns=tuple(columns))


def render_filter(expr: str, schema: Mapping[str, str] | None = None) -> str:
    """The canonical text of ``expr``: lower-case keywords, aliases resolved, minimal
    brackets, text in single quotes (what a saved audience stores); checked against
    ``schema`` when one is given."""
    return _render(_Parser(expr, schema).parse())
