"""A real Spark standalone cluster on localhost for the tests: one master, two workers.

Started once per test session from pyspark's own distribution (``bin/spark-class``
``org.apache.spark.deploy.master.Master`` and ``...worker.Worker``), each worker with one core
and 1 GB, on free ports, logs in a temporary folder; stopped at the end of the session.
Fixtures:

``spark_cluster``
    the master URL ``spark://127.0.0.1:<port>`` once both workers are registered and alive.
``spark_session_cluster``
    the process's Spark session (:func:`insightloop.storage.spark.bind_spark`) bound to that
    master; tests that ask ``spark_session("local[2]")`` afterwards get the same session.

Both skip with the reason when Java or pyspark is missing, or when the cluster does not start.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

WORKERS = 2
START_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spark_home() -> Path:
    try:
        import pyspark
    except ImportError:
        pytest.skip("pyspark is not installed (pip install 'insightloop[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs a Java runtime (java not on PATH, JAVA_HOME unset)")
    return Path(pyspark.__file__).parent


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as resp:
            state = json.load(resp)
    except (OSError, ValueError):
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


def _tail(folder: Path) -> str:
    lines: list[str] = []
    for log in sorted(folder.glob("*.log")):
        lines += [f"{log.name}: {x}" for x in log.read_text(errors="replace").splitlines()[-5:]]
    return "\n".join(lines)


class ClusterError(RuntimeError):
    """The standalone cluster did not start (the message holds the log tails)."""


@contextmanager
def standalone_cluster(home: Path, logs: Path, workers: int = WORKERS, cores: int = 1,
                       memory: str = "1g") -> Iterator[str]:
    """Run a standalone master and ``workers`` workers from the Spark distribution at
    ``home`` (pyspark's package folder); yields the master URL once every worker is alive,
    stops them all on exit. Also used by ``benchmarks/spark_pipeline.py``."""
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(logs), "PYSPARK_PYTHON": sys.executable,
           "SPARK_WORKER_DIR": str(logs / "work")}
    spark_class = str(home / "bin" / "spark-class")
    port, ui_port = _free_port(), _free_port()
    master = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []

    def launch(name: str, args: list[str]) -> None:
        with open(logs / f"{name}.log", "wb") as out:
            procs.append(subprocess.Popen([spark_class, *args], env=env, stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))

    try:
        launch("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                          "--port", str(port), "--webui-port", str(ui_port)])
        for i in range(workers):
            launch(f"worker{i}", ["org.apache.spark.deploy.worker.Worker", master,
                                  "--host", "127.0.0.1", "--cores", str(cores),
                                  "--memory", memory, "--webui-port", str(_free_port()),
                                  "--work-dir", str(logs / f"work{i}")])
        deadline = time.monotonic() + START_TIMEOUT_S
        while _alive_workers(ui_port) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise ClusterError(f"the Spark standalone cluster did not start in "
                                   f"{START_TIMEOUT_S:.0f} s; logs in {logs}:\n{_tail(logs)}")
            time.sleep(0.5)
        yield master
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a running standalone master with two alive workers (see module doc)."""
    home = _spark_home()
    cluster = standalone_cluster(home, tmp_path_factory.mktemp("spark-cluster"))
    try:
        master = cluster.__enter__()
    except ClusterError as exc:
        pytest.skip(str(exc))
    try:
        yield master
    finally:
        cluster.__exit__(None, None, None)


@pytest.fixture(scope="session")
def spark_session_cluster(spark_cluster: str) -> Iterator[Any]:
    """The process's Spark session bound to the standalone cluster (two 1-core executors)."""
    from insightloop.storage.spark import bind_spark, stop_spark

    session = bind_spark(spark_cluster, {"spark.executor.memory": "768m",
                                         "spark.executor.cores": "1",
                                         "spark.cores.max": str(WORKERS),
                                         "spark.sql.shuffle.partitions": str(WORKERS)})
    yield session
    stop_spark()
