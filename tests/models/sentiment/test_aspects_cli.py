"""`insightloop evaluate aspects` on the shipped labelled set and on a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insightloop.cli.main import main

TEST_HALF = Path(__file__).resolve().parents[2] / "fixtures" / "aspects_test.csv"


def test_evaluate_aspects_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "aspects", "--data", str(TEST_HALF), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["languages"]) == {"en", "zh"}
    assert out["mentions"] == sum(v["mentions"] for v in out["languages"].values())
    assert out["rules"] is True and out["mentions_per_second"] > 0
    assert 0.6 < out["accuracy"] <= 1.0


def test_evaluate_aspects_text_and_model_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "aspects", "--data", str(TEST_HALF), "--model-only"]) == 0
    out = capsys.readouterr().out
    assert "model only" in out and "en:" in out and "zh:" in out


def test_evaluate_aspects_bad_polarity(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,aspect,polarity\nFast shipping,delivery,great\n", encoding="utf-8")
    assert main(["evaluate", "aspects", "--data", str(path)]) != 0
    err = capsys.readouterr().err
    assert "line 2" in err and "polarity" in err and "'great'" in err
    assert "Traceback" not in err
