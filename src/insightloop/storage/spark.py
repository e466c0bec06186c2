"""Apache Spark as an execution engine for the engine-neutral (Ibis) pipelines.

Tables move from the DuckDB warehouse to Spark as Parquet files (columnar, no
row-by-row transfer). Spark runs in UTC so naive warehouse timestamps keep
their wall-clock values on both engines.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from insightloop.errors import ConfigError
from insightloop.storage.sql import execute_one, ident, literal

if TYPE_CHECKING:
    import ibis.backends.pyspark

_SESSION: Any = None


def spark_session(master: str = "local[2]") -> Any:
    """Start (once per process) a Spark session configured for insightloop."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    try:
        # lazy: pyspark is the optional [spark] extra (1 s and a JVM), for engine 'spark' only
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("engine 'spark' needs pyspark: pip install 'insightloop[spark]'") from exc
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    _SESSION = (
        SparkSession.builder.master(master)
        .appName("insightloop")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


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
