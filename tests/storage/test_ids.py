"""Id normalisation: known answers, and the SQL form agreeing with the Python form."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.storage.ids import id_sql, normalize_id


@pytest.mark.parametrize(("raw", "expected"), [
    ("17850.0", "17850"), (" 17850.000 ", "17850"), ("17850.05", "17850.05"),
    ("17850.50", "17850.50"), (".0", ".0"), ("A.0B", "A.0B"), ("85123A", "85123A"),
    ("0.0", "0"), ("1.0.0", "1.0"), ("1.00\n", "1.00\n"), ("\u3000A1.0\xa0", "A1"),
    ("\t1.0", "\t1"),
])
def test_known_answers(raw: str, expected: str) -> None:
    assert normalize_id(raw) == expected


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.one_of(
    st.text(alphabet=st.sampled_from(" \t\n\xa0\u3000\u2028.0A1é"), max_size=8),
    st.text(max_size=12),
    st.from_regex(r"\A ?[0-9A-Z.]{0,6}(\.0{1,3})? ?\Z"),
), min_size=1, max_size=20))
def test_sql_form_agrees_with_python(values: list[str]) -> None:
    values = [v.replace("\x00", "") for v in values]
    with duckdb.connect() as con:
        got = [r[0] for r in con.execute(
            f"SELECT {id_sql('v')} FROM unnest(?) WITH ORDINALITY t(v, i) ORDER BY i",
            [values]).fetchall()]
    assert got == [normalize_id(v) for v in values]
