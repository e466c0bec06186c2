"""CLI: evaluate recommend (exact keys, bad input), recommend CUSTOMER_ID, similar, rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.cli.main import main

KEYS = ["model", "users", "items", "precision@10", "recall@10", "ndcg@10", "map@10",
        "coverage", "fit_seconds"]


def _ratings(path: Path, n_users: int = 60) -> Path:
    rng = np.random.default_rng(1)
    users = np.repeat(np.arange(n_users), 12)
    items = np.where(users % 2 == 0, rng.integers(0, 30, len(users)),
                     rng.integers(30, 60, len(users)))
    frame = pd.DataFrame({"uid": users, "iid": items, "ts": np.arange(len(users))})
    frame.to_csv(path, index=False)
    return path


def _json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("split", ["stratified", "temporal", "leave-last"])
def test_evaluate_prints_exactly_the_documented_keys(tmp_path: Path, split: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    data = _ratings(tmp_path / "r.csv")
    code = main(["evaluate", "recommend", "--data", str(data), "--user", "uid", "--item", "iid",
                 "--time", "ts", "--split", split, "--model", "itemknn", "--json"])
    out = _json(capsys)
    assert code == 0 and list(out) == KEYS
    assert out["model"] == "itemknn" and out["items"] <= 60
    assert 0 < out["ndcg@10"] <= 1 and 0 < out["coverage"] <= 1


def test_evaluate_k_names_the_keys_and_auto_is_reported(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    data = _ratings(tmp_path / "r.csv")
    parquet = tmp_path / "r.parquet"
    pd.read_csv(data).to_parquet(parquet)
    assert main(["evaluate", "recommend", "--data", str(parquet), "--user", "uid", "--item",
                 "iid", "--k", "5", "--json"]) == 0
    out = _json(capsys)
    assert "ndcg@5" in out and "ndcg@10" not in out
    assert out["model"].startswith("auto:")


def test_evaluate_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["evaluate", "recommend", "--data", str(empty), "--user", "u", "--item", "i",
                 "--json"]) == 2
    assert "empty.csv" in capsys.readouterr().err
    header = tmp_path / "header.csv"
    header.write_text("u,i\n")
    assert main(["evaluate", "recommend", "--data", str(header), "--user", "u", "--item", "i",
                 "--json"]) == 2
    assert "header.csv" in capsys.readouterr().err
    data = _ratings(tmp_path / "r.csv")
    assert main(["evaluate", "recommend", "--data", str(data), "--user", "nope", "--item",
                 "iid", "--json"]) == 2
    assert "'nope'" in capsys.readouterr().err


def test_duplicates_and_mixed_ids_give_the_same_result(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    data = _ratings(tmp_path / "r.csv")
    frame = pd.read_csv(data).drop_duplicates(["uid", "iid"])
    frame.to_csv(tmp_path / "dedup.csv", index=False)
    mixed = pd.concat([frame, frame.head(100)])  # duplicate rows
    mixed["uid"] = mixed["uid"].astype(float)  # 3 -> 3.0
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    results = []
    for name in ("dedup.csv", "mixed.csv"):
        main(["evaluate", "recommend", "--data", str(tmp_path / name), "--user", "uid",
              "--item", "iid", "--model", "rp3beta", "--json"])
        results.append(_json(capsys))
    for key in ("users", "items", "ndcg@10", "precision@10"):
        assert results[0][key] == results[1][key]


def test_recommend_customer_show_similar_and_rules(sample_warehouse: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    monkeypatch.setenv("INSIGHTLOOP_MODELS", str(tmp_path / "models"))
    w = ["--warehouse", str(path)]
    assert main(["recommend", "17850", *w]) == 1
    assert "insightloop recommend build" in capsys.readouterr().err
    assert main(["recommend", "build", "--model", "rp3beta", "--embedder", "tfidf", "--n", "4",
                 *w, "--json"]) == 0
    assert _json(capsys)["model"] == "rp3beta"
    assert main(["recommend", "17850", "--n", "3", *w, "--json"]) == 0
    direct = _json(capsys)
    assert direct["source"] == "model" and len(direct["items"]) == 3
    assert main(["recommend", "show", "17850", "--n", "3", *w, "--json"]) == 0
    assert _json(capsys) == direct
    assert main(["recommend", "somebody-new", *w, "--json"]) == 0
    assert _json(capsys)["source"] == "cold_start:popularity"
    assert main(["recommend", "17850", "--n", "3", *w]) == 0
    assert "because you bought" in capsys.readouterr().out
    assert main(["similar", "85123A", "--n", "3", *w, "--json"]) == 0
    assert len(_json(capsys)["items"]) == 3
    assert main(["similar", "NOPE", *w]) == 1
    assert "unknown product" in capsys.readouterr().err
    assert main(["basket-rules", "--top", "3", *w, "--json"]) == 0
    rules = _json(capsys)["rules"]
    assert len(rules) == 3 and {"support", "confidence", "lift"} <= set(rules[0])


def test_half_life_needs_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _ratings(tmp_path / "r.csv")
    assert main(["evaluate", "recommend", "--data", str(data), "--user", "uid", "--item", "iid",
                 "--half-life-days", "30", "--json"]) == 2
    assert "--time" in capsys.readouterr().err
    assert main(["evaluate", "recommend", "--data", str(data), "--user", "uid", "--item", "iid",
                 "--time", "ts", "--half-life-days", "30", "--model", "ease", "--json"]) == 0
    assert list(_json(capsys)) == KEYS
