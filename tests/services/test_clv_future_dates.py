"""Future-dated transactions do not silently stretch the default CLV holdout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import InputFileError
from insightloop.services.clv import evaluate_clv_file


def _transactions(path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for cid in range(300):
        start = pd.Timestamp("2020-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        n = int(rng.poisson(rng.gamma(1.0, 3.0)))  # rates differ, customers drop out
        days = np.sort(rng.integers(0, int(rng.integers(30, 360)), size=n))
        for d in [0, *days.tolist()]:
            rows.append((cid, (start + pd.Timedelta(days=int(d))).date().isoformat(), 10.0))
    frame = pd.DataFrame(rows, columns=["cid", "date", "amt"])
    frame.loc[len(frame)] = (7, "2031-01-01", 15.0)  # a typo: eleven years ahead
    frame.to_csv(path, index=False)
    return frame


def test_future_rows_need_an_explicit_holdout_end(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    frame = _transactions(path)
    row = len(frame)
    with pytest.raises(InputFileError, match=r"1 transactions are dated in the future "
                                             rf"\(first: 2031-01-01 00:00:00 at data row {row}\)"):
        evaluate_clv_file(path, "cid", "date", "amt", "2020-06-30", model="bgnbd")
    out = evaluate_clv_file(path, "cid", "date", "amt", "2020-06-30", "2020-12-31",
                            model="mbgnbd", dropout_prior="auto")
    assert out["holdout_end"] == "2020-12-31"
    assert out["customers"] == 300
