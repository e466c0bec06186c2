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

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from insightloop.errors import ConfigError, SchemaError
from insightloop.storage.presets import Preset, get_preset
from insightloop.storage.readers import DELIMITERS, StagedFile, drop_temp, stage_file
from insightloop.storage.schema import ColumnSpec, TableSpec, table_spec
from insightloop.storage.warehouse import Warehouse, atomic

ProgressFn = Callable[[str], None]

# Derived columns that apply whatever the source, when the file does not carry them.
DEFAULT_DERIVED: dict[str, dict[str, str]] = {
    "orders": {"status": "CASE WHEN quantity < 0 THEN 'returned' ELSE 'completed' END"},
}
UNTRIMMED = ("int", "float", "timestamp")  # types whose casts skip surrounding blanks
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")


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
        }


def load_mapping_file(path: Path) -> dict[str, str]:
    """Read a YAML mapping: ``{canonical: source}``, optionally under a ``columns:`` key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read mapping file {path}: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(
            f"mapping file {path} must map canonical names to source column names, "
            "e.g. `columns: {order_id: InvoiceNo}`"
        )
    return {str(k): str(v) for k, v in data.items()}


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve_mapping(spec: TableSpec, staged: StagedFile, explicit: dict[str, str],
                    preset: Preset | None) -> dict[str, str]:
    """Canonical column → source column, from preset, explicit flags, then same-name columns."""
    mapping: dict[str, str] = dict(preset.mapping) if preset else {}
    unknown = sorted(set(explicit) - set(spec.names))
    if unknown:
        raise SchemaError(f"{staged.path}: mapping names unknown {spec.name} column(s) "
                          f"{unknown}; canonical columns are {spec.names}")
    mapping.update(explicit)
    by_norm = {_norm(c): c for c in staged.columns}
    for col in spec.names:
        if col not in mapping and _norm(col) in by_norm:
            mapping[col] = by_norm[_norm(col)]
    absent = {c: s for c, s in mapping.items() if s not in staged.columns}
    if absent:
        raise SchemaError(
            f"{staged.path}: mapped source column(s) not in the file: "
            + ", ".join(f"{s!r} (for {c})" for c, s in absent.items())
            + f"; the file's columns are {staged.columns}"
        )
    derived = set(preset.derived) if preset else set()
    missing = [c for c in spec.required if c not in mapping and c not in derived]
    if missing:
        hint = ""
        if len(staged.columns) == 1 and any(d in staged.columns[0] for d in DELIMITERS):
            hint = (" The header is a single column: the file probably uses another "
                    "delimiter; pass --delimiter.")
        raise SchemaError(
            f"{staged.path}, line 1: required {spec.name} column(s) {missing} not found; "
            f"the file's columns are {staged.columns}. Map them with --map CANONICAL=SOURCE "
            f"or --mapping FILE.{hint}"
        )
    return mapping


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _typed_expr(col: ColumnSpec, raw: str, formats: tuple[str, ...]) -> str:
    if col.type == "id":
        # Spreadsheet exports write numeric ids as floats ("17850.0").
        return (rf"CASE WHEN {raw} LIKE '%.0' THEN regexp_replace({raw}, '\.0+$', '') "
                rf"ELSE {raw} END")
    if col.type in ("string",):
        return raw
    if col.type == "int":
        dbl = f"TRY_CAST({raw} AS DOUBLE)"
        # Not TRY_CAST(raw AS BIGINT): DuckDB rounds '2.5' to 3 instead of failing.
        return f"CASE WHEN {dbl} = round({dbl}) THEN TRY_CAST({dbl} AS BIGINT) END"
    if col.type == "float":
        dbl = f"TRY_CAST({raw} AS DOUBLE)"
        return f"CASE WHEN isfinite({dbl}) THEN {dbl} END"
    if col.type == "timestamp":
        options = [f"TRY_CAST({raw} AS TIMESTAMP)"]
        options += [f"TRY_STRPTIME({raw}, {_lit(f)})" for f in formats]
        return f"COALESCE({', '.join(options)})"
    if col.type == "bool":
        t = ", ".join(_lit(w) for w in TRUE_WORDS)
        f = ", ".join(_lit(w) for w in FALSE_WORDS)
        return (f"CASE WHEN lower({raw}) IN ({t}) THEN true "
                f"WHEN lower({raw}) IN ({f}) THEN false END")
    if col.type == "json":
        return f"CASE WHEN json_valid({raw}) THEN {raw} END"
    raise AssertionError(col.type)


def _error_expr(col: ColumnSpec, raw: str, fk_tables: set[str]) -> str:
    c = _q(col.name)
    checks = []
    if col.required:
        blank = f" OR ({c} IS NULL AND trim({raw}) = '')" if col.type in UNTRIMMED else ""
        checks.append(f"WHEN {raw} IS NULL{blank} THEN 'missing required value'")
    elif col.type in UNTRIMMED:
        checks.append(f"WHEN {c} IS NULL AND trim({raw}) = '' THEN NULL")
    checks.append(f"WHEN {raw} IS NOT NULL AND {c} IS NULL THEN "
                  f"'not a valid {col.type}: ' || {_lit(chr(39))} || left({raw}, 60) || "
                  f"{_lit(chr(39))}")
    if col.minimum is not None:
        checks.append(f"WHEN {c} < {col.minimum} THEN 'value ' || {c} || ' is below the "
                      f"minimum {col.minimum:g}'")
    if col.maximum is not None:
        checks.append(f"WHEN {c} > {col.maximum} THEN 'value ' || {c} || ' is above the "
                      f"maximum {col.maximum:g}'")
    if col.nonzero:
        checks.append(f"WHEN {c} = 0 THEN 'zero is not allowed'")
    if col.allowed:
        allowed = ", ".join(_lit(a) for a in col.allowed)
        checks.append(f"WHEN {c} NOT IN ({allowed}) THEN 'value ''' || {c} || ''' is not one "
                      f"of {', '.join(col.allowed)}'")
    if col.type == "timestamp":
        checks.append(f"WHEN {c} > now()::TIMESTAMP + INTERVAL 1 DAY THEN "
                      f"'timestamp ' || {c} || ' is in the future'")
    if col.references and col.references[0] in fk_tables:
        rt, rc = col.references
        checks.append(f"WHEN {c} IS NOT NULL AND {c} NOT IN (SELECT {_q(rc)} FROM {_q(rt)}) "
                      f"THEN 'unknown {col.name} ''' || {c} || ''' (not in {rt})'")
    return "CASE " + " ".join(checks) + " END"


def _table_rules(spec: TableSpec) -> dict[str, str]:
    """Cross-column rules: column → SQL error expression (NULL when fine)."""
    if spec.name == "orders":
        return {"quantity": "CASE WHEN quantity < 0 AND status NOT IN ('cancelled', 'returned') "
                            "THEN 'negative quantity ' || quantity || ' on a ' || status || "
                            "' line (only cancelled/returned lines may be negative)' END"}
    return {}


def _row_hash(cols: list[str], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    parts = ", ".join(f"coalesce(CAST({prefix}{_q(c)} AS VARCHAR), chr(0))" for c in cols)
    return f"md5(concat_ws(chr(31), {parts}))"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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
) -> IngestResult:
    """Load ``path`` into canonical ``table``; see the module docstring for the accounting.

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
    ingest_id = uuid.uuid4().hex[:12]
    sha = file_sha256(path) if path.exists() and path.is_file() else ""
    with warehouse.connect() as con:
        try:
            # Staging, typing and classification build connection-local temp tables and
            # do not touch the warehouse, so they run outside the transaction (DuckDB
            # builds temp tables about twice as fast outside one). Every change to the
            # warehouse happens in the one transaction below.
            step("reading")
            staged = stage_file(con, path, fmt=fmt, delimiter=delimiter)
            cols = resolve_mapping(spec, staged, mapping or {}, pre)
            step("validating")
            formats = tuple(timestamp_formats) + (pre.timestamp_formats if pre else ())
            provided = _build_typed(con, spec, cols, pre, formats)
            step("deduplicating")
            with atomic(con):
                counts = _classify(con, spec, provided)
                step("writing")
                _write(con, spec, provided, path, ingest_id, sha)
                result = _result(con, table, path, ingest_id, staged, counts)
                con.execute(
                    "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [ingest_id, table, str(path.resolve()), sha, result.rows_in,
                     result.rows_loaded, result.rows_quarantined, result.rows_duplicate,
                     started, datetime.now()],
                )
        finally:
            drop_temp(con, "__stage", "__rejects", "__typed", "__actions", "__raw", "__orders")
    step("done")
    return result


def _result(con: duckdb.DuckDBPyConnection, table: str, path: Path, ingest_id: str,
            staged: StagedFile, counts: dict[str, int]) -> IngestResult:
    """The accounting of this ingest; refuses (raising, so the caller rolls back) a loss."""
    reasons = con.execute(
        "SELECT regexp_replace(split_part(reason, '; ', 1), "
        "'''[^'']*''|-?[0-9][0-9.:-]*', 'N', 'g') AS r, count(*) n "
        "FROM quarantine WHERE ingest_id = ? GROUP BY r ORDER BY n DESC LIMIT 5", [ingest_id]
    ).fetchall()
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


def _line_numbers(con: duckdb.DuckDBPyConnection, order_id: str) -> tuple[str, str, str]:
    """SQL pieces (CTE, joins, expression) numbering lines 1..n within each order, in file order.

    Exports almost always write an order's lines together; for such an order the number
    is the line's offset from the order's first line, which needs only a hash aggregate
    over the orders. The few orders whose lines are interleaved with others' (or broken
    by a multi-line or rejected record) are numbered by a window over their own lines.
    Both give the same 1..n numbering; a window over every line costs about three times
    as much at 5M rows.
    """
    con.execute("DROP TABLE IF EXISTS __orders")
    con.execute(f"""
        CREATE TEMP TABLE __orders AS
        SELECT {order_id} AS __ln_order, min(s.__line) AS __ln_first,
               max(s.__line) - min(s.__line) + 1 = count(*) AS __ln_contiguous
        FROM __stage s GROUP BY ALL
    """)
    cte = (f"ln AS (SELECT s.__line AS __ln_line, row_number() OVER (PARTITION BY "
           f"{order_id} ORDER BY s.__line) AS __ln FROM __stage s "
           f"SEMI JOIN (SELECT __ln_order FROM __orders WHERE NOT __ln_contiguous) x "
           f"ON x.__ln_order = {order_id}),")
    joins = ("LEFT JOIN __orders o ON o.__ln_order = t.order_id "
             "LEFT JOIN ln ON ln.__ln_line = t.__line")
    return cte, joins, ("CASE WHEN o.__ln_contiguous THEN t.__line - o.__ln_first + 1 "
                        "ELSE ln.__ln END")


def _build_typed(con: duckdb.DuckDBPyConnection, spec: TableSpec, cols: dict[str, str],
                 pre: Preset | None, formats: tuple[str, ...]) -> list[str]:
    """Create ``__typed``: canonical typed columns, ``__reason`` and ``__column``.

    Returns the canonical columns the rows actually provide (mapped, derived or a
    derived key); the others are NULL placeholders.
    """
    derived = dict(DEFAULT_DERIVED.get(spec.name, {}))
    if pre:
        derived.update(pre.derived)
    # Casts to numbers and timestamps ignore surrounding blanks, so only text-like
    # columns pay for trim(); a blank-only value still reads as missing (see _error_expr).
    raw_sel = ", ".join(
        (f"NULLIF(CAST(s.{_q(src)} AS VARCHAR), '')"
         if spec.column(c).type in UNTRIMMED else
         f"NULLIF(trim(CAST(s.{_q(src)} AS VARCHAR)), '')") + f" AS {_q('__raw_' + c)}"
        for c, src in cols.items()
    )
    typed_sel = ", ".join(
        f"{_typed_expr(spec.column(c), _q('__raw_' + c), formats)}::"
        f"{spec.column(c).sql_type} AS {_q(c)}"
        for c in cols
    )
    rest = []
    placeholders: set[str] = set()
    hashed: list[str] = []
    ln_cte = ln_join = ""
    for col in spec.columns:
        if col.name in cols:
            continue
        if col.name in derived:
            rest.append(f"({derived[col.name]})::{col.sql_type} AS {_q(col.name)}")
        elif col.name in spec.derived_key and col.name == "line_no" and "order_id" in cols:
            order_id = _typed_expr(spec.column("order_id"),
                                   f"NULLIF(trim(CAST(s.{_q(cols['order_id'])} AS VARCHAR)), '')",
                                   formats)
            ln_cte, ln_join, line_no = _line_numbers(con, order_id)
            rest.append(f"{line_no} AS line_no")
        elif col.name in spec.derived_key and col.name == "line_no":
            rest.append("row_number() OVER (PARTITION BY order_id ORDER BY __line) AS line_no")
        elif col.name in spec.derived_key:
            # A content hash can only see columns defined in an earlier CTE.
            content = [c.name for c in spec.columns if c.name not in spec.key]
            hashed.append(f"{_row_hash(content)} AS {_q(col.name)}")
        else:
            rest.append(f"NULL::{col.sql_type} AS {_q(col.name)}")
            placeholders.add(col.name)
    fk_tables = {
        c.references[0] for c in spec.columns
        if c.references and c.references[0] != spec.name
        and (con.execute(f"SELECT count(*) FROM {_q(c.references[0])}").fetchone() or [0])[0]
    }
    errs = [
        f"{_error_expr(spec.column(c), _q('__raw_' + c), fk_tables)} AS {_q('__err_' + c)}"
        for c in cols
    ]
    for c, expr in _table_rules(spec).items():
        errs.append(f"{expr} AS {_q('__rule_' + c)}")
    err_names = [f"__err_{c}" for c in cols] + [f"__rule_{c}" for c in _table_rules(spec)]
    # Build reason text only for rows with an error (usually well under 1 %).
    any_error = " OR ".join(f"{_q(e)} IS NOT NULL" for e in err_names)
    reason = f"CASE WHEN {any_error} THEN concat_ws('; ', " + ", ".join(
        f"CASE WHEN {_q(e)} IS NOT NULL THEN "
        f"{_lit(e.split('_', 3)[-1] + ': ')} || {_q(e)} END" for e in err_names
    ) + ") END"
    column = "COALESCE(" + ", ".join(
        f"CASE WHEN {_q(e)} IS NOT NULL THEN {_lit(e.split('_', 3)[-1])} END" for e in err_names
    ) + ")"
    con.execute("DROP TABLE IF EXISTS __typed")
    con.execute(f"""
        CREATE TEMP TABLE __typed AS
        WITH r AS (SELECT s.__line, {raw_sel} FROM __stage s),
        t AS (SELECT *, {typed_sel} FROM r), {ln_cte}
        d AS (SELECT t.*, {', '.join(rest) if rest else '1 AS __nothing'} FROM t {ln_join}),
        k AS (SELECT *{''.join(', ' + h for h in hashed)} FROM d),
        e AS (SELECT *, {', '.join(errs)} FROM k)
        SELECT __line, {', '.join(_q(c) for c in spec.names)},
               NULLIF({reason}, '') AS __reason, {column} AS __column
        FROM e
    """)
    return [c for c in spec.names if c not in placeholders]


def _content_hash(cols: list[str], alias: str) -> str:
    """64-bit hash of a row's columns, for comparing rows of one key within one run."""
    return f"hash({', '.join(f'{alias}.{_q(c)}' for c in cols)})"


def _classify(con: duckdb.DuckDBPyConnection, spec: TableSpec,
              provided: list[str]) -> dict[str, int]:
    """Decide, per valid row, insert / update / duplicate / quarantine (repeated key).

    Only rows that are *not* plain inserts are written to the narrow table
    ``__actions(__line, __action, __dup_reason)``; in a typical load that table is
    empty and nothing wide is copied. Content is compared on the ``provided``
    columns only (those the file carries or ingestion derives), so a file with fewer
    columns than the table neither counts as a change nor wipes the columns it lacks.
    """
    key = ", ".join(_q(k) for k in spec.key)
    on_vw = " AND ".join(f"v.{_q(k)} = w.{_q(k)}" for k in spec.key)
    key_text = " || ', ' || ".join(f"{_lit(k + '=')} || CAST(v.{_q(k)} AS VARCHAR)"
                                   for k in spec.key)
    target_has_rows = con.execute(f"SELECT 1 FROM {_q(spec.name)} LIMIT 1").fetchone() is not None
    con.execute("DROP TABLE IF EXISTS __actions")
    con.execute("CREATE TEMP TABLE __actions(__line BIGINT, __action VARCHAR, "
                "__dup_reason VARCHAR)")
    # Keys repeated within the file: the first occurrence competes with the warehouse,
    # later identical ones are duplicates, later different ones are quarantined.
    con.execute(f"""
        INSERT INTO __actions
        WITH rep AS (
            SELECT v.__line, {_content_hash(provided, 'v')} AS __hash,
                   row_number() OVER (PARTITION BY {key} ORDER BY v.__line) AS __rn,
                   first_value(v.__line) OVER (PARTITION BY {key} ORDER BY v.__line)
                       AS __first_line,
                   first_value({_content_hash(provided, 'v')}) OVER (PARTITION BY {key}
                       ORDER BY v.__line) AS __first_hash,
                   {key_text} AS __key_text
            FROM __typed v SEMI JOIN (
                SELECT {key} FROM __typed WHERE __reason IS NULL
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
        con.execute(f"""
            INSERT INTO __actions
            SELECT v.__line,
                   CASE WHEN {_content_hash(provided, 'v')} = {_content_hash(provided, 'w')}
                        THEN 'duplicate' ELSE 'update' END, NULL
            FROM __typed v JOIN {_q(spec.name)} w ON {on_vw}
            WHERE v.__reason IS NULL
              AND v.__line NOT IN (SELECT __line FROM __actions)
        """)
    row = con.execute("""
        SELECT count(*) FILTER (WHERE __reason IS NULL),
               count(*) FILTER (WHERE __reason IS NOT NULL),
               (SELECT count(*) FILTER (WHERE __action = 'update') FROM __actions),
               (SELECT count(*) FILTER (WHERE __action = 'duplicate') FROM __actions),
               (SELECT count(*) FILTER (WHERE __action = 'quarantine') FROM __actions)
        FROM __typed
    """).fetchone()
    assert row is not None
    valid, invalid, update, duplicate, dup_quarantine = (int(x) for x in row)
    return {"insert": valid - update - duplicate - dup_quarantine, "update": update,
            "duplicate": duplicate, "quarantine": invalid + dup_quarantine}


def _write(con: duckdb.DuckDBPyConnection, spec: TableSpec, provided: list[str], path: Path,
           ingest_id: str, sha: str) -> None:
    cols = ", ".join(_q(c) for c in spec.names)
    has_actions = con.execute("SELECT 1 FROM __actions LIMIT 1").fetchone() is not None
    skip = " AND __line NOT IN (SELECT __line FROM __actions)" if has_actions else ""
    con.execute(f"INSERT INTO {_q(spec.name)} ({cols}) SELECT {cols} FROM __typed "
                f"WHERE __reason IS NULL{skip}")
    if has_actions:
        # Updates touch only the columns the file provides; the rest keep their values.
        sets = ", ".join(f"{_q(c)} = u.{_q(c)}" for c in provided if c not in spec.key)
        on = " AND ".join(f"{_q(spec.name)}.{_q(k)} = u.{_q(k)}" for k in spec.key)
        if sets:
            con.execute(f"""
                UPDATE {_q(spec.name)} SET {sets}
                FROM (SELECT t.* FROM __typed t JOIN __actions a ON a.__line = t.__line
                      WHERE a.__action = 'update') u
                WHERE {on}
            """)
    # A re-run of the same file replaces its earlier quarantine rows instead of repeating them.
    con.execute("DELETE FROM quarantine WHERE table_name = ? AND file_sha256 = ?",
                [spec.name, sha])
    now = datetime.now()
    con.execute(
        # The raw record (as JSON) is rebuilt from the staging table for quarantined rows
        # only: serialising every row up front was the costliest step of typing.
        "INSERT INTO quarantine SELECT ?, ?, ?, ?, q.__line, q.__column, q.__why, "
        "json_merge_patch(to_json(s), '{\"__line\": null}')::VARCHAR, ? "
        "FROM (SELECT __line, __column, __reason AS __why FROM __typed "
        "      WHERE __reason IS NOT NULL "
        "      UNION ALL "
        "      SELECT a.__line, NULL, a.__dup_reason FROM __actions a "
        "      WHERE a.__action = 'quarantine') q "
        "JOIN __stage s ON s.__line = q.__line ORDER BY q.__line",
        [ingest_id, spec.name, str(path), sha, now],
    )
    con.execute(
        "INSERT INTO quarantine SELECT ?, ?, ?, ?, line, column_name, "
        "'unparseable record: ' || reason, raw, ? FROM __rejects",
        [ingest_id, spec.name, str(path), sha, now],
    )
