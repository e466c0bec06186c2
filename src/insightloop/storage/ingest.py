"""Ingest a file into a canonical table: map, coerce, validate, quarantine, upsert.

All work runs in DuckDB inside one transaction: a failure or Ctrl-C anywhere
leaves the warehouse as it was. Accounting is exact and disjoint::

    rows_in = rows_loaded + rows_quarantined + rows_duplicate

* loaded: new rows, or rows whose natural key existed with different values
  (the file wins: it is the newer export);
* duplicate: rows identical to what the warehouse (or an earlier line of the
  same file) already holds, so nothing needs writing; re-ingesting a file
  gives ``rows_loaded == 0`` and ``rows_duplicate == rows_in - rows_quarantined``;
* quarantined: rows the parser could not split or that fail validation, kept
  verbatim in table ``quarantine`` with file, line, column and reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from insightloop.errors import ConfigError, IngestRefusedError
from insightloop.storage.dates import explicit_formats, typed_with_dates
from insightloop.storage.encoding import file_digest
from insightloop.storage.ingest_sql import keys_unique_by_construction
from insightloop.storage.mapping import resolve_mapping
from insightloop.storage.presets import get_preset
from insightloop.storage.readers import StagedFile, drop_temp, stage_file
from insightloop.storage.schema import TableSpec, table_spec
from insightloop.storage.sql import execute_one, ident, literal
from insightloop.storage.temp_sql import values_sql
from insightloop.storage.warehouse import Warehouse, atomic

__all__ = ["IngestResult", "ProgressFn", "committed_result", "ingest_file", "refuse_if_rejected"]

ProgressFn = Callable[[str], None]
#: Rows from which a first load streams: Online Retail x10 (5.4M lines) took 30.8 CPU s
#: with the typed copy and 35.9 without, peak RSS 1.9 GB against 1.2 GB (2 GB limit).
STREAM_ROWS = 10_000_000
#: Tables whose text is ids and short codes: their load is written without FSST string
#: compression, whose analysis was a fifth of the write of Online Retail x10 (3.4 s against
#: 4.3 s) and saved nothing there (315 blocks against 319). Free text (reviews, event
#: properties) keeps it.
NO_FSST = frozenset({"orders"})
TEMP_OBJECTS = ("__typed_all", "__stage", "__rejects", "__typed", "__actions", "__raw",
                "__orders", "__ln", "__ln_groups", "__json", "__jkind", "__jmap", "__spans",
                "__csv_rej", "__csv_scan")


@dataclass
class IngestResult:
    """Outcome of one ingest; ``as_dict`` is what ``--json`` prints."""

    table: str
    file: str
    ingest_id: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    rows_updated: int = 0
    format: str = "csv"
    encoding: str = "utf-8"
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows_in": self.rows_in,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_duplicate": self.rows_duplicate,
            "notes": list(self.notes),
        }


def ingest_file(
    warehouse: Warehouse,
    table: str,
    path: Path | str,
    *,
    mapping: dict[str, str] | None = None,
    preset: str | None = None,
    delimiter: str | None = None,
    fmt: str | None = None,
    timestamp_formats: tuple[str, ...] = (),
    on_progress: ProgressFn | None = None,
    ingest_id: str | None = None,
    max_quarantine_share: float | None = None,
) -> IngestResult:
    """Load ``path`` into canonical ``table``; see the module docstring for the accounting.

    ``timestamp_formats`` (``--date-format``): named readings (``iso``, ``day-first``,
    ``month-first``) or strptime formats that decide how dates are read; without them the
    data decides (:mod:`~insightloop.storage.dates`). ``max_quarantine_share`` (None: no
    limit): see :func:`refuse_if_rejected`.

    ``ingest_id`` (default: a fresh random id) is the id written to ``ingest_log`` when
    the load commits; a caller interrupted during the commit looks for it there.

    Examples
    --------
    >>> wh = Warehouse(":memory:")
    >>> import importlib.resources as ir
    >>> sample = ir.files("insightloop.data") / "online_retail_sample.csv.gz"
    >>> res = ingest_file(wh, "orders", Path(str(sample)), preset="online-retail")
    >>> res.rows_in == res.rows_loaded + res.rows_quarantined + res.rows_duplicate
    True
    """
    path = Path(path)
    spec = table_spec(table)
    pre = get_preset(preset) if preset else None
    if pre and pre.table != table:
        raise ConfigError(f"preset {pre.name!r} is for table {pre.table!r}, not {table!r}")
    step = on_progress or (lambda _msg: None)
    started = datetime.now()
    ingest_id = ingest_id or uuid.uuid4().hex[:12]
    sha, lines = file_digest(path) if path.exists() and path.is_file() else ("", None)
    explicit_formats(timestamp_formats)  # a bad --date-format is refused before reading
    with warehouse.connect() as con:
        try:
            # Staging and typing build connection-local temp tables only: every statement
            # there built from the file's names runs through execute_temp (one statement,
            # a SELECT or a CREATE TEMP), so it cannot change the warehouse. They run
            # before the transaction: inside one, DuckDB's rowid (the line numbering) is
            # transaction-local and, on the full Online Retail file (541,909 lines),
            # staging took 2.6-3.1 s instead of 1.6 s. Every change to the warehouse
            # happens in the one transaction below.
            step("reading")
            staged = stage_file(con, path, fmt=fmt, delimiter=delimiter, lines=lines)
            cols = resolve_mapping(spec, staged, mapping or {}, pre)
            step("validating")
            # Into an empty table, with keys that cannot repeat, every valid row is an
            # insert: a big file's rows are typed on the fly as they are written (see
            # build_typed), which bounds memory at the cost of typing twice.
            unique = keys_unique_by_construction(spec, cols)
            stream = unique and staged.rows_staged >= STREAM_ROWS and _empty(con, spec.name)
            dates, provided = typed_with_dates(con, path, spec, cols, timestamp_formats, pre,
                                               stream)
            staged.notes.extend(dates.notes)
            src = "__typed_all" if stream else "__typed"
            if spec.name in NO_FSST:
                con.execute("SET disabled_compression_methods = 'fsst'")
            with atomic(con):
                step("deduplicating")
                counts = _classify(con, spec, provided, staged.rows_staged, src, unique)
                step("writing")
                _write(con, spec, provided, path, ingest_id, sha, src)
                result = _result(con, table, path, ingest_id, staged, counts)
                refuse_if_rejected(result, max_quarantine_share)  # raises: rolled back
                con.execute("INSERT INTO ingest_log VALUES (" + values_sql(
                    ingest_id, table, str(path.resolve()), sha, result.rows_in,
                    result.rows_loaded, result.rows_quarantined, result.rows_duplicate,
                    started, datetime.now()) + ")")
        finally:
            drop_temp(con, *TEMP_OBJECTS)
            if spec.name in NO_FSST:
                con.execute("RESET disabled_compression_methods")
    step("done")
    return result


def refuse_if_rejected(result: IngestResult, max_share: float | None) -> None:
    """Refuse (raise, so the caller's transaction rolls back) a load that loads nothing
    from a file with rows, or quarantines more than ``max_share`` of them (None: no
    limit). Nothing of the file is written then, its quarantine rows included."""
    if max_share is None or not result.rows_in:
        return
    share = result.rows_quarantined / result.rows_in
    if result.rows_loaded + result.rows_duplicate and share <= max_share:
        return
    why = (f"quarantined {result.rows_quarantined:,} of {result.rows_in:,} rows "
           f"({share:.0%}, above --max-quarantine-share {max_share:g})"
           if share > max_share else "no row of it is valid")
    reasons = "; ".join(f"{n:,} x {r}" for r, n in result.top_reasons[:3]) or "none"
    notes = "".join(f" Note: {n}." for n in result.notes)
    raise IngestRefusedError(
        f"{result.file}: not loaded: {why}; top reasons: {reasons}.{notes} Nothing was "
        "written (rolled back). Fix the mapping (--map, --preset) or the dates "
        "(--date-format), or pass --max-quarantine-share 1 to load the valid rows and "
        "quarantine the rest")


def committed_result(warehouse: Warehouse, ingest_id: str) -> IngestResult | None:
    """The result of ingest ``ingest_id`` if it committed (it is in ``ingest_log``), else None.

    For a caller interrupted (Ctrl-C) while :func:`ingest_file` was running: the
    interrupt may arrive after DuckDB finished the COMMIT, and only the log can tell.
    """
    if isinstance(warehouse.path, Path) and not warehouse.path.exists():
        return None
    row = warehouse.query(
        "SELECT table_name, file, rows_in, rows_loaded, rows_quarantined, rows_duplicate "
        "FROM ingest_log WHERE ingest_id = ?", [ingest_id]).values.tolist()
    if not row:
        return None
    table, file, rows_in, loaded, quarantined, duplicate = row[0]
    return IngestResult(
        table=str(table), file=str(file), ingest_id=ingest_id, rows_in=int(rows_in),
        rows_loaded=int(loaded), rows_quarantined=int(quarantined),
        rows_duplicate=int(duplicate),
        notes=["interrupted while committing, but the commit completed: the load is in "
               f"the warehouse (ingest_log id {ingest_id})"])


def _result(con: duckdb.DuckDBPyConnection, table: str, path: Path, ingest_id: str,
            staged: StagedFile, counts: dict[str, int]) -> IngestResult:
    """The accounting of this ingest; refuses (raising, so the caller rolls back) a loss."""
    reasons = con.execute(
        "SELECT regexp_replace(split_part(reason, '; ', 1), "
        "'''[^'']*''|-?[0-9][0-9.:-]*', 'N', 'g') AS r, count(*) n "
        f"FROM quarantine WHERE ingest_id = {literal(ingest_id)} GROUP BY r ORDER BY n DESC "
        "LIMIT 5").fetchall()
    result = IngestResult(
        table=table, file=str(path), ingest_id=ingest_id,
        rows_in=staged.rows_in,
        rows_loaded=counts["insert"] + counts["update"],
        rows_updated=counts["update"],
        rows_quarantined=counts["quarantine"] + staged.rows_rejected,
        rows_duplicate=counts["duplicate"],
        format=staged.format, encoding=staged.encoding, delimiter=staged.delimiter,
        notes=staged.notes, top_reasons=[(str(r), int(n)) for r, n in reasons],
    )
    accounted = result.rows_loaded + result.rows_quarantined + result.rows_duplicate
    if accounted != result.rows_in:  # an invariant, not user error: never commit a loss
        raise AssertionError(f"row accounting broken: in={result.rows_in} "
                             f"accounted={accounted}")
    return result


def _content_hash(cols: list[str], alias: str) -> str:
    """64-bit hash of a row's columns, for comparing rows of one key within one run."""
    return f"hash({', '.join(f'{alias}.{ident(c)}' for c in cols)})"


def _empty(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return execute_one(con, f"SELECT 1 FROM {ident(table)} LIMIT 1").fetchone() is None


def _classify(con: duckdb.DuckDBPyConnection, spec: TableSpec, provided: list[str],
              rows: int, src: str = "__typed", unique: bool = False) -> dict[str, int]:
    """Decide, per valid row, insert / update / duplicate / quarantine (repeated key).

    Only rows that are *not* plain inserts are written to the narrow table
    ``__actions(__line, __action, __dup_reason)``; in a typical load that table is
    empty and nothing wide is copied. Content is compared on the ``provided``
    columns only (those the file carries or ingestion derives), so a file with fewer
    columns than the table neither counts as a change nor wipes the columns it lacks.
    ``rows``: the staged rows; ``src``: the typed rows (``__typed``, or the view
    ``__typed_all`` when ``__typed`` holds the rows with an error only); ``unique``: no
    two rows of the file can share a key (skips looking for repeats).
    """
    key = ", ".join(ident(k) for k in spec.key)
    on_vw = " AND ".join(f"v.{ident(k)} = w.{ident(k)}" for k in spec.key)
    key_text = " || ', ' || ".join(f"{literal(k + '=')} || CAST(v.{ident(k)} AS VARCHAR)"
                                   for k in spec.key)
    target_has_rows = not _empty(con, spec.name)
    con.execute("DROP TABLE IF EXISTS __actions")
    con.execute("CREATE TEMP TABLE __actions(__line BIGINT, __action VARCHAR, "
                "__dup_reason VARCHAR)")
    # Keys repeated within the file: the first occurrence competes with the warehouse,
    # later identical ones are duplicates, later different ones are quarantined.
    if not unique:
        execute_one(con, f"""
            INSERT INTO __actions
            WITH rep AS (
                SELECT v.__line, {_content_hash(provided, 'v')} AS __hash,
                       row_number() OVER (PARTITION BY {key} ORDER BY v.__line) AS __rn,
                       first_value(v.__line) OVER (PARTITION BY {key} ORDER BY v.__line)
                           AS __first_line,
                       first_value({_content_hash(provided, 'v')}) OVER (PARTITION BY {key}
                           ORDER BY v.__line) AS __first_hash,
                       {key_text} AS __key_text
                FROM {src} v SEMI JOIN (
                    SELECT {key} FROM {src} WHERE __reason IS NULL
                    GROUP BY ALL HAVING count(*) > 1
                ) w ON {on_vw}
                WHERE v.__reason IS NULL
            )
            SELECT __line,
                   CASE WHEN __hash = __first_hash THEN 'duplicate' ELSE 'quarantine' END,
                   CASE WHEN __hash <> __first_hash THEN 'duplicate key (' || __key_text
                        || ') first seen on line ' || __first_line || ' with different values'
                   END
            FROM rep WHERE __rn > 1
        """)
    if target_has_rows:
        # First occurrences whose key is already in the warehouse: same content on the
        # provided columns is a duplicate, anything else an update.
        execute_one(con, f"""
            INSERT INTO __actions
            SELECT v.__line,
                   CASE WHEN {_content_hash(provided, 'v')} = {_content_hash(provided, 'w')}
                        THEN 'duplicate' ELSE 'update' END, NULL
            FROM {src} v JOIN {ident(spec.name)} w ON {on_vw}
            WHERE v.__reason IS NULL
              AND v.__line NOT IN (SELECT __line FROM __actions)
        """)
    row = con.execute("""
        SELECT count(*) FILTER (WHERE __reason IS NOT NULL),
               (SELECT count(*) FILTER (WHERE __action = 'update') FROM __actions),
               (SELECT count(*) FILTER (WHERE __action = 'duplicate') FROM __actions),
               (SELECT count(*) FILTER (WHERE __action = 'quarantine') FROM __actions)
        FROM __typed
    """).fetchone()
    assert row is not None
    invalid, update, duplicate, dup_quarantine = (int(x) for x in row)
    valid = rows - invalid
    return {"insert": valid - update - duplicate - dup_quarantine, "update": update,
            "duplicate": duplicate, "quarantine": invalid + dup_quarantine}


def _write(con: duckdb.DuckDBPyConnection, spec: TableSpec, provided: list[str], path: Path,
           ingest_id: str, sha: str, src: str = "__typed") -> None:
    cols = ", ".join(ident(c) for c in spec.names)
    has_actions = con.execute("SELECT 1 FROM __actions LIMIT 1").fetchone() is not None
    skip = " AND __line NOT IN (SELECT __line FROM __actions)" if has_actions else ""
    execute_one(con, f"INSERT INTO {ident(spec.name)} ({cols}) SELECT {cols} FROM {src} "
                f"WHERE __reason IS NULL{skip}")
    if has_actions:
        # Updates touch only the columns the file provides; the rest keep their values.
        sets = ", ".join(f"{ident(c)} = u.{ident(c)}" for c in provided if c not in spec.key)
        on = " AND ".join(f"{ident(spec.name)}.{ident(k)} = u.{ident(k)}" for k in spec.key)
        if sets:
            execute_one(con, f"""
                UPDATE {ident(spec.name)} SET {sets}
                FROM (SELECT t.* FROM {src} t JOIN __actions a ON a.__line = t.__line
                      WHERE a.__action = 'update') u
                WHERE {on}
            """)
    # A re-run of the same file replaces its earlier quarantine rows instead of repeating them.
    con.execute(f"DELETE FROM quarantine WHERE table_name = {literal(spec.name)} AND "
                f"file_sha256 = {literal(sha)}")
    who, now = values_sql(ingest_id, spec.name, str(path), sha), values_sql(datetime.now())
    con.execute(
        # The raw record (as JSON) is rebuilt from the staging table for quarantined rows
        # only: serialising every row up front was the costliest step of typing.
        f"INSERT INTO quarantine SELECT {who}, q.__line, q.__column, q.__why, "
        f"json_merge_patch(to_json(s), '{{\"__line\": null}}')::VARCHAR, {now} "
        "FROM (SELECT __line, __column, __reason AS __why FROM __typed "
        "      WHERE __reason IS NOT NULL "
        "      UNION ALL "
        "      SELECT a.__line, NULL, a.__dup_reason FROM __actions a "
        "      WHERE a.__action = 'quarantine') q "
        "JOIN __stage s ON s.__line = q.__line ORDER BY q.__line")
    con.execute(f"INSERT INTO quarantine SELECT {who}, line, column_name, "
                f"'unparseable record: ' || reason, raw, {now} FROM __rejects")
