"""Experiment results written back to the warehouse: ``experiment_results`` (one row per
variant and metric), ``experiment_sequential`` (the monitoring curve) and
``experiment_value`` (increments and ROI per treated arm). Re-running an analysis replaces
that experiment's rows in one transaction, so the tables hold each experiment once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from insightloop.services.context import Context
from insightloop.services.experiments.types import ExperimentAnalysis

_D, _B, _I, _T = "DOUBLE", "BOOLEAN", "BIGINT", "VARCHAR"
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "experiment_results": (
        ("experiment_id", _T), ("source", _T), ("analysed_at", "TIMESTAMP"), ("variant", _T),
        ("metric", _T), ("kind", _T), ("guardrail", _B), ("control_n", _I), ("variant_n", _I),
        ("control_mean", _D), ("variant_mean", _D), ("effect", _D), ("ci_low", _D),
        ("ci_high", _D), ("p_value", _D), ("p_adjusted", _D), ("significant", _B),
        ("relative_effect", _D), ("relative_ci_low", _D), ("relative_ci_high", _D),
        ("chance_to_win", _D), ("expected_loss", _D), ("cuped", _B),
        ("variance_reduction", _D), ("sequential_ci_low", _D), ("sequential_ci_high", _D),
        ("sequential_p_value", _D), ("flagged", _B), ("srm_p_value", _D)),
    "experiment_sequential": (
        ("experiment_id", _T), ("day", "DATE"), ("variant", _T), ("metric", _T), ("n", _I),
        ("effect", _D), ("ci_low", _D), ("ci_high", _D), ("sequence_low", _D),
        ("sequence_high", _D), ("sequential_p_value", _D)),
    "experiment_value": (
        ("experiment_id", _T), ("variant", _T), ("sends", _I), ("incremental_conversions", _D),
        ("conversions_ci_low", _D), ("conversions_ci_high", _D), ("incremental_revenue", _D),
        ("revenue_ci_low", _D), ("revenue_ci_high", _D), ("cost", _D), ("roi", _D),
        ("roi_ci_low", _D), ("roi_ci_high", _D)),
}
TABLES = tuple(COLUMNS)


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the three tables when missing (inside the caller's transaction)."""
    for name, cols in COLUMNS.items():
        body = ", ".join(f"{c} {t}" for c, t in cols)
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({body})")


def _frames(a: ExperimentAnalysis) -> dict[str, list[dict[str, Any]]]:
    eid, now = a["experiment_id"], datetime.now()
    results = [{**r, "experiment_id": eid, "source": a["source"], "analysed_at": now,
                "srm_p_value": a["srm_p_value"]} for r in a["results"]]
    curve = [{**p, "experiment_id": eid} for p in a["curve"]]
    value = [{"experiment_id": eid, "variant": v["variant"], "sends": v["sends"],
              "incremental_conversions": v["incremental_conversions"],
              "conversions_ci_low": v["incremental_conversions_ci"][0],
              "conversions_ci_high": v["incremental_conversions_ci"][1],
              "incremental_revenue": v["incremental_revenue"],
              "revenue_ci_low": v["incremental_revenue_ci"][0],
              "revenue_ci_high": v["incremental_revenue_ci"][1], "cost": v["cost"],
              "roi": v["roi"], "roi_ci_low": (v["roi_ci"] or [None, None])[0],
              "roi_ci_high": (v["roi_ci"] or [None, None])[1]} for v in a["value"]]
    return {"experiment_results": results, "experiment_sequential": curve,
            "experiment_value": value}


def write_results(ctx: Context, analysis: ExperimentAnalysis) -> str | None:
    """Replace the experiment's rows in the three tables; None on a read-only warehouse."""
    if ctx.warehouse.read_only:
        return None
    with ctx.warehouse.transaction() as con:
        create_tables(con)
        for name, rows in _frames(analysis).items():
            con.execute(f"DELETE FROM {name} WHERE experiment_id = ?",
                        [analysis["experiment_id"]])
            if not rows:
                continue
            names = [c for c, _ in COLUMNS[name]]
            frame = pd.DataFrame(rows).reindex(columns=names)
            con.register("__rows", frame)
            try:
                casts = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in COLUMNS[name])
                con.execute(f"INSERT INTO {name} SELECT {casts} FROM __rows")
            finally:
                con.unregister("__rows")
    return "experiment_results"


def ensure_tables(ctx: Context) -> None:
    """Create the tables empty (the demo: the sample has no campaign sends)."""
    if not ctx.warehouse.read_only:
        with ctx.warehouse.transaction() as con:
            create_tables(con)
