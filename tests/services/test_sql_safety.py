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

from contexts import ctx_of
from insightloop.cli.main import main
from insightloop.errors import (
    ConfigError,
    InputFileError,
    InsightloopError,
    NotFoundError,
    SchemaError,
)
from insightloop.models.clv.data import summary_from_transactions
from insightloop.services import customers as cust
from insightloop.services.clv import read_transactions
from insightloop.services.evaluation import read_table_file, split_target
from insightloop.services.profiles import get_profile, refresh_customer_360
from insightloop.services.recommend import load_recommender, long_frame, read_interactions_file
from insightloop.services.registry import load_model, parse_ref, read_metadata
from insightloop.services.scoring import explain_customer
from insightloop.services.segments import show_segments
from insightloop.services.sentiment import (
    PACKAGED_FILES,
    load_sentiment_model,
    product_insights,
    read_labelled,
    satisfaction,
)
from insightloop.settings import Settings
from insightloop.storage.sql import MAX_IDENT_CHARS, UnsafeSqlError
from insightloop.storage.warehouse import Warehouse, write_frame
from serving_helpers import copy_warehouse
from sql_safety_helpers import TEN_KB, fingerprint, hostile_text, with_classics

FAST = settings(max_examples=20, deadline=None, derandomize=True, database=None,
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
        page = cust.list_customers(ctx_of(demo), limit=1000, **filters)
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
        page = cust.list_customers(ctx_of(demo), limit=1000, id_prefix=prefix)
        expected = c360["customer_id"].astype(str).str.startswith(prefix)
        assert page["total"] == int(expected.sum())

    unchanged(demo, check)
    assert cust.list_customers(ctx_of(demo), id_prefix="%")["total"] == 0  # not a LIKE pattern


def test_min_monetary_and_segment_id(demo: Settings, c360: pd.DataFrame) -> None:
    @FAST
    @given(low=st.floats(allow_nan=False, allow_infinity=True),
           segment=st.integers(min_value=-(2**63), max_value=2**63 - 1))
    def check(low: float, segment: int) -> None:
        total = cust.list_customers(ctx_of(demo), min_monetary=low)["total"]
        assert total == int((c360["monetary"] >= low).sum())
        try:
            page = cust.segment_members(ctx_of(demo), segment)
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
            cust.list_customers(ctx_of(demo), sort=sort)

    unchanged(demo, check)
    first = cust.list_customers(ctx_of(demo), sort="monetary", descending=True, limit=1)["items"][0]
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
            cust.customer_profile(ctx_of(demo), cid)
        with pytest.raises(NotFoundError):
            get_profile(ctx_of(demo), cid)
        assert cust.customer_reviews(ctx_of(demo), cid) == []

    unchanged(demo, check)
    some = str(c360["customer_id"].iloc[0])
    assert cust.customer_profile(ctx_of(demo), some)["customer_id"] == some


def test_satisfaction_by_and_product_insights(demo: Settings) -> None:
    @settings(max_examples=25, deadline=None, derandomize=True, database=None)
    @given(text=hostile_text())
    def check(text: str) -> None:
        with pytest.raises(SchemaError, match="by must be one of"):
            satisfaction(ctx_of(demo), by=text)
        with pytest.raises(NotFoundError, match="has no scored reviews"):
            product_insights(ctx_of(demo), text)

    unchanged(demo, check)


def test_recommender_ids_and_history(demo: Settings) -> None:
    server = load_recommender(ctx_of(demo))
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
        if ref not in ("default", *PACKAGED_FILES):  # a sentiment model is a name or a file
            with pytest.raises((NotFoundError, InputFileError)):
                load_sentiment_model(ctx_of(demo), ref)

    unchanged(demo, check)
    for ref in ("churn\n", "churn\n:1", "../churn", "churn/../../x"):
        with pytest.raises(ConfigError, match="invalid model name"):
            parse_ref(ref)
    with pytest.raises(InputFileError, match="is not a sentiment model file"):
        load_sentiment_model(ctx_of(demo), str(demo.warehouse))


@pytest.mark.parametrize("cid", ["'; DROP TABLE orders; --", TEN_KB, "a\x00b", "中文\n🙂"])
def test_explain_hostile_customer_is_not_found(demo: Settings, cid: str) -> None:
    before = fingerprint(demo.warehouse)
    with pytest.raises(NotFoundError, match="has no orders before the as-of date"):
        explain_customer(ctx_of(demo), "churn", cid)
    assert fingerprint(demo.warehouse) == before


def test_segments_show_is_unchanged(demo: Settings) -> None:
    unchanged(demo, lambda: show_segments(ctx_of(demo)))


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
        # Column names from data: the clv columns the declared pattern
        # ``expected_purchases_*`` takes in (it is named after the horizon).
        clv = pd.DataFrame({"customer_id": ids,
                            **{f"expected_purchases_{c}": [1.0, 2.0, 3.0] for c in columns}})
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
            assert view[f"clv_expected_purchases_{c}"].iloc[0] == 2.0
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


# -- CLI entries that take a name --------------------------------------------------------------
# The hostile name goes last: after "--" for an argument, glued to its option otherwise.
CLI_ENTRIES = [
    ["profile", "--"], ["recommend", "show", "--"], ["similar", "--"], ["models", "show", "--"],
    ["score", "--"], ["sentiment", "show", "--by="], ["sentiment", "show", "--product="],
]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("entry", CLI_ENTRIES, ids=" ".join)
def test_cli_names_give_a_result_or_one_line(demo: Settings, entry: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @with_classics
    @given(name=hostile_text())
    def check(name: str) -> None:
        *command, last = entry
        tail = ["--", name] if last == "--" else [last + name]
        code, err = _cli([*command, "--warehouse", str(demo.warehouse), "--json", *tail],
                         capsys)
        assert code in (0, 1, 2), err  # 2: bad input or a value outside the choices
        assert "Traceback" not in err
        if code:
            assert len(err.strip().splitlines()) == 1, err[:500]
            assert any(kind in err for kind in ("NotFoundError", "ConfigError", "SchemaError",
                                                "usage_error")
                       ), err[:500]  # an error raised on purpose, not a crash

    unchanged(demo, check)


@pytest.mark.parametrize("cid", ["x'; DROP TABLE orders; --", "a\nb"])
def test_cli_explain_and_segments_show(demo: Settings, cid: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    before = fingerprint(demo.warehouse)
    code, err = _cli(["explain", "--warehouse", str(demo.warehouse), "--", cid], capsys)
    assert code == 1 and "NotFoundError" in err and "has no orders before" in err
    assert len(err.strip().splitlines()) == 1
    assert _cli(["segments", "show", "--warehouse", str(demo.warehouse), "--json"],
                capsys)[0] == 0
    assert fingerprint(demo.warehouse) == before


# -- user files read by `evaluate` commands: header names and column options -------------------
def _file_names(count: int) -> st.SearchStrategy[list[str]]:
    """Header names a CSV can carry: no NUL, no outer spaces or BOM (the readers strip them)."""
    name = hostile_text(4).filter(lambda s: "\x00" not in s and s == s.strip() != ""
                                  and not s.startswith("\ufeff") and len(s) < 2000)
    return st.lists(name, min_size=count, max_size=count, unique_by=str.casefold)


TRANSACTIONS = pd.DataFrame({
    "c": ["a", "a", "a", "b", "b", "c"],
    "t": ["2024-01-01", "2024-01-08", "2024-02-01", "2024-01-03", "2024-03-01", "2024-02-10"],
    "m": [10.0, 20.0, 30.0, 5.0, 7.0, 1.0],
})


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=_file_names(3))
def test_clv_file_columns_are_names_not_code(tmp_path: Path, names: list[str]) -> None:
    customer, time_col, amount = names
    path = tmp_path / "tx.csv"
    TRANSACTIONS.set_axis(names, axis=1).to_csv(path, index=False)
    df = read_transactions(path, names, sep=",", time_col=time_col)
    got = summary_from_transactions(df, customer, time_col, amount, "2024-03-31")
    clean = TRANSACTIONS.assign(t=pd.to_datetime(TRANSACTIONS["t"]))
    want = summary_from_transactions(clean, "c", "t", "m", "2024-03-31")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    try:  # a sniffed delimiter may be fooled by the names: then a clear error, not a crash
        read_transactions(path, names, time_col=time_col)
    except (SchemaError, InputFileError) as exc:
        assert "column" in str(exc) or "cannot read" in str(exc)


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=_file_names(3))
def test_labelled_and_table_files_keep_hostile_headers(tmp_path: Path, names: list[str]
                                                       ) -> None:
    text, label, other = names
    frame = pd.DataFrame({text: ["good", "bad", "fine"], label: ["positive", "0", "1"],
                          other: [1, 2, 3]})
    path = tmp_path / "labelled.csv"
    frame.to_csv(path, index=False)
    texts, y = read_labelled(path, text, label)
    assert texts == ["good", "bad", "fine"] and y.tolist() == [1, 0, 1]
    with pytest.raises(InputFileError, match="no column"):
        read_labelled(path, text + "'", label)
    parquet = tmp_path / "table.parquet"
    frame.to_parquet(parquet)
    X, target = split_target(read_table_file(parquet), label, drop=[other])
    assert list(X.columns) == [text] and target.tolist() == ["positive", "0", "1"]
    with pytest.raises(SchemaError, match="is not in the data"):
        split_target(frame, label + '"; --')


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=_file_names(3))
def test_interaction_file_columns_are_names_not_code(tmp_path: Path, names: list[str]) -> None:
    user, item, time_col = names
    clean = pd.DataFrame({"u": ["a", "a", "b", "b", "a"], "i": ["x", "y", "x", "x", "x"],
                          "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
                                               "2024-01-04", "2024-01-05"])})
    want = long_frame(clean, "u", "i", "t", half_life_days=7.0)
    parquet = tmp_path / "interactions.parquet"
    clean.set_axis(names, axis=1).to_parquet(parquet)
    got = long_frame(read_interactions_file(parquet), user, item, time_col, half_life_days=7.0)
    pd.testing.assert_frame_equal(got, want)
    csv = tmp_path / "interactions.csv"
    clean.set_axis(names, axis=1).to_csv(csv, index=False)
    try:  # the sniffed delimiter may be fooled by the names: then a clear error
        raw = read_interactions_file(csv)
    except InputFileError:
        return
    if {user, item, time_col} <= set(map(str, raw.columns)):
        got = long_frame(raw, user, item, time_col, half_life_days=7.0)
        pd.testing.assert_frame_equal(got, want)
