"""Read CSV / Parquet / JSON (lines or array) files into an all-VARCHAR staging table.

The staging relation ``__stage`` (a temp table, or for a plain CSV a view over
the parsed table, so the rows are not copied) has the file's columns as VARCHAR plus
``__line``: the 1-based physical line where the record starts (CSV, JSON
lines; the header is line 1) or the 1-based row number (Parquet, JSON arrays).
Records the parser cannot split (broken quoting, wrong column count, a field
over the size limit, a JSON element that is not an object) land in
``__rejects(line, column_name, reason, raw)``. Nothing is dropped:
``rows in = staged rows + rejected records``.

No SQL text is ever taken from the file: column names (CSV header, JSON keys, Parquet
columns) reach SQL only through :func:`~insightloop.storage.sql.ident` and
:func:`~insightloop.storage.sql.literal`, statements built from them run through
:func:`~insightloop.storage.temp_sql.execute_temp` (one statement, temp objects
only), and the names are first made unique and printable by
:func:`~insightloop.storage.names.clean_names`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from insightloop.errors import InputFileError
from insightloop.storage.encoding import head_bytes, open_bytes, refuse_non_text, utf8_source
from insightloop.storage.names import clean_names
from insightloop.storage.readers_csv import DELIMITERS, MAX_FIELD_BYTES, stage_csv
from insightloop.storage.sql import execute_one, ident, literal
from insightloop.storage.temp_sql import execute_temp, first_line, one

__all__ = ["DELIMITERS", "FORMATS", "MAX_FIELD_BYTES", "StagedFile", "detect_format",
           "drop_temp", "stage_file"]
FORMATS = ("csv", "parquet", "jsonl")


@dataclass
class StagedFile:
    """What the reader found: format, encoding, delimiter, columns and counts."""

    path: Path
    format: str
    columns: list[str]
    rows_staged: int
    rows_rejected: int
    encoding: str = "utf-8"
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return self.rows_staged + self.rows_rejected


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".zst"}:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in {".parquet", ".pq"}:
        return "parquet"
    if ext in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    return "csv"


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, fmt: str | None = None,
               delimiter: str | None = None, lines: int | None = None) -> StagedFile:
    """Stage ``path`` into temp tables ``__stage`` and ``__rejects`` on ``con``.

    ``lines``: the file's physical lines when the caller counted them
    (:func:`~insightloop.storage.encoding.file_digest`), which spares a CSV the search for
    records spread over several lines when every record is one line.
    """
    if not path.exists():
        raise InputFileError(f"{path}: file does not exist")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: file is empty (0 bytes); nothing to ingest")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputFileError(f"{path}: unknown format {fmt!r}; use one of {FORMATS}")
    drop_temp(con, "__stage", "__raw", "__json", "__jkind", "__jmap", "__spans")
    con.execute("DROP TABLE IF EXISTS __rejects")
    con.execute("CREATE TEMP TABLE __rejects(line BIGINT, column_name VARCHAR, reason VARCHAR,"
                " raw VARCHAR)")
    try:
        return _stage(con, path, fmt, delimiter, lines)
    except duckdb.Error as exc:  # a reader case we did not foresee: still one clear line
        raise InputFileError(f"{path}: cannot be read as {fmt}: {first_line(exc)}") from exc


def _stage(con: duckdb.DuckDBPyConnection, path: Path, fmt: str,
           delimiter: str | None, lines: int | None = None) -> StagedFile:
    if fmt == "parquet":
        return _stage_parquet(con, path)
    sample = b"" if path.suffix.lower() == ".zst" else head_bytes(path)
    refuse_non_text(path, sample)
    src, encoding, notes = utf8_source(path, sample)
    try:
        if fmt == "jsonl":
            staged = _stage_json(con, path, src)
        else:
            delim, columns, n_staged, n_rejected, csv_notes = stage_csv(
                con, path, src, delimiter, lines if src == path else None)
            staged = StagedFile(path, "csv", columns, n_staged, n_rejected,
                                delimiter=delim, notes=csv_notes)
    finally:
        if src != path:  # a transcoded temp copy: staged already, remove it
            src.unlink(missing_ok=True)
    staged.encoding = encoding
    staged.notes[:0] = notes
    return staged


# -- JSON lines / JSON array -----------------------------------------------------------
def _stage_json(con: duckdb.DuckDBPyConnection, path: Path, src: Path) -> StagedFile:
    if _first_char(src) == "[":
        try:
            execute_temp(
                con, "CREATE TEMP TABLE __json AS SELECT row_number() OVER () AS __line, "
                f"json::VARCHAR AS j FROM read_json_objects({literal(str(src))}, "
                f"format='array', maximum_object_size={MAX_FIELD_BYTES})"
            )
        except duckdb.Error as exc:
            raise InputFileError(f"{path}: not a valid JSON array: {first_line(exc)}") from exc
    else:
        execute_temp(
            con, "CREATE TEMP TABLE __json AS SELECT * FROM (SELECT row_number() OVER () AS "
            f"__line, j FROM read_csv({literal(str(src))}, columns={{'j': 'VARCHAR'}}, "
            "header=false, delim=chr(1), quote='', escape='', auto_detect=false, "
            f"max_line_size={MAX_FIELD_BYTES}, strict_mode=false)) "
            "WHERE trim(coalesce(j, '')) <> ''"
        )
    # An object becomes a MAP (keys compared exactly, any characters): no JSON path is
    # ever built from a key. NULL map: not valid JSON, not an object, or a repeated key.
    con.execute("""
        CREATE TEMP TABLE __jkind AS
        SELECT __line, j, CASE WHEN NOT json_valid(j) THEN 'cannot parse'
            WHEN json_type(j::JSON) <> 'OBJECT' THEN 'not an object (a JSON ' ||
                CASE json_type(j::JSON) WHEN 'VARCHAR' THEN 'string' WHEN 'ARRAY' THEN 'array'
                     WHEN 'BOOLEAN' THEN 'boolean' WHEN 'NULL' THEN 'null' ELSE 'number' END
                || ')'
            WHEN len(json_keys(j)) <> len(list_distinct(json_keys(j)))
                THEN 'a key appears twice in the object'
            END AS why
        FROM __json
    """)
    con.execute("INSERT INTO __rejects SELECT __line, NULL, 'malformed JSON: ' || why, j "
                "FROM __jkind WHERE why IS NOT NULL")
    con.execute("CREATE TEMP TABLE __jmap AS SELECT __line, CAST(j::JSON AS MAP(VARCHAR, JSON)) "
                "AS m FROM __jkind WHERE why IS NULL")
    # Columns in file order: by the line where a key first appears, then its place there.
    keys = [str(r[0]) for r in con.execute(
        "SELECT k FROM (SELECT k, min(__line) AS first, arg_min(pos, __line) AS pos FROM "
        "(SELECT unnest(map_keys(m)) AS k, unnest(range(len(map_keys(m)))) AS pos, __line "
        "FROM __jmap) GROUP BY k) ORDER BY first, pos, k"
    ).fetchall()]
    names, notes = clean_names(path, keys)
    if not keys:
        con.execute("CREATE TEMP TABLE __stage AS SELECT __line FROM __jmap WHERE false")
    else:
        cols = ", ".join(f"json_extract_string(m[{_text(k)}], '$') AS {ident(n)}"
                         for k, n in zip(keys, names, strict=True))
        execute_temp(con, f"CREATE TEMP TABLE __stage AS SELECT {cols}, __line FROM __jmap "
                         "WHERE m IS NOT NULL")
    for name in ("__json", "__jkind", "__jmap"):
        con.execute(f"DROP TABLE {name}")
    return StagedFile(path, "jsonl", names, _count(con),
                      one(con, "SELECT count(*) FROM __rejects"), notes=notes)


def _text(value: str) -> str:
    """A SQL string expression for ``value``; NUL characters (not allowed in a literal)
    become ``chr(0)``."""
    return " || chr(0) || ".join(literal(part) for part in value.split("\x00"))


# -- Parquet ---------------------------------------------------------------------------
def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> StagedFile:
    source = f"read_parquet({literal(str(path))})"
    try:
        desc = execute_temp(con, f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as exc:
        raise InputFileError(f"{path}: not a readable Parquet file: {first_line(exc)}") from exc
    # The file's columns are renamed by position, so names DuckDB would confuse (Email
    # next to email, __line) cannot collide. Not file_row_number=true: a file may have a
    # column of that name; the CTAS keeps file order, so rowid + 1 is the row number.
    names, notes = clean_names(path, [str(r[0]) for r in desc])
    if not names:
        raise InputFileError(f"{path}: the Parquet file has no columns; nothing to ingest")
    alias = ", ".join(ident(n) for n in names)
    casts = ", ".join(f"CAST({ident(n)} AS VARCHAR) AS {ident(n)}" for n in names)
    try:
        execute_temp(con, f"CREATE TEMP TABLE __raw AS SELECT {casts} "
                          f"FROM {source} AS t({alias})")
    except duckdb.Error as exc:
        raise InputFileError(f"{path}: not a readable Parquet file: {first_line(exc)}") from exc
    con.execute("CREATE TEMP VIEW __stage AS SELECT *, rowid + 1 AS __line FROM __raw")
    return StagedFile(path, "parquet", names, _count(con), 0, notes=notes)


# -- helpers ---------------------------------------------------------------------------
def drop_temp(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop staging objects (tables or views) if they exist."""
    found = dict(con.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_catalog = 'temp'").fetchall())
    for name in names:
        if name in found:
            kind = "VIEW" if found[name] == "VIEW" else "TABLE"
            execute_one(con, f"DROP {kind} temp.main.{ident(name)}")


def _count(con: duckdb.DuckDBPyConnection) -> int:
    return one(con, "SELECT count(*) FROM __stage")


def _first_char(path: Path) -> str:
    with open_bytes(path) as fh:
        while chunk := fh.read(4096):
            stripped = chunk.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
            if stripped:
                return stripped[0]
    return ""
