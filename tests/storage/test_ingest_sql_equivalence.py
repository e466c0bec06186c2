"""The cheap SQL of the typed build equals the expressions it replaced, value for value.

``storage/ingest_sql.py`` spares regular expressions, ``trim`` and ``TRY_STRPTIME`` where a
cheaper test shows they cannot change the value (issue 20: ingest near DuckDB's own load).
Each shortcut is compared here with the plain expression on the same values: a corpus of
edge cases written by hand plus 40,000 seeded random strings built from the characters
dates, ids and blanks are made of (digits, separators, offsets, tabs, line breaks,
non-breaking and ideographic spaces, accented letters).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import duckdb
import pytest

from insightloop.storage.dates import DAY_FIRST, MONTH_FIRST
from insightloop.storage.ids import id_sql
from insightloop.storage.ingest_sql import (
    ISO_START_RE,
    OFFSET_RE,
    _typed_expr,
    _utc_expr,
    fast_strptime_sql,
    iso_sql,
    strptime_sql,
    trim_sql,
)
from insightloop.storage.presets import get_preset
from insightloop.storage.schema import table_spec
from insightloop.storage.sql import literal

HAND = [
    "", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "a", " a", "a ", " a ", "\ta\t", "é ", " é",
    "\u00a0x\u00a0", "x\u3000", "5.0", "5.00", "5.000", ".0", "..0", "1.0.0", "x.0", "\n.0",
    "a\n.0", "\r.0", "é.0", "170.0", "17850.0", "17800", "100", "0.0", "00", "C536365", "536365",
    "2010-12-01 08:26:00", "2010-12-01T08:26:00", "2010-12-01 08:26", "2010-12-01",
    "2010-12-1 8:26", "2010/12/01 08:26:00", " 2010-12-01 08:26:00", "2010-12-01 08:26:00 ",
    "2011-01-01 10:00:00+05:00", "2011-01-01 10:00:00Z", "2011-01-01 10:00:00z",
    "2011-01-01 10:00-05", "2011-01-01 10:00:00 +0530", "2011-01-01 10:00:00.123+01",
    "2011-02-29 10:00:00", "2012-02-29 10:00:00", "2010-13-01 00:00:00", "2010-12-01 24:00:00",
    "2010-12-01 23:60:00", "0000-01-01 00:00:00", "0999-01-01", "12/1/2010 8:26",
    "12/01/2010 08:26", "1/2/10", "01/02/2010", "31/12/2010 23:59", "2/29/2011 8:26",
    "2/29/2012 8:26", "12/1/2010 24:00", "12/1/2010 8:60", "12/1/2010 8:5", "12/1/2010 8:26:07",
    "12/1/2010  8:26", "12/1/0999 8:26", "12-1-2010 8:26", "12.1.2010 8:26", "12/1/2010T8:26",
    "1.2.2010 10:11:12", "01.02.2010", "2010", "20101201", "12/1/2010 8:26 PM", "x2010-12-01",
    "99-12-01", "9999-12-31 23:59:59", "+2010-12-01",
]
ALPHABET = "0123456789" * 4 + "/-.:T Z+z" + " \t\n\u00a0\u3000é" + "aC"


def _random_values(n: int, seed: int = 20) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        if i % 3 == 1:  # noise from the characters dates and ids are made of
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 22))))
            continue
        if i % 3 == 2:  # plausible dates (years 1890-2030, months 0-13, days 0-32)
            y, m, d = rng.randint(1890, 2030), rng.randint(0, 13), rng.randint(0, 32)
            y_text = str(y) if rng.random() < 0.8 else str(y)[2:]
            m_text, d_text = (str(v).zfill(rng.randint(1, 2)) for v in (m, d))
            sep = rng.choice("/-.")
            first = [m_text, d_text] if rng.random() < 0.5 else [d_text, m_text]
            text = (sep.join([y_text, m_text, d_text]) if rng.random() < 0.3
                    else sep.join([*first, y_text]))
            if rng.random() < 0.8:
                text += rng.choice([" ", "T"]) + str(rng.randint(0, 24)).zfill(rng.randint(1, 2))
                text += ":" + str(rng.randint(0, 60)).zfill(2)
                if rng.random() < 0.4:
                    text += ":" + str(rng.randint(0, 60)).zfill(2)
            out.append(text)
            continue
        # date-like: fields of 1-4 digits with separators, sometimes a time, an offset,
        # a blank around
        sep = rng.choice("/-.")
        fields = [str(rng.randint(0, 10 ** rng.randint(1, 4) - 1)).zfill(rng.randint(1, 4))
                  for _ in range(3)]
        text = sep.join(fields)
        if rng.random() < 0.7:
            hh, mm, ss = (str(rng.randint(0, 61)).zfill(rng.randint(1, 2)) for _ in range(3))
            text += rng.choice([" ", "T", "  "]) + hh + ":" + mm
            if rng.random() < 0.5:
                text += ":" + ss
            if rng.random() < 0.2:
                text += rng.choice(["Z", "+05:00", "-0530", " +01", "z", " PM"])
        if rng.random() < 0.1:
            text = rng.choice([" ", "\t", "\u00a0"]) + text
        if rng.random() < 0.1:
            text += rng.choice([" ", "\n", "\u3000"])
        out.append(text)
    return out


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    values = HAND + _random_values(40_000)
    c.execute("CREATE TABLE v AS SELECT unnest(?::VARCHAR[]) AS x", [values])
    return c


def _differences(con: duckdb.DuckDBPyConnection, fast: str, plain: str,
                 where: str = "true") -> list[tuple[str, object, object]]:
    return con.execute(f"SELECT x, {fast}::VARCHAR, {plain}::VARCHAR FROM v WHERE {where} AND "
                       f"({fast}) IS DISTINCT FROM ({plain}) LIMIT 5").fetchall()


def test_the_corpus_has_the_cases_the_shortcuts_skip(con: duckdb.DuckDBPyConnection) -> None:
    n = con.execute(f"""SELECT count(*) FILTER (WHERE x <> trim(x)),
        count(*) FILTER (WHERE x LIKE '%.0' AND trim(x) = x),
        count(*) FILTER (WHERE TRY_CAST(x AS TIMESTAMP) IS NOT NULL),
        count(*) FILTER (WHERE regexp_matches(x, {literal(OFFSET_RE)})),
        count(*) FILTER (WHERE TRY_STRPTIME(x, '%m/%d/%Y %H:%M') IS NOT NULL)
        FROM v""").fetchone()
    assert n is not None and min(n) >= 30, n  # each shortcut meets values on both sides


def test_trim_is_computed_only_where_it_changes_something(
        con: duckdb.DuckDBPyConnection) -> None:
    assert _differences(con, trim_sql("x"), "trim(x)") == []


def test_trailing_zero_ids_are_cut_as_the_regex_cuts_them(
        con: duckdb.DuckDBPyConnection) -> None:
    fast = _typed_expr(table_spec("orders").column("customer_id"), "x")
    # the typed build hands ids over trimmed (NULLIF(trim(...), ''))
    assert _differences(con, fast, id_sql("x"), "x = trim(x) AND x <> ''") == []


def test_iso_reading_equals_the_two_regex_reading(con: duckdb.DuckDBPyConnection) -> None:
    plain = (f"CASE WHEN NOT regexp_matches(x, {literal(ISO_START_RE)}) THEN NULL "
             f"WHEN regexp_matches(x, {literal(OFFSET_RE)}) THEN {_utc_expr('x')} "
             "ELSE TRY_CAST(x AS TIMESTAMP) END")
    assert _differences(con, iso_sql("x"), plain) == []


@pytest.mark.parametrize("formats", [
    get_preset("online-retail").timestamp_formats,
    ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y"),
    ("%Y/%m/%d",),
    ("%d.%m.%Y %H:%M",),
    ("%m-%d-%Y",),
    ("%Y-%m-%dT%H:%M",),
])
def test_fast_strptime_then_strptime_equals_strptime(
        con: duckdb.DuckDBPyConnection, formats: Sequence[str]) -> None:
    fast = fast_strptime_sql("x", formats[0])
    assert fast is not None
    plain = strptime_sql("x", formats)
    assert _differences(con, f"COALESCE({fast}, {plain})", plain) == []
    hits = con.execute(f"SELECT count(*) FROM v WHERE {fast} IS NOT NULL").fetchone()
    assert hits is not None and hits[0] > 0  # the fast reading is taken


@pytest.mark.parametrize("fmt", ["%m/%d/%y", "%d %b %Y", "%I:%M %p", "%Y", "%m/%m/%Y",
                                 "%Y-%m-%d %H:%M:%S.%f"])
def test_formats_the_fast_reading_cannot_take_are_left_to_strptime(fmt: str) -> None:
    assert fast_strptime_sql("x", fmt) is None


def test_named_readings_start_with_a_two_digit_year_so_go_to_strptime() -> None:
    # A 2-digit year comes first in the named readings (so "1/2/10" is not the year 10):
    # their first format has no fast reading, and the typed build leaves them to strptime.
    for reading in (DAY_FIRST, MONTH_FIRST):
        assert fast_strptime_sql("x", reading.formats[0]) is None
