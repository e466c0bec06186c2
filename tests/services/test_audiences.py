"""Audiences on the sample warehouse: live counts equal an independent SQL count, the extra
columns (recommendations, uplift, e-mail), personal columns only on request, saved versions,
exports read back, and a saved audience whose column disappears."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from contexts import ctx_of
from insightloop.errors import ConfigError, NotFoundError
from insightloop.features.audiences import FilterError
from insightloop.services.audiences import (
    audience_frame,
    audience_ids,
    audience_schema,
    count_audience,
    create_audience,
    delete_audience,
    demo_audiences,
    describe_audience,
    export_audience,
    get_audience,
    list_audiences,
)
from insightloop.services.context import Context

WHERE = "recency_days > 90 and country = 'united kingdom'"


@pytest.fixture(scope="module")
def ctx(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Context:
    """A private copy of the sample warehouse (orders and profiles) with e-mail addresses for
    three customers, recommendations for ten and uplift scores for two (the tables as the
    recommend and uplift builds write them)."""
    path = tmp_path_factory.mktemp("aud") / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, path)
    with duckdb.connect(str(path)) as con:
        ids = [r[0] for r in con.execute(
            "SELECT customer_id FROM customer_360 ORDER BY customer_id LIMIT 10").fetchall()]
        con.execute("INSERT INTO customers (customer_id, email, name) VALUES "
                    "(?, 'a@example.com', 'Ann'), (?, '  ', 'Bob'), (?, 'c@example.com', 'Cy')",
                    ids[:3])
        con.execute("CREATE TABLE recommendations (customer_id VARCHAR, rank INTEGER, "
                    "product_id VARCHAR, score DOUBLE, reason VARCHAR, model VARCHAR)")
        con.execute("INSERT INTO recommendations SELECT customer_id, r, 'P' || r, 1.0 / r, "
                    "'x', 'ease' FROM unnest(?) t(customer_id), range(1, 4) s(r)", [ids])
        con.execute("CREATE TABLE uplift_scores (customer_id VARCHAR, arm VARCHAR, "
                    "uplift DOUBLE, sleeping_dog BOOLEAN, model_version BIGINT, "
                    "scored_at TIMESTAMP)")
        con.execute("INSERT INTO uplift_scores (customer_id, arm, uplift, sleeping_dog) VALUES "
                    "(?, 'email', 0.2, false), (?, 'sms', -0.1, true), "
                    "(?, 'email', -0.3, true), (?, 'sms', -0.05, true)",
                    [ids[0], ids[0], ids[1], ids[1]])
    return ctx_of(path)


def independent(ctx: Context, sql: str) -> list[str]:
    with duckdb.connect(str(ctx.settings.warehouse), read_only=True) as con:
        return [r[0] for r in con.execute(sql).fetchall()]


def test_live_count_and_ids_match_plain_sql(ctx: Context) -> None:
    expected = independent(ctx, "SELECT customer_id FROM customer_360 WHERE recency_days > 90 "
                                "AND country = 'United Kingdom' ORDER BY 1")
    assert len(expected) > 0
    assert count_audience(ctx, WHERE) == len(expected)
    assert audience_ids(ctx, WHERE) == expected
    live = describe_audience(ctx, WHERE, sample=5)
    assert live["count"] == len(expected) and live["sample"] == expected[:5]
    assert live["canonical"] == "recency_days > 90 and country = 'united kingdom'"
    assert live["total"] == len(independent(ctx, "SELECT customer_id FROM customer_360"))


def test_extra_columns(ctx: Context) -> None:
    schema = audience_schema(ctx)
    assert schema["recency_days"] == "DOUBLE" and schema["has_recommendation"] == "BOOLEAN"
    assert {"uplift", "uplift_arm", "sleeping_dog", "has_email", "recommended_product"} <= \
        set(schema)
    assert "email" not in schema and "name" not in schema  # personal: never filterable
    with_recs = independent(ctx, "SELECT DISTINCT customer_id FROM recommendations "
                                 "WHERE customer_id IN (SELECT customer_id FROM customer_360)")
    assert count_audience(ctx, "has_recommendation = true") == len(with_recs) > 0
    first = independent(ctx, "SELECT customer_id FROM customer_360 ORDER BY 1 LIMIT 3")
    assert audience_ids(ctx, "has_email = true") == [first[0], first[2]]  # blank is no e-mail
    assert audience_ids(ctx, "uplift > 0") == [first[0]]          # best arm: email 0.2
    assert audience_ids(ctx, "sleeping_dog = true") == [first[1]]  # every arm negative
    frame = audience_frame(ctx, "uplift is not null", ["uplift", "uplift_arm"])
    assert frame.to_dict("list") == {"customer_id": first[:2], "uplift": [0.2, -0.05],
                                     "uplift_arm": ["email", "sms"]}
    with pytest.raises(FilterError, match="unknown column 'email'"):
        count_audience(ctx, "email contains 'example'")


def test_frame_personal_columns_only_when_asked(ctx: Context) -> None:
    plain = audience_frame(ctx, WHERE, ["spend", "orders"])  # aliases resolved
    assert list(plain.columns) == ["customer_id", "monetary", "n_orders"]
    assert plain["customer_id"].tolist() == audience_ids(ctx, WHERE)
    first = independent(ctx, "SELECT customer_id FROM customer_360 ORDER BY 1 LIMIT 3")
    personal = audience_frame(ctx, "has_email = true or uplift < 0", ["email", "country"])
    assert personal.to_dict("list")["email"] == ["a@example.com", "  ", "c@example.com"]
    assert personal["customer_id"].tolist() == first
    with pytest.raises(ConfigError, match="closest: monetary"):
        audience_frame(ctx, WHERE, ["monetery"])


def test_saved_audiences_version_on_change_only(ctx: Context) -> None:
    first = create_audience(ctx, "lapsed", WHERE, description="lapsed at-risk", created_by="t")
    assert first["version"] == 1 and first["created"] and first["count"] == \
        count_audience(ctx, WHERE)
    same = create_audience(ctx, "lapsed", "Recency > 90 AND Country = \"united kingdom\"")
    assert same["version"] == 1 and not same["created"]
    second = create_audience(ctx, "lapsed", "recency_days > 180 and country = 'united kingdom'")
    assert second["version"] == 2 and second["created"] and second["count"] < first["count"]
    info = get_audience(ctx, "lapsed")
    assert info["version"] == 2 and [v["version"] for v in info["versions"]] == [1, 2]
    assert info["count"] == second["count"] and info["live_error"] is None
    old = get_audience(ctx, "lapsed", version=1, sample=3)
    assert old["filter"] == WHERE and old["description"] == "lapsed at-risk"
    assert old["created_by"] == "t" and old["sample"] == audience_ids(ctx, WHERE)[:3]
    listed = {a["name"]: a for a in list_audiences(ctx)}
    assert listed["lapsed"]["versions"] == 2 and listed["lapsed"]["count"] == second["count"]
    with pytest.raises(NotFoundError, match="version 7"):
        get_audience(ctx, "lapsed", version=7)
    assert delete_audience(ctx, "lapsed") == {"name": "lapsed", "versions": 2}
    with pytest.raises(NotFoundError, match="no audience 'lapsed'"):
        get_audience(ctx, "lapsed")
    with pytest.raises(NotFoundError):
        delete_audience(ctx, "lapsed")


def test_bad_input_saves_nothing(ctx: Context) -> None:
    with pytest.raises(FilterError, match="position 15"):
        create_audience(ctx, "broken", "recency_days >> 5")
    with pytest.raises(ConfigError, match="not allowed"):
        create_audience(ctx, "../etc", WHERE)
    assert "broken" not in {a["name"] for a in list_audiences(ctx, live=False)}


def test_export_reads_back(ctx: Context, tmp_path: Path) -> None:
    create_audience(ctx, "mailable", "has_email = true")
    out = export_audience(ctx, "mailable", tmp_path / "m.csv")
    assert out["rows"] == 2 and out["columns"] == ["customer_id"]
    with duckdb.connect() as con:
        back = con.execute("SELECT * FROM read_csv(?, all_varchar=true) ORDER BY 1",
                           [out["path"]]).fetchall()
    assert [r[0] for r in back] == audience_ids(ctx, "has_email = true")
    assert len(back[0]) == 1  # no e-mail unless asked for
    pq = export_audience(ctx, "mailable", tmp_path / "sub" / "m.parquet", "parquet",
                         columns=["email", "monetary"])
    with duckdb.connect() as con:
        rows = con.execute("SELECT customer_id, email FROM read_parquet(?) ORDER BY 1",
                           [pq["path"]]).fetchall()
    assert [r[1] for r in rows] == ["a@example.com", "c@example.com"]
    assert not list(tmp_path.rglob("*.partial"))
    with pytest.raises(ConfigError, match="csv or parquet"):
        export_audience(ctx, "mailable", tmp_path / "m.xlsx", "xlsx")  # type: ignore[arg-type]
    delete_audience(ctx, "mailable")


def test_saved_audience_whose_column_is_gone(ctx: Context) -> None:
    create_audience(ctx, "recommended", "has_recommendation = true")
    with duckdb.connect(str(ctx.settings.warehouse)) as con:
        con.execute("DROP TABLE recommendations")
    [row] = [a for a in list_audiences(ctx) if a["name"] == "recommended"]
    assert row["count"] is None and "unknown column 'has_recommendation'" in \
        str(row["live_error"])
    assert get_audience(ctx, "recommended")["live_error"] == row["live_error"]


def test_demo_stage_saves_what_fits_and_names_what_it_skips(ctx: Context) -> None:
    out = demo_audiences(ctx)
    assert [r["name"] for r in out["saved"]] == ["uk-repeat"]  # no RFM segments built here
    assert out["saved"][0]["count"] == count_audience(ctx, "country = 'united kingdom' and "
                                                           "n_orders >= 2") > 0
    assert set(out["skipped"]) == {"at-risk-lapsed", "champions", "high-value-quiet"}
    assert "unknown column 'segment'" in out["skipped"]["champions"]
    again = demo_audiences(ctx)
    assert again["saved"] == out["saved"]  # same filters: no new version
    delete_audience(ctx, "uk-repeat")
