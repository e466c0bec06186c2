"""Reading the experiment tables back (the report page and the dashboard)."""

from __future__ import annotations

import pandas as pd

from insightloop.services.context import Context
from insightloop.services.experiments.store import COLUMNS
from insightloop.storage.warehouse import has_table


def read_experiments(ctx: Context, limit: int = 6
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Results, monitoring curve and value rows of the ``limit`` most recently analysed
    experiments (empty frames before any analysis)."""
    empty = tuple(pd.DataFrame(columns=[c for c, _ in COLUMNS[n]]) for n in COLUMNS)
    with ctx.read() as con:
        if not has_table(con, "experiment_results"):
            return empty  # type: ignore[return-value]
        latest = ("SELECT experiment_id FROM experiment_results GROUP BY experiment_id "
                  "ORDER BY max(analysed_at) DESC, experiment_id LIMIT ?")
        results = con.execute(
            f"SELECT r.* FROM experiment_results r JOIN ({latest}) USING (experiment_id) "
            "ORDER BY r.analysed_at DESC, r.experiment_id, r.variant, r.metric",
            [limit]).df()
        ids = list(dict.fromkeys(results["experiment_id"]))
        curve = con.execute("SELECT * FROM experiment_sequential WHERE list_contains(?, "
                            "experiment_id) ORDER BY experiment_id, day", [ids]).df()
        value = con.execute("SELECT * FROM experiment_value WHERE list_contains(?, "
                            "experiment_id) ORDER BY experiment_id, variant", [ids]).df()
    return results, curve, value
