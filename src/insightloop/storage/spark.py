"""Apache Spark as an execution engine: the session, and Ibis backends over it.

One Spark session per process (:func:`spark_session`); :func:`bind_spark` replaces it with
one bound to another master (a standalone cluster ``spark://host:7077`` in tests and
production). Spark runs in UTC so naive warehouse timestamps keep their wall-clock values
on both engines. On a DuckDB-file warehouse, tables move to Spark as Parquet files
(:func:`spark_backend`); on a lake (:mod:`insightloop.storage.lake`) Spark reads them in place.

Settings read from the environment when the session starts (``docs/scale-out.md``):
``INSIGHTLOOP_SPARK_DRIVER_MEMORY`` (default 2g), ``INSIGHTLOOP_SPARK_EXECUTOR_MEMORY``
(Spark's default 1g), ``INSIGHTLOOP_SPARK_EXECUTOR_CORES``, ``INSIGHTLOOP_SPARK_PARTITIONS``
(shuffle partitions, default 4).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from insightloop.errors import ConfigError
from insightloop.storage.sql import execute_one, ident, literal

if TYPE_CHECKING:
    import ibis.backends.pyspark

_SESSION: Any = None
_MASTER: str | None = None


def _builder_options() -> dict[str, str]:
    env = os.environ
    options = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": env.get("INSIGHTLOOP_SPARK_PARTITIONS", "4"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": env.get("INSIGHTLOOP_SPARK_DRIVER_MEMORY", "2g"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    }
    if env.get("INSIGHTLOOP_SPARK_EXECUTOR_MEMORY"):
        options["spark.executor.memory"] = env["INSIGHTLOOP_SPARK_EXECUTOR_MEMORY"]
    if env.get("INSIGHTLOOP_SPARK_EXECUTOR_CORES"):
        options["spark.executor.cores"] = env["INSIGHTLOOP_SPARK_EXECUTOR_CORES"]
    return options


def spark_session(master: str = "local[2]", conf: dict[str, str] | None = None) -> Any:
    """The process's Spark session, started on ``master`` the first time.

    Later calls return the running session whatever ``master`` they name; use
    :func:`bind_spark` to move the process to another master. ``conf`` adds Spark settings
    (e.g. ``{"spark.executor.memory": "512m"}``) to those of the environment.
    """
    global _SESSION, _MASTER
    if _SESSION is not None:
        return _SESSION
    try:
        # lazy: pyspark is the optional [spark] extra (1 s and a JVM), for engine 'spark' only
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("engine 'spark' needs pyspark: pip install 'insightloop[spark]'") from exc
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Executors on a cluster run the driver's Python (same version, same packages).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName("insightloop")
    for key, value in {**_builder_options(), **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        _SESSION = builder.getOrCreate()
    except Exception as exc:
        raise ConfigError(f"cannot start Spark on master {master!r} "
                          f"(INSIGHTLOOP_SPARK_MASTER): {str(exc).splitlines()[0]}") from exc
    _SESSION.sparkContext.setLogLevel("ERROR")
    _MASTER = master
    return _SESSION


def bind_spark(master: str, conf: dict[str, str] | None = None) -> Any:
    """The process's Spark session on ``master``: the running one when it already is, else
    the running one stopped and a new one started there."""
    global _SESSION, _MASTER
    if _SESSION is not None and master == _MASTER:
        return _SESSION
    stop_spark()
    return spark_session(master, conf)


def stop_spark() -> None:
    """Stop the process's Spark session (nothing when none runs)."""
    global _SESSION, _MASTER
    if _SESSION is not None:
        _SESSION.stop()
    _SESSION = None
    _MASTER = None


def spark_backend(duck: duckdb.DuckDBPyConnection, tables: list[str], master: str = "local[2]",
                  workdir: Path | None = None) -> ibis.backends.pyspark.Backend:
    """An Ibis Spark backend with ``tables`` copied from the DuckDB connection via Parquet."""
    # lazy: ibis (2.9 s) only when a pipeline runs on Spark
    import ibis

    session = spark_session(master)
    con = ibis.pyspark.connect(session)
    folder = workdir or Path(tempfile.mkdtemp(prefix="insightloop-spark-"))
    for name in tables:
        path = folder / f"{name}.parquet"
        execute_one(duck, f"COPY (SELECT * FROM {ident(name)}) TO {literal(str(path))} "
                          "(FORMAT parquet)")
        session.read.parquet(str(path)).createOrReplaceTempView(name)
    return con
