"""The CLI starts light: loading every command imports none of the heavy libraries, which
load only inside the command that needs them (issue 20: no heavy imports for commands that
do not need them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

HEAVY = ("pandas", "numpy", "duckdb", "pyarrow", "sklearn", "scipy", "lightgbm", "plotly",
         "sqlalchemy", "alembic", "fastapi", "httpx", "jinja2", "ibis", "pyspark")


def test_loading_every_command_imports_nothing_heavy() -> None:
    code = ("import json, sys; import insightloop.cli.main as m; m._load_commands(); "
            f"print(json.dumps([k for k in {HEAVY!r} if k in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_version_answers_without_loading_commands_heavily() -> None:
    out = subprocess.run([sys.executable, "-m", "insightloop.cli.main", "--version"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("insightloop ")


def test_ingest_loads_no_dataframe_or_model_library(tmp_path: Path) -> None:
    """`ingest` runs in DuckDB: pandas, pyarrow and the model libraries stay unloaded
    (pandas alone took seconds of a whole-process ingest; DuckDB's Python client imports it
    at the first bound parameter, so the ingest path binds none). numpy is needed: the
    warehouse's block checksums (storage/integrity.py)."""
    sample = files("insightloop.data") / "online_retail_sample.csv.gz"
    code = ("import json, sys; from insightloop.cli.main import main\n"
            f"sys.argv = ['insightloop', 'ingest', 'orders', {str(sample)!r}, "
            "'--preset', 'online-retail', '--json']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            f"print(json.dumps([k for k in {HEAVY!r} if k not in ('duckdb', 'numpy') "
            "and k in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ,
                                          "INSIGHTLOOP_WAREHOUSE": str(tmp_path / "w.duckdb")})
    lines = out.stdout.strip().splitlines()
    assert json.loads(lines[-2])["rows_loaded"] > 0
    assert json.loads(lines[-1]) == []
