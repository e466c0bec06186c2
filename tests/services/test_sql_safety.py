"""Hostile names and values at every service entry that reaches SQL: known answers, no changes.

Each property test throws quotes, semicolons, comments, newlines, NUL, unicode and 10 KB
strings (``sql_safety_helpers.hostile_text``) at one entry of the demo warehouse and checks
that the answer is the one computed independently in pandas (or a clear
``InsightloopError``), then that the warehouse fingerprint (content hash of every table,
columns, views, macros, attached databases) is exactly what it was.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from insightloop.errors import ConfigError, InsightloopError, NotFoundError, SchemaError
from insightloop.services import customers as cust
from insightloop.services.profiles import get_profile, refresh_customer_360
from insightloop.services.recommend import load_recommender
from insightloop.services.registry import load_model, parse_ref, read_metadata
from insightloop.services.scoring import explain_customer
from insightloop.services.segments import show_segments
from insightloop.services.sentiment import product_insights, satisfaction
from insightloop.settings import Settings
from insightloop.storage.sql import MAX_IDENT_CHARS, UnsafeSqlError
from insightloop.storage.warehouse import Warehouse, write_frame
from serving_helpers import copy_warehouse
from sql_safety_helpers import TEN_KB, fingerprint, hostile_text, with_classics

FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def demo(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return copy_warehouse(demo_warehouse, tmp_path_factory.mktemp("sqlsafe") / "wh")


@pytest.fixture(scope="module")
def c360(demo: Settings) -> pd.DataFrame:
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        return con.execute("SELECT customer_id, rfm_segment, value_tier, country, monetary, "
                           "segment_id FROM customer_360").df()


def unchanged(settings_: Settings, run: Callable[[], Any]) -> None:
    before = fingerprint(settings_.warehouse)
    run()
    assert fingerprint(settings_.warehouse) == before


def real_or_hostile(values: pd.Series) -> st.SearchStrategy[str]:
    return st.one_of(hostile_text(), st.sampled_from(sorted(values.dropna().astype(str).unique())))


@pytest.mark.parametrize("column", ["rfm_segment", "value_tier", "country"])
def test_list_filters_match_pandas(demo: Settings, c360: pd.DataFrame, column: str) -> None:
    @FAST
    @with_classics
    @given(value=real_or_hostile(c360[column]))
    def check(value: str) -> None:
        filters: dict[str, Any] = {column: value}
        page = cust.list_customers(demo, limit=1000, **filters)
        expected = c360.loc[c360[column] == value, "customer_id"]
        assert page["total"] == len(expected)
        assert sorted(r["customer_id"] for r in page["items"]) == sorted(expected)

    unchanged(demo, check)


def test_id_prefix_is_a_literal_prefix(demo: Settings, c360: pd.DataFrame) -> None:
    prefixes = st.one_of(hostile_text(), st.sampled_from(["1", "17", "178", "%", "_", "1%"]))

    @FAST
    @with_classics
    @given(prefix=prefixes)
    def check(prefix: str) -> None:
        page = cust.list_customers(demo, limit=1000, id_prefix=prefix)
        expected = c360["customer_id"].astype(str).str.startswith(prefix)
        assert page["total"] == int(expected.sum())

    unchanged(demo, check)
    assert cust.list_customers(demo, id_prefix="%")["total"] == 0  # not a LIKE pattern


def test_min_monetary_and_segment_id(demo: Settings, c360: pd.DataFrame) -> None:
    @FAST
    @given(low=st.floats(allow_nan=False, allow_infinity=True),
           segment=st.integers(min_value=-(2**63), max_value=2**63 - 1))
    def check(low: float, segment: int) -> None:
        total = cust.list_customers(demo, min_monetary=low)["total"]
        assert total == int((c360["monetary"] >= low).sum())
        try:
            page = cust.segment_members(demo, segment)
        except NotFoundError:
            assert segment not in set(c360["segment_id"])
        else:
            assert page["total"] == int((c360["segment_id"] == segment).sum())

    unchanged(demo, check)


def test_sort_accepts_only_known_columns(demo: Settings, c360: pd.DataFrame) -> None:
    @FAST
    @given(sort=hostile_text())
    def check(sort: str) -> None:
        assume(sort not in cust.SORT_COLUMNS)
        with pytest.raises(ConfigError, match="sort must be one of"):
            cust.list_customers(demo, sort=sort)

    unchanged(demo, check)
    first = cust.list_customers(demo, sort="monetary", descending=True, limit=1)["items"][0]
    assert first["customer_id"] == c360.loc[c360["monetary"].idxmax(), "customer_id"]


def test_customer_lookups_find_nothing_for_hostile_ids(demo: Settings, c360: pd.DataFrame
                                                       ) -> None:
    known = set(c360["customer_id"].astype(str))

    @FAST
    @with_classics
    @given(cid=hostile_text())
    def check(cid: str) -> None:
        assume(cid not in known)
        with pytest.raises(NotFoundError):
            cust.customer_profile(demo, cid)
        with pytest.raises(NotFoundError):
            get_profile(demo, cid)
        assert cust.customer_reviews(demo, cid) == []

    unchanged(demo, check)
    some = str(c360["customer_id"].iloc[0])
    assert cust.customer_profile(demo, some)["customer_id"] == some


def test_satisfaction_by_and_product_insights(demo: Settings) -> None:
    @settings(max_examples=25, deadline=None, derandomize=True, database=None)
    @given(text=hostile_text())
    def check(text: str) -> None:
        with pytest.raises(SchemaError, match="by must be one of"):
            satisfaction(demo, by=text)
        with pytest.raises(NotFoundError, match="has no scored reviews"):
            product_insights(demo, text)

    unchanged(demo, check)


def test_recommender_ids_and_history(demo: Settings) -> None:
    server = load_recommender(demo)
    known_items = set(map(str, server.item_ids))

    @FAST
    @given(cid=hostile_text(), history=st.lists(hostile_text(), max_size=5),
           pid=hostile_text())
    def check(cid: str, history: list[str], pid: str) -> None:
        out = server.recommend(cid, n=5, history=history)
        assert out["customer_id"] == cid
        assert out["source"] in ("model", "cold_start:popularity", "cold_start:content")
        assert 0 < len(out["items"]) <= 5
        assert {i["product_id"] for i in out["items"]} <= known_items
        if pid not in known_items:
            with pytest.raises(NotFoundError, match="unknown product"):
                server.similar_items(pid)

    unchanged(demo, check)


def test_model_names_are_checked_before_any_path_or_sql(demo: Settings) -> None:
    @FAST
    @given(ref=hostile_text())
    def check(ref: str) -> None:
        assume(ref.partition(":")[0] != "churn")
        try:
            name, _ = parse_ref(ref)
        except ConfigError:
            pass
        else:  # a plain name: letters, digits, '_', '-', '.' and nothing else
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name)
        for call in (load_model, read_metadata):
            with pytest.raises((ConfigError, NotFoundError)):
                call(demo, ref)

    unchanged(demo, check)
    for ref in ("churn\n", "churn\n:1", "../churn", "churn/../../x"):
        with pytest.raises(ConfigError, match="invalid model name"):
            parse_ref(ref)


@pytest.mark.parametrize("cid", ["'; DROP TABLE orders; --", TEN_KB, "a\x00b", "中文\n🙂"])
def test_explain_hostile_customer_is_not_found(demo: Settings, cid: str) -> None:
    before = fingerprint(demo.warehouse)
    with pytest.raises(NotFoundError, match="has no orders before the as-of date"):
        explain_customer(demo, "churn", cid)
    assert fingerprint(demo.warehouse) == before


def test_segments_show_is_unchanged(demo: Settings) -> None:
    unchanged(demo, lambda: show_segments(demo))


# -- names that come from data: enrichment columns and model names in customer_360 ----------
def _unique_names() -> st.SearchStrategy[list[str]]:
    # NUL and names over the helper's limit are refused: see the test after this one.
    name = hostile_text(4).filter(lambda s: "\x00" not in s and s.strip() != ""
                                  and len(s) < MAX_IDENT_CHARS - 10)
    return st.lists(name, min_size=1, max_size=3, unique_by=str.casefold)


@pytest.fixture()
def small(sample_warehouse: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    return Settings.load(warehouse=path, env={})


def test_customer_360_quotes_column_and_model_names(small: Settings) -> None:
    wh = Warehouse.from_settings(small)
    with wh.connect(read_only=True) as con:
        ids = [r[0] for r in con.execute("SELECT customer_id FROM profiles ORDER BY 1 LIMIT 3")
               .fetchall()]
        tables_before = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()")
                         .fetchall()}
    orders_before = fingerprint(small.warehouse)["table:orders"]

    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(columns=_unique_names(), models=_unique_names())
    def check(columns: list[str], models: list[str]) -> None:
        clv = pd.DataFrame({"customer_id": ids, **{f"x{c}": [1.0, 2.0, 3.0] for c in columns}})
        scores = pd.DataFrame({"customer_id": ids * len(models),
                               "model": [m for m in models for _ in ids],
                               "score": 0.5, "version": 1, "reasons": "r"})
        with wh.transaction() as con:
            write_frame(con, "clv", clv, replace=True)
            write_frame(con, "scores", scores, replace=True)
            refresh_customer_360(con)
        with wh.connect(read_only=True) as con:
            view = con.execute("SELECT * FROM customer_360 WHERE customer_id = ?",
                               [ids[1]]).df()
            tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()")
                      .fetchall()}
        for c in columns:
            assert view[f"clv_x{c}"].iloc[0] == 2.0
        for m in models:
            assert view[f"{m}_score"].iloc[0] == 0.5
        assert tables == tables_before | {"clv", "scores"}
        assert fingerprint(small.warehouse)["table:orders"] == orders_before

    check()


@pytest.mark.parametrize(("model", "message"), [("a\x00b", "NUL"), (TEN_KB, "too long")])
def test_unusable_data_name_is_refused_not_run(small: Settings, model: str, message: str
                                               ) -> None:
    wh = Warehouse.from_settings(small)
    with wh.connect(read_only=True) as con:
        cid = con.execute("SELECT min(customer_id) FROM profiles").fetchone()[0]  # type: ignore[index]
    before = fingerprint(small.warehouse)
    scores = pd.DataFrame({"customer_id": [cid], "model": [model], "score": 0.5,
                           "version": 1, "reasons": "r"})
    with pytest.raises(UnsafeSqlError, match=message), wh.transaction() as con:
        write_frame(con, "scores", scores, replace=True)
        refresh_customer_360(con)
    assert fingerprint(small.warehouse) == before  # the transaction rolled back
    assert issubclass(UnsafeSqlError, InsightloopError)
