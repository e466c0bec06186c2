"""Export an audience of table ``uplift_audiences`` (``uplift_plan``, ``top_30pct_uplift``...)
as a CSV or Parquet file a campaign tool can load: customer id, arm, rank."""

from __future__ import annotations

from pathlib import Path

from insightloop.errors import ConfigError, NotFoundError, WarehouseError
from insightloop.services.context import Context
from insightloop.services.results.uplift import AudienceExported
from insightloop.storage.sql import execute_one, literal
from insightloop.storage.warehouse import has_table


def export_audience(ctx: Context, audience: str, path: Path | str) -> AudienceExported:
    """Write the members of ``audience`` (ranked) to ``path`` (``.csv`` or ``.parquet``)."""
    out = Path(path)
    fmt = {".csv": "FORMAT CSV, HEADER", ".parquet": "FORMAT PARQUET"}.get(out.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{out}: write the audience to a .csv or .parquet file")
    if not out.parent.exists():
        raise ConfigError(f"{out}: folder {out.parent} does not exist")
    with ctx.read() as con:
        if not has_table(con, "uplift_audiences"):
            raise WarehouseError("table 'uplift_audiences' is missing: run `insightloop uplift "
                                 "build`, then `insightloop uplift plan`")
        names = [r[0] for r in con.execute(
            "SELECT DISTINCT audience FROM uplift_audiences ORDER BY 1").fetchall()]
        if audience not in names:
            raise NotFoundError(f"no audience {audience!r} in table uplift_audiences; "
                                f"audiences: {', '.join(names) or 'none'}")
        select = ("SELECT customer_id, arm, rank FROM uplift_audiences "
                  f"WHERE audience = {literal(audience)} ORDER BY rank, customer_id")
        rows = con.execute(f"SELECT count(*) FROM ({select})").fetchone()
        execute_one(con, f"COPY ({select}) TO {literal(str(out))} ({fmt})")
    return AudienceExported(audience=audience, path=str(out),
                            customers=int(rows[0]) if rows else 0)
