"""The uplift tables' columns, and the demo stage that creates them empty when the
warehouse has no campaign sends to fit on (the bundled sample has none), so every declared
table exists with its declared columns (``build_uplift`` and ``plan_uplift`` write them)."""

from __future__ import annotations

from typing import Any

from insightloop.services.context import Context
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table

COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "uplift_scores": (("customer_id", "VARCHAR"), ("arm", "VARCHAR"), ("uplift", "DOUBLE"),
                      ("sleeping_dog", "BOOLEAN"), ("model_version", "BIGINT"),
                      ("scored_at", "TIMESTAMP")),
    "uplift_plan": (("customer_id", "VARCHAR"), ("arm", "VARCHAR"), ("uplift", "DOUBLE"),
                    ("expected_profit", "DOUBLE"), ("cost", "DOUBLE"), ("selected", "BOOLEAN"),
                    ("reason", "VARCHAR"), ("rank", "BIGINT"), ("planned_at", "TIMESTAMP")),
    "uplift_audiences": (("audience", "VARCHAR"), ("customer_id", "VARCHAR"),
                         ("arm", "VARCHAR"), ("rank", "BIGINT"), ("created_at", "TIMESTAMP")),
}


def ensure_tables(ctx: Context) -> dict[str, Any]:
    """Create the uplift tables empty where missing (never touches existing ones)."""
    created: list[str] = []
    if not ctx.warehouse.read_only:
        with ctx.warehouse.transaction() as con:
            for name, cols in COLUMNS.items():
                if not has_table(con, name):
                    body = ", ".join(f"{ident(c)} {t}" for c, t in cols)
                    con.execute(f"CREATE TABLE {ident(name)} ({body})")
                    created.append(name)
    return {"created_empty": created,
            "hint": "fit on a campaign's sends: `insightloop uplift build`, then "
                    "`insightloop uplift plan`"}
