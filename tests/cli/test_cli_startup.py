"""The CLI starts light: loading every command imports none of the heavy libraries, which
load only inside the command that needs them (issue 20: no heavy imports for commands that
do not need them)."""

from __future__ import annotations

import json
import subprocess
import sys

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
