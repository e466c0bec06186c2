"""`train` and `evaluate recommend` count their steps against one known total, so the CLI's
progress bar shows an ETA (the way `recommend build` does)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from contexts import ctx_of
from insightloop.services.recommend import evaluate_recommend_file
from insightloop.services.training import train_task
from insightloop.settings import Settings

Steps = list[tuple[str, int, int]]


def _counted(steps: Steps, total: int) -> None:
    assert [done for _, done, _ in steps] == list(range(len(steps)))
    assert {t for _, _, t in steps} == {total} and len(steps) == total


def test_train_counts_dates_and_fit(sample_warehouse: Path, tmp_path: Path) -> None:
    steps: Steps = []
    settings = Settings(warehouse=sample_warehouse, models_dir=tmp_path / "models")
    meta = train_task(ctx_of(settings), "churn", [datetime(2011, 6, 1)], 90, model="logistic",
                      on_step=lambda m, done, total: steps.append((m, done, total)))
    _counted(steps, 2)
    assert [m for m, _, _ in steps] == ["examples at 2011-06-01",
                                        f"fitting logistic on {meta['rows']:,} examples"]


def test_evaluate_recommend_counts_read_fit_rank(sample_warehouse: Path,
                                                  tmp_path: Path) -> None:
    data = tmp_path / "pairs.csv"
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        con.execute(f"COPY (SELECT customer_id, product_id FROM orders WHERE customer_id IS NOT "
                    f"NULL AND quantity > 0) TO '{data}' (HEADER)")
    steps: Steps = []
    out = evaluate_recommend_file(data, "customer_id", "product_id", model="popularity",
                                  on_step=lambda m, done, total: steps.append((m, done, total)))
    _counted(steps, 3)
    assert steps[0][0] == f"reading {data}" and steps[1][0].startswith("fitting popularity")
    assert out["users"] > 100
