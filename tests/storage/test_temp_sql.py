"""Nothing that runs before the ingest transaction can change a warehouse table."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hostile_corpus import INJECTION, orders
from ingest_helpers import digest

from insightloop.storage.ingest import ingest_file
from insightloop.storage.sql import UnsafeSqlError
from insightloop.storage.temp_sql import execute_temp
from insightloop.storage.warehouse import Warehouse


@pytest.mark.parametrize("sql", [
    "DELETE FROM orders",
    "CREATE TABLE pwned AS SELECT 42",
    "CREATE TEMP TABLE t AS SELECT 1; DELETE FROM orders",
    "SELECT 1; DROP TABLE orders",
    "INSERT INTO orders SELECT * FROM orders",
])
def test_execute_temp_refuses_writes_and_chains(sql: str) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE orders AS SELECT 1 AS x")
    with pytest.raises(UnsafeSqlError, match="nothing was run"):
        execute_temp(con, sql)
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (1,)


def test_execute_temp_runs_temp_statements() -> None:
    con = duckdb.connect()
    execute_temp(con, 'CREATE TEMP TABLE "a""b" AS SELECT 1 AS x')
    assert execute_temp(con, 'SELECT x FROM "a""b"').fetchone() == (1,)


class _Spy:
    """A connection that records every statement and whether a transaction was open."""

    def __init__(self, con: duckdb.DuckDBPyConnection, log: list[tuple[bool, str]]) -> None:
        self._con, self._log, self._open = con, log, False

    def execute(self, sql: str, *args: Any) -> Any:
        text = " ".join(sql.split())
        if text.startswith("BEGIN"):
            self._open = True
        self._log.append((self._open, text))
        if text in ("COMMIT", "ROLLBACK"):
            self._open = False
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class _SpyWarehouse(Warehouse):
    def __init__(self, path: Path, log: list[tuple[bool, str]]) -> None:
        super().__init__(path)
        self.log = log

    @contextmanager
    def connect(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with super().connect(*args, **kwargs) as con:
            yield _Spy(con, self.log)


# What may run outside the transaction: reads, temp objects, and our staging tables.
_OUTSIDE = re.compile(
    r"^(SELECT |DESCRIBE SELECT |CREATE TEMP (TABLE|VIEW) |DROP (TABLE|VIEW) (IF EXISTS )?"
    r"(temp\.main\.\"__\w+\"|__\w+)$|INSERT INTO __rejects |UPDATE __rejects |DROP TABLE __\w+$"
    r"|SET |RESET |PRAGMA )")


@pytest.mark.parametrize("name", ["o.csv", "o.jsonl"])
def test_only_temp_work_runs_outside_the_transaction(
        base_wh: Warehouse, write: Callable[..., Path], name: str) -> None:
    log: list[tuple[bool, str]] = []
    assert isinstance(base_wh.path, Path)
    spy = _SpyWarehouse(base_wh.path, log)
    text = orders({INJECTION: "v", "e\"x": "w"})
    if name.endswith(".jsonl"):
        import csv
        import io
        import json
        rows = list(csv.DictReader(io.StringIO(text)))
        text = "".join(json.dumps(r) + "\n" for r in rows)
    before = digest(base_wh)
    res = ingest_file(spy, "orders", write(name, text))
    assert res.rows_loaded == 2
    outside = [sql for inside, sql in log if not inside and sql not in ("BEGIN TRANSACTION",)]
    assert outside, "the spy saw no statements"
    bad = [sql[:120] for sql in outside
           if not _OUTSIDE.match(sql) or len(duckdb.extract_statements(sql)) != 1]
    assert not bad, bad
    inside = [sql for was_open, sql in log if was_open]
    assert inside[0] == "BEGIN TRANSACTION" and inside[-1] == "COMMIT"
    after = digest(base_wh)
    assert after["orders"][0] == before["orders"][0] + 2
