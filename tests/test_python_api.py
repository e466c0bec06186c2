"""The Python API: names exported lazily from ``insightloop``, frames in and out with the
customer index kept, ids normalised like ingestion, and ``docs/python-api.md`` run as written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import insightloop as il
from insightloop.errors import SchemaError
from shared_data import REPO, SAMPLE

DOC = REPO / "docs" / "python-api.md"


def test_import_loads_no_heavy_library() -> None:
    code = ("import sys, time; t = time.perf_counter(); import insightloop; "
            "d = time.perf_counter() - t; import json; print(json.dumps({'s': d, 'mods': "
            "[m for m in ('pandas', 'numpy', 'duckdb', 'sklearn', 'lightgbm', 'ibis') "
            "if m in sys.modules]}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert json.loads(out.stdout)["mods"] == []


def test_every_public_name_resolves_and_unknown_names_fail() -> None:
    for name in il.__all__:
        assert getattr(il, name) is not None, name
        assert name in dir(il)
    assert il.score.__name__ == "score_warehouse" and il.train.__name__ == "train_task"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        il.nope  # type: ignore[attr-defined]  # noqa: B018


def test_ingest_a_frame_normalises_float_ids_and_table_indexes_by_customer(
        tmp_path: Path) -> None:
    ctx = il.open_warehouse(tmp_path / "wh.duckdb")
    frame = pd.DataFrame({"customer_id": [17850.0, 12347.0, np.nan],
                          "country": ["United Kingdom", "Iceland", "France"]})
    summary = il.ingest(ctx, "customers", frame)
    assert (summary["rows_loaded"], summary["rows_quarantined"]) == (2, 1)
    customers = il.table(ctx, "customers")
    assert sorted(customers.index) == ["12347", "17850"]
    assert customers.loc["17850", "country"] == "United Kingdom"
    with pytest.raises(SchemaError, match="no rows"):
        il.ingest(ctx, "customers", frame.iloc[:0])
    assert il.normalize_id(" 17850.0 ") == "17850"


def test_sentiment_keeps_the_index_of_a_series_and_numbers_a_list() -> None:
    texts = pd.Series(["love it, works perfectly", "broke after one day, refund please"],
                      index=[10, 20])
    out = il.sentiment(texts)
    assert out.index.tolist() == [10, 20]
    assert out["label"].tolist() == ["positive", "negative"]
    assert il.sentiment(list(texts)).index.tolist() == [0, 1]


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.slow
def test_docs_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``python`` block of docs/python-api.md, in order, in one namespace."""
    blocks = _code_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "python_api_doc"}
    for i, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"{DOC.name} block {i}", "exec"), namespace)
        except Exception as exc:  # name the block that failed
            raise AssertionError(f"docs/python-api.md block {i} failed: {exc!r}\n{block}"
                                 ) from exc
    # The float ids pandas read came through as the customers' own ids.
    recs = namespace["recs"]
    assert isinstance(recs, pd.DataFrame) and "17850" in recs.index
    # The single-customer path (CLI, API) normalises too: a float id is that customer.
    server = namespace["server"]
    one = server.recommend(17850.0, n=3)  # type: ignore[attr-defined]
    assert (one["customer_id"], one["source"]) == ("17850", "model")
    assert [i["product_id"] for i in one["items"]] == \
        [i["product_id"] for i in server.recommend(" 17850 ", n=3)["items"]]  # type: ignore[attr-defined]


def test_sample_is_the_documented_one() -> None:
    assert SAMPLE.name == "online_retail_sample.csv.gz"
    assert f"{len(pd.read_csv(SAMPLE)):,} lines" in DOC.read_text(encoding="utf-8")
