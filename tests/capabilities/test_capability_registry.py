"""The capability declarations are complete and true to the code they name.

Every reference resolves to a function taking the context first and accepting the declared
parameters; every table of the demo warehouse is declared by exactly one capability (so
erasure, generated from the declarations, cannot miss one); the ``customer_360`` view built
from the declarations has the columns the hand-written joins had; the allowed parameter
values are the ones the services and models use.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import duckdb
import pytest

from insightloop import capabilities
from insightloop.api.job_params import DEMO, describe, kinds, validate_params
from insightloop.capabilities import ingest, predict, recommend
from insightloop.capabilities.spec import Params, resolve, trim
from insightloop.errors import ConfigError
from insightloop.models.recommend import MODELS
from insightloop.services import training
from insightloop.services.recommend import EMBEDDERS
from insightloop.storage.presets import PRESETS
from insightloop.storage.schema import TABLES

REFS = ([(f"job {j.kind}", j.run, j.params, ()) for j in kinds().values()]
        + [(f"check {j.kind}", j.check, j.params, ()) for j in kinds().values() if j.check]
        + [(f"stage {s.name}", s.run, Params, s.args) for s in capabilities.stages()])


@pytest.mark.parametrize(("what", "ref", "params", "args"), REFS, ids=[r[0] for r in REFS])
def test_every_reference_resolves_to_a_function_taking_the_context_first(
        what: str, ref: str, params: type[Params], args: tuple[tuple[str, Any], ...]) -> None:
    fn = resolve(ref)
    sig = inspect.signature(fn)
    names = list(sig.parameters)
    assert names and names[0] == "ctx", (what, names)
    given = {*params.model_fields, *(a for a, _ in args)}
    assert given <= set(names[1:]), (what, given - set(names))
    required = {n for n, p in list(sig.parameters.items())[1:]
                if p.default is inspect.Parameter.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    assert required <= given, (what, required - given)


def test_a_bad_reference_is_a_clear_error() -> None:
    for ref, needle in (("insightloop.services.clv", "package.module:function"),
                        ("insightloop.nowhere:f", "cannot be imported"),
                        ("insightloop.services.clv:nothing", "has no 'nothing'"),
                        ("insightloop.services.clv:WEEK_DAYS", "not callable")):
        with pytest.raises(ConfigError, match=needle):
            resolve(ref)


def test_pages_render_report_modules_and_name_the_command_that_builds_them() -> None:
    pages = capabilities.pages()
    assert [p.path for p in pages] == ["/", "/rfm", "/segments", "/customers",
                                       "/recommendations", "/sentiment", "/experiments",
                                       "/audiences", "/campaigns", "/engagement", "/quality",
                                       "/models", "/uplift", "/trends", "/inventory"]
    for page in pages:
        for name in page.reports:
            module = importlib.import_module(f"insightloop.report.pages.{name}")
            assert callable(module.build), name
        if page.reports:
            assert "`insightloop " in page.missing, page.path
        else:
            assert page.custom, f"{page.path}: a generic page needs report modules"


def test_every_warehouse_table_is_declared_by_exactly_one_capability(
        demo_warehouse: Path) -> None:
    declared = capabilities.tables()  # raises when a name is declared twice
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        found = {name: [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
                 for (name,) in con.execute("SELECT table_name FROM information_schema.tables"
                                            ).fetchall()}
    assert set(found) == set(declared), (set(found) ^ set(declared))
    for name, (_owner, table) in declared.items():
        columns = found[name]
        assert table.customer is None or table.customer in columns, name
        assert set(table.personal) <= set(columns), name
        if table.key == "customer":
            assert table.customer is not None, name
        if "customer_id" in columns:  # erasure finds every row of a customer by it
            assert table.customer == "customer_id", name


def test_the_personal_data_map_names_every_column_holding_personal_data() -> None:
    pdm = capabilities.personal_data_map()
    assert set(pdm) == set(capabilities.tables())
    assert {"email", "name"} <= set(pdm["customers"]["personal"])
    assert pdm["reviews"]["personal"] == ["text"] and pdm["quarantine"]["personal"] == ["raw"]
    assert pdm["events"]["personal"] == ["properties"]
    linked = sorted(t for t, d in pdm.items() if d["customer"] == "customer_id")
    assert {"orders", "scores", "clv", "recommendations", "review_sentiment",
            "customer_360"} <= set(linked)


def test_customer_360_from_the_declarations_has_the_columns_of_the_hand_written_joins(
        demo_warehouse: Path) -> None:
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        profile = [r[0] for r in con.execute("DESCRIBE profiles").fetchall()]
        view = [r[0] for r in con.execute("DESCRIBE customer_360").fetchall()]
        counts = con.execute("SELECT (SELECT count(*) FROM profiles), count(*), "
                             "count(DISTINCT customer_id), count(clv), count(churn_score), "
                             "count(rfm_segment) FROM customer_360").fetchone()
        clv = con.execute("SELECT count(*) FROM clv").fetchone()
    assert view[:len(profile)] == profile
    assert view[len(profile):] == [
        "r_score", "f_score", "m_score", "rfm_score", "rfm_segment", "value_tier",
        "clv_frequency", "clv_recency", "clv_T", "clv_monetary_value", "clv_p_alive",
        "clv_expected_purchases_12m", "clv_expected_avg_value", "clv", "clv_model",
        "clv_fitted_at", "segment_id", "segment_name", "strategy",
        "churn_score", "churn_version", "churn_reasons",
        "sentiment_reviews", "sentiment_avg", "sentiment_last", "complaint_count",
        "value_at_risk"]
    assert counts is not None and clv is not None
    n, rows, distinct, with_clv, scored, with_rfm = counts
    assert rows == distinct == n == scored == with_rfm and with_clv == clv[0]


def test_allowed_values_are_the_ones_the_code_uses() -> None:
    assert tuple(TABLES) == ingest.TABLES
    assert tuple(PRESETS) == ingest.PRESETS
    assert tuple(MODELS) == recommend.MODELS
    assert EMBEDDERS is recommend.EMBEDDERS  # the service validates against the declared tuple
    assert training.TASKS is predict.TASKS
    for embedder in recommend.EMBEDDERS:  # the drift the registry ends: e5 accepted, then refused
        assert validate_params("recommendations", {"embedder": embedder})
    with pytest.raises(ConfigError, match=r"params\.embedder"):
        validate_params("recommendations", {"embedder": "e5"})


def test_job_kinds_are_the_declared_ones_and_the_demo() -> None:
    assert list(kinds()) == ["ingest", "profiles", "clv", "segments", "cohorts", "train",
                             "score", "recommendations", "sentiment", "topics", "uplift",
                             "uplift_plan", "experiments", "send_times", "journeys_tick",
                             "campaign", "campaign_tick", "campaign_bounces", "forecast",
                             "trends", "inventory_plan", DEMO.kind]
    assert validate_params("score", {"model": "churn:2"}).model_dump(by_alias=True) == {
        "model": "churn:2"}
    with pytest.raises(ConfigError, match="unknown parameter for a score job"):
        validate_params("score", {"ref": "churn"})  # the runner's name is not the request's
    schemas = {k["kind"]: k["params"] for k in describe()}
    assert list(schemas["score"]["properties"]) == ["model"]
    assert schemas["train"]["properties"]["horizon_days"]["minimum"] == 1
    assert schemas["ingest"]["required"] == ["table", "path"]
    assert schemas["segments"]["properties"] == {}


def test_trim_keeps_the_declared_keys_in_their_order() -> None:
    result = {"rows": 3, "name": "churn", "metrics": {"auc": 0.8}, "extra": 1}
    assert list(trim(result, keep=("name", "metrics", "rows"))) == ["name", "metrics", "rows"]
    assert trim(result, omit=("extra",)) == {"rows": 3, "name": "churn", "metrics": {"auc": 0.8}}
    assert trim([1, 2], keep=("x",)) == [1, 2]
