"""CLI conventions (docs/cli.md): --version, global options anywhere, choices checked at
parse time (exit 2), exit codes, JSON errors of one shape, --top everywhere with the old
spellings as hidden aliases, NaN as null, --positive matched by truth, quiet log lines."""

from __future__ import annotations

import json
import math
from importlib import metadata
from pathlib import Path

import duckdb
import numpy as np
import pytest
import typer

from insightloop.cli import app as app_module
from insightloop.cli.common import console, print_json
from insightloop.cli.main import main, normalise_args
from insightloop.services.evaluation import resolve_positive

pytestmark = pytest.mark.usefixtures("clean_env")  # tests/conftest.py; so is `wh`


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--version", "-V"):
        code, out, _ = _run(capsys, flag)
        assert code == 0 and out.strip() == f"insightloop {metadata.version('insightloop')}"


def test_global_options_before_or_after_the_command(
        wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with duckdb.connect(str(wh), read_only=True) as con:
        row = con.execute("SELECT min(customer_id) FROM profiles").fetchone()
    assert row is not None
    customer = str(row[0])
    outs = []
    for argv in (["--warehouse", str(wh), "--json", "profile", customer],
                 ["-w", str(wh), "profile", customer, "--json"],
                 [f"--warehouse={wh}", "profile", "--json", customer],
                 ["profile", customer, "--json", "-w", str(wh)]):
        code, out, err = _run(capsys, *argv)
        assert code == 0, (argv, err)
        outs.append(json.loads(out))
    assert all(o == outs[0] for o in outs) and outs[0]["customer_id"] == customer
    code, _, err = _run(capsys, "--debug", "-w", str(wh), "profiles", "show-nothing")
    assert code == 2 and "No such command" in err


def test_choices_are_checked_at_parse_time(wh: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    stamp = wh.stat().st_mtime_ns
    data = tmp_path / "x.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    for argv, bad in ((["ingest", "ordrs", str(data)], "'ordrs' is not one of customers"),
                      (["ingest", "orders", str(data), "--preset", "nope"], "'nope'"),
                      (["segments", "build", "--method", "nope"], "kmeans, gmm"),
                      (["recommend", "build", "--model", "nope"], "popularity"),
                      (["train", "chrun"], "churn, propensity"),
                      (["sentiment", "show", "--by", "week"], "product, category")):
        code, _, err = _run(capsys, *argv, "-w", str(wh))
        flat = " ".join(err.split())
        assert code == 2 and "Usage:" in err and bad in flat, (argv, err)
    assert wh.stat().st_mtime_ns == stamp
    # case-insensitive, normalised to the declared spelling
    code, _, err = _run(capsys, "segments", "build", "--method", "KMEANS", "--k", "2",
                        "-w", str(wh), "--json")
    assert code == 0, err


def test_json_errors_have_one_shape_on_stderr(wh: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["profile", "no-such-customer", "-w", str(wh), "--json"], 1, "not_found_error"),
        (["--json", "profiles", "build", "--as-of", "soon", "-w", str(wh)], 2, "config_error"),
        (["ingest", "orders", str(tmp_path / "none.csv"), "-w", str(wh), "--json"], 2,
         "input_file_error"),
        (["quality", "--no-such-option", "--json"], 2, "usage_error"),
        (["segments", "build", "--method", "x", "--json", "-w", str(wh)], 2, "usage_error"),
    ]
    for argv, exit_code, kind in cases:
        code, out, err = _run(capsys, *argv)
        assert code == exit_code and out == "", (argv, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        payload = json.loads(lines[0])
        assert list(payload) == ["error"] and list(payload["error"]) == ["code", "message"]
        assert payload["error"]["code"] == kind and payload["error"]["message"], payload


def test_exit_codes_without_json(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "profile", "nope", "-w", str(wh))[0] == 1
    code, _, err = _run(capsys, "profiles", "build", "--as-of", "soon", "-w", str(wh))
    assert code == 2 and err.startswith("Error: ") and len(err.strip().splitlines()) == 1


def test_old_spellings_are_hidden_aliases_of_top(capsys: pytest.CaptureFixture[str]) -> None:
    group = typer.main.get_command(app_module.app)
    cases = {("recommend", "show", "1", "--n", "3"): ("recommend", "show", "1", "--top", "3"),
             ("recommend", "1", "--n=3"): ("recommend", "1", "--top=3"),
             ("-w", "x", "similar", "P1", "--n", "2"): ("similar", "P1", "--top", "2", "-w", "x"),
             ("evaluate", "recommend", "--k", "5"): ("evaluate", "recommend", "--top", "5"),
             ("sentiment", "show", "--limit", "4"): ("sentiment", "show", "--top", "4"),
             ("serving", "build", "--top-n", "4"): ("serving", "build", "--top", "4"),
             ("profile", "--", "--n"): ("profile", "--", "--n")}
    for given, expected in cases.items():
        assert normalise_args(group, list(given)) == list(expected), given
    err = capsys.readouterr().err
    assert "--n is deprecated; use --top" in err and "--k is deprecated" in err
    main(["recommend", "build", "--help"])
    helptext = capsys.readouterr().out
    assert "--top" in helptext and "--n " not in helptext


def test_a_deprecated_spelling_still_works(wh: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    code, _, err = _run(capsys, "serving", "build", "--top-n", "0", "-w", str(wh))
    assert code == 2 and "Invalid value for '--top'" in err  # checked like the new name
    code, out, err = _run(capsys, "basket-rules", "--top", "2", "-w", str(wh), "--json")
    assert code == 0 and len(json.loads(out)["rules"]) <= 2


def test_json_output_writes_nan_as_null(capsys: pytest.CaptureFixture[str]) -> None:
    print_json({"a": math.nan, "b": np.float64("nan"), "c": [np.float32("inf"), 1.5],
                "d": {"e": np.array([1.0, np.nan])}})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": None, "c": [None, 1.5],
                                                  "d": {"e": [1.0, None]}}


def test_positive_matches_case_and_truth() -> None:
    import pandas as pd

    words = pd.Series(["TRUE", "FALSE", "TRUE"])
    bools = pd.Series([True, False, True])
    ints = pd.Series([1, 0, 1])
    yes = pd.Series(["yes", "no"])
    assert [resolve_positive(words, p) for p in ("TRUE", "true", "True", "1")] == ["TRUE"] * 4
    assert [resolve_positive(bools, p) for p in ("TRUE", "true", "1", "yes")] == ["True"] * 4
    assert [resolve_positive(ints, p) for p in ("true", "TRUE", "1")] == ["1"] * 3
    assert resolve_positive(ints, "false") == "0" and resolve_positive(yes, "TRUE") == "yes"
    assert resolve_positive(pd.Series(["a", "b"]), "TRUE") == "TRUE"  # no guess: refused later
    assert resolve_positive(words, None) is None


def test_evaluate_classify_positive_true_on_a_true_false_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    target = np.where(x + rng.normal(scale=0.5, size=200) > 0, "TRUE", "FALSE")
    data = tmp_path / "t.csv"
    data.write_text("x,noise,target\n" + "".join(
        f"{a:.4f},{b:.4f},{t}\n" for a, b, t in zip(x, rng.normal(size=200), target,
                                                    strict=True)), encoding="utf-8")
    aucs = []
    for positive in ("TRUE", "true", "True"):
        code, out, err = _run(capsys, "evaluate", "classify", "--data", str(data), "--target",
                              "target", "--positive", positive, "--folds", "2", "--model",
                              "logistic", "--json")
        assert code == 0, err
        aucs.append(json.loads(out)["auc"])
    assert aucs[0] > 0.8 and aucs[0] == aucs[1] == aucs[2]
    code, _, err = _run(capsys, "evaluate", "classify", "--data", str(data), "--target",
                        "target", "--positive", "FALSE", "--folds", "2", "--model", "logistic",
                        "--json")
    assert code == 0


def test_log_lines_carry_no_source_path() -> None:
    with console.capture() as cap:
        console.log("fitting CLV models")
    assert "fitting CLV models" in cap.get() and ".py:" not in cap.get()


@pytest.mark.slow
def test_explain_json_is_json(demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INSIGHTLOOP_READ_ONLY", "1")
    code, out, err = _run(capsys, "explain", "12346", "-w", str(demo_warehouse), "--json")
    assert code == 0, err
    assert json.loads(out)["customer_id"] == "12346"


def test_declared_choices_match_the_code() -> None:
    from insightloop.capabilities.ingest import PRESETS, TABLES
    from insightloop.cli.recommend import SPLITS
    from insightloop.models.recommend.split import SPLITS as MODEL_SPLITS
    from insightloop.storage.presets import PRESETS as PRESET_LAYOUTS
    from insightloop.storage.schema import TABLES as SCHEMA_TABLES

    assert SPLITS == MODEL_SPLITS
    assert set(PRESETS) == set(PRESET_LAYOUTS) and set(TABLES) == set(SCHEMA_TABLES)
