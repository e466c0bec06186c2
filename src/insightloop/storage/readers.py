"""Read CSV / Parquet / JSON-lines files into an all-VARCHAR staging table.

The staging relation ``__stage`` (a temp table, or for a plain CSV a view over
the parsed table, so the rows are not copied) has the file's columns as VARCHAR plus
``__line``: the 1-based physical line where the record starts (CSV, JSON
lines; the header is line 1) or the 1-based row number (Parquet, JSON arrays).
Records the parser cannot split (broken quoting, wrong column count, a field
over the size limit) land in ``__rejects(line, column_name, reason, raw)``.
Nothing is dropped: ``rows in = staged rows + rejected records``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

import duckdb

from insightloop.errors import InputFileError

MAX_FIELD_BYTES = 16 * 1024 * 1024
_CHUNK = 16 * 1024 * 1024
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
               delimiter: str | None = None) -> StagedFile:
    """Stage ``path`` into temp tables ``__stage`` and ``__rejects`` on ``con``."""
    if not path.exists():
        raise InputFileError(f"{path}: file does not exist")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: file is empty (0 bytes); nothing to ingest")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputFileError(f"{path}: unknown format {fmt!r}; use one of {FORMATS}")
    drop_temp(con, "__stage", "__raw")
    con.execute("DROP TABLE IF EXISTS __rejects")
    con.execute("CREATE TEMP TABLE __rejects(line BIGINT, column_name VARCHAR, reason VARCHAR,"
                " raw VARCHAR)")
    if fmt == "parquet":
        staged = _stage_parquet(con, path)
    else:
        src, encoding, notes = _utf8_source(path)
        try:
            if fmt == "jsonl":
                staged = _stage_jsonl(con, path, src)
            else:
                staged = _stage_csv(con, path, src, delimiter)
        finally:
            if src != path:  # a transcoded temp copy: staged already, remove it
                src.unlink(missing_ok=True)
        staged.encoding = encoding
        staged.notes.extend(notes)
    return staged


# -- encodings -------------------------------------------------------------------------
def _utf8_source(path: Path) -> tuple[Path, str, list[str]]:
    """Return a UTF-8 path for ``path``: itself, or a transcoded temp copy.

    Whole-file UTF-8 check in 16 MiB chunks (C speed). A file that is not UTF-8 is
    transcoded line by line: lines valid as UTF-8 are kept, the rest are decoded as
    cp1252 (the usual culprit in spreadsheet exports), so a file with mixed encodings
    loses nothing. UTF-16 files with a BOM are decoded whole. Gzip files are checked
    through the decompressor and, when not UTF-8, transcoded to a plain temp copy.
    """
    if path.suffix.lower() == ".zst":
        return path, "utf-8", []
    with _open_bytes(path) as fh:
        head = fh.read(4)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return _transcode(path, "utf-16"), "utf-16", ["decoded from UTF-16"]
    decoder = codecs.getincrementaldecoder("utf-8")()
    with _open_bytes(path) as fh:
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return path, "utf-8", []
        except UnicodeDecodeError:
            pass
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed by stage_file
        prefix="insightloop-", suffix=".csv", delete=False)
    bad = 0
    with _open_bytes(path) as fh, tmp:
        for raw in fh:
            try:
                raw.decode("utf-8")
                tmp.write(raw)
            except UnicodeDecodeError:
                bad += 1
                tmp.write(raw.decode("cp1252", errors="replace").encode("utf-8"))
    return Path(tmp.name), "mixed" if bad else "utf-8", [
        f"{bad} line(s) were not UTF-8 and were decoded as cp1252 (Windows-1252)"
    ]


def _open_bytes(path: Path) -> IO[bytes]:
    """Open ``path`` for reading bytes, through gzip for ``.gz`` files."""
    if path.suffix.lower() == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _transcode(path: Path, encoding: str) -> Path:
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed by stage_file
        prefix="insightloop-", suffix=".csv", delete=False)
    with io.TextIOWrapper(_open_bytes(path), encoding=encoding, newline="") as src, tmp:
        while chunk := src.read(_CHUNK // 4):
            tmp.write(chunk.encode("utf-8"))
    return Path(tmp.name)


# -- CSV -------------------------------------------------------------------------------
DELIMITERS = (",", ";", "\t", "|")


def sniff_header(path: Path, delimiter: str | None = None) -> tuple[str, list[str]]:
    """Find the delimiter and column names from the header line.

    The delimiter is the candidate (``,`` ``;`` tab ``|``) that splits the header
    into the most fields, outside quotes; duplicate or blank names are made unique.
    Doing this ourselves (rather than DuckDB's sniffer) keeps one broken row from
    changing how the whole file is parsed.
    """
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise InputFileError(f"{path}: file has no header line; nothing to ingest")
    first = head.lstrip("\ufeff").splitlines()[0] if head.lstrip("\ufeff") else ""
    if delimiter is None:
        counts = {d: len(next(csv.reader([first], delimiter=d))) for d in DELIMITERS}
        delimiter = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    names = [n.strip() for n in next(csv.reader([first], delimiter=delimiter))]
    seen: dict[str, int] = {}
    unique = []
    for i, name in enumerate(names):
        name = name or f"column{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        unique.append(name)
    return delimiter, unique


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, src: Path,
               delimiter: str | None) -> StagedFile:
    delimiter, columns = sniff_header(src, delimiter)
    spec = "{" + ", ".join(f"'{_sql_str(c)}': 'VARCHAR'" for c in columns) + "}"
    opts = [
        "auto_detect=false", f"columns={spec}", "header=true", f"delim='{_sql_str(delimiter)}'",
        "quote='\"'", "escape='\"'", "ignore_errors=true", "store_rejects=true",
        "rejects_table='__csv_rej'", "rejects_scan='__csv_scan'",
        f"max_line_size={MAX_FIELD_BYTES}",
    ]
    notes: list[str] = []
    parsed = src
    try:
        _read_raw(con, src, opts)
    except duckdb.Error as exc:
        if "state machine" not in str(exc) or src.suffix.lower() in {".gz", ".zst"}:
            raise InputFileError(f"{path}: cannot be parsed as CSV: {_first_line(exc)}"
                                 ) from exc
        # DuckDB fixes one newline style per file; a file that mixes CRLF and LF (two
        # exports concatenated) is read from a copy with every CRLF made LF. Line
        # numbers do not change.
        parsed = _lf_copy(src)
        try:
            _read_raw(con, parsed, opts)
        except duckdb.Error as exc2:
            parsed.unlink(missing_ok=True)
            raise InputFileError(f"{path}: cannot be parsed as CSV: {_first_line(exc2)}"
                                 ) from exc2
        notes.append("mixed CRLF/LF line endings were read as LF")
    # One rejected record may span several physical lines (an unterminated quote eats
    # the next line); keep one row per record with the lines it occupies.
    con.execute(
        "INSERT INTO __rejects SELECT line, first(column_name ORDER BY column_idx), "
        "string_agg(DISTINCT error_type || ': ' || error_message, '; '), first(csv_line) "
        "FROM __csv_rej GROUP BY line"
    )
    _restore_oversized(con, parsed)
    if parsed != src:
        parsed.unlink(missing_ok=True)
    nl = " + ".join(
        f"coalesce(length(\"{c}\") - length(replace(\"{c}\", chr(10), '')), 0)"
        for c in columns
    )
    multiline = " OR ".join(f"contains(\"{c}\", chr(10))" for c in columns)
    if not _one(con, "SELECT count(*) FROM __rejects") and not _one(
            con, f"SELECT count(*) FROM (SELECT 1 FROM __raw WHERE {multiline} LIMIT 1)"):
        # The common case: every record is one physical line and none was rejected, so
        # record k starts on line k + 1: skip the span bookkeeping, sort and copy below.
        con.execute("CREATE TEMP VIEW __stage AS SELECT *, rowid + 2 AS __line FROM __raw")
        return StagedFile(path, "csv", columns, _count(con), 0, delimiter=delimiter,
                          notes=notes)
    # DuckDB numbers rejected records by record ordinal (header = 1), not by physical
    # line. Merge staged and rejected records in file order (the k-th staged record takes
    # the k-th ordinal no reject holds) and give each the physical line where it starts:
    # 2 + the physical lines spanned by every earlier record.
    con.execute(f"""
        CREATE TEMP TABLE __spans AS
        WITH rej AS (
            SELECT line - 1 AS ord, row_number() OVER (ORDER BY line) AS j,
                   1 + length(rtrim(raw, chr(10) || chr(13)))
                     - length(replace(rtrim(raw, chr(10) || chr(13)), chr(10), '')) AS span
            FROM __rejects
        ),
        slots AS (SELECT ord - j AS before, max(j) AS j FROM rej GROUP BY before),
        staged AS (
            SELECT r.__line - 1 AS __rec, r.__line - 1 + coalesce(slots.j, 0) AS ord,
                   1 + {nl} AS span
            FROM (SELECT rowid + 2 AS __line, * FROM __raw) r
            ASOF LEFT JOIN slots ON r.__line - 1 > slots.before
        ),
        merged AS (
            SELECT __rec, ord, span FROM staged
            UNION ALL SELECT NULL, ord, span FROM rej
        )
        SELECT __rec, ord, CAST(2 + coalesce(sum(span) OVER (ORDER BY ord ROWS BETWEEN
               UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS __line
        FROM merged
    """)
    con.execute("UPDATE __rejects SET line = s.__line FROM __spans s "
                "WHERE s.__rec IS NULL AND s.ord = __rejects.line - 1")
    con.execute("""
        CREATE TEMP TABLE __stage AS
        SELECT r.* EXCLUDE (__line), s.__line
        FROM (SELECT *, rowid + 2 AS __line FROM __raw) r JOIN __spans s ON s.__rec = r.__line - 1
        ORDER BY __line
    """)
    con.execute("DROP TABLE __spans")
    con.execute("DROP TABLE __raw")
    return StagedFile(path, "csv", columns, _count(con),
                      _one(con, "SELECT count(*) FROM __rejects"), delimiter=delimiter,
                      notes=notes)


def _read_raw(con: duckdb.DuckDBPyConnection, src: Path, opts: list[str]) -> None:
    """Parse ``src`` into ``__raw`` (all VARCHAR); unparseable records go to ``__csv_rej``."""
    for name in ("__csv_rej", "__csv_scan", "__raw"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    # No row_number() here: a window over the whole file runs on one thread. The CTAS
    # keeps file order, so rowid + 2 is the record's line (header = 1) when every record
    # is one physical line (fixed up by the caller otherwise).
    con.execute("CREATE TEMP TABLE __raw AS SELECT * "
                f"FROM read_csv('{_sql_str(str(src))}', {', '.join(opts)})")


def _lf_copy(src: Path) -> Path:
    """A temp copy of ``src`` with CRLF line endings turned into LF (streamed)."""
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed by the caller
        prefix="insightloop-", suffix=".csv", delete=False)
    carry = b""
    with src.open("rb") as fh, tmp:
        while chunk := fh.read(_CHUNK):
            chunk = carry + chunk
            carry = b"\r" if chunk.endswith(b"\r") else b""
            tmp.write(chunk[: len(chunk) - len(carry)].replace(b"\r\n", b"\n"))
        tmp.write(carry)
    return Path(tmp.name)


def _restore_oversized(con: duckdb.DuckDBPyConnection, src: Path) -> None:
    """Put the whole text of over-long records into ``__rejects.raw``.

    For a line over ``MAX_FIELD_BYTES`` the parser keeps only a prefix; such rows are
    rare, so each is re-read from its byte offset and nothing of it is lost.
    """
    if src.suffix.lower() in {".gz", ".zst"}:
        return
    rows = con.execute(
        "SELECT line, min(line_byte_position) FROM __csv_rej "
        "WHERE error_type = 'LINE SIZE OVER MAXIMUM' GROUP BY line"
    ).fetchall()
    if not rows:
        return
    with src.open("rb") as fh:
        for line, offset in rows:
            fh.seek(max(int(offset) - 1, 0))  # DuckDB's line_byte_position is 1-based
            text = fh.readline().rstrip(b"\r\n").decode("utf-8", errors="replace")
            con.execute("UPDATE __rejects SET raw = ? WHERE line = ?", [text, line])


# -- JSON lines ------------------------------------------------------------------------
def _stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path, src: Path) -> StagedFile:
    first = _first_char(src)
    if first == "[":
        try:
            con.execute(
                "CREATE TEMP TABLE __json AS SELECT row_number() OVER () AS __line, "
                f"to_json(t)::VARCHAR AS j FROM read_json('{_sql_str(str(src))}', "
                "format='array', maximum_object_size=16777216) t"
            )
        except duckdb.Error as exc:
            raise InputFileError(f"{path}: not a valid JSON array: {_first_line(exc)}") from exc
    else:
        con.execute(
            "CREATE TEMP TABLE __json AS SELECT * FROM (SELECT row_number() OVER () AS __line, "
            f"j FROM read_csv('{_sql_str(str(src))}', columns={{'j': 'VARCHAR'}}, header=false, "
            "delim=chr(1), quote='', escape='', auto_detect=false, "
            f"max_line_size={MAX_FIELD_BYTES}, strict_mode=false)) "
            "WHERE trim(coalesce(j, '')) <> ''"
        )
    con.execute(
        "INSERT INTO __rejects SELECT __line, NULL, 'malformed JSON: ' || "
        "CASE WHEN json_valid(j) THEN 'not an object' ELSE 'cannot parse' END, j "
        "FROM __json WHERE NOT json_valid(j) OR json_type(j::JSON) <> 'OBJECT'"
    )
    keys = [r[0] for r in con.execute(
        "SELECT k FROM (SELECT k, min(__line) AS first FROM (SELECT unnest(json_keys(j::JSON)) "
        "AS k, __line FROM __json WHERE json_valid(j) AND json_type(j::JSON) = 'OBJECT') "
        "GROUP BY k) ORDER BY first, k"
    ).fetchall()]
    if not keys:
        con.execute("CREATE TEMP TABLE __stage AS SELECT __line FROM __json WHERE false")
    else:
        cols = ", ".join(
            f"json_extract_string(j, '$.\"{_sql_str(k)}\"') AS \"{k}\"" for k in keys
        )
        con.execute(
            f"CREATE TEMP TABLE __stage AS SELECT {cols}, __line FROM __json "
            "WHERE json_valid(j) AND json_type(j::JSON) = 'OBJECT'"
        )
    con.execute("DROP TABLE __json")
    return StagedFile(path, "jsonl", keys, _count(con),
                      _one(con, "SELECT count(*) FROM __rejects"))


# -- Parquet ---------------------------------------------------------------------------
def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> StagedFile:
    try:
        desc = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{_sql_str(str(path))}')"
        ).fetchall()
    except duckdb.Error as exc:
        raise InputFileError(f"{path}: not a readable Parquet file: {_first_line(exc)}") from exc
    columns = [r[0] for r in desc]
    casts = ", ".join(f"CAST(\"{c}\" AS VARCHAR) AS \"{c}\"" for c in columns)
    con.execute(
        f"CREATE TEMP TABLE __stage AS SELECT {casts}, file_row_number + 1 AS __line "
        f"FROM read_parquet('{_sql_str(str(path))}', file_row_number=true)"
    )
    return StagedFile(path, "parquet", columns, _count(con), 0)


# -- helpers ---------------------------------------------------------------------------
def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def drop_temp(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop staging objects (tables or views) if they exist."""
    found = dict(con.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_catalog = 'temp'").fetchall())
    for name in names:
        if name in found:
            kind = "VIEW" if found[name] == "VIEW" else "TABLE"
            con.execute(f"DROP {kind} {name}")


def _count(con: duckdb.DuckDBPyConnection) -> int:
    return _one(con, "SELECT count(*) FROM __stage")


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _first_char(path: Path) -> str:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        while chunk := fh.read(4096):
            stripped = chunk.lstrip("\ufeff \t\r\n")
            if stripped:
                return stripped[0]
    return ""


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _sql_str(value: str) -> str:
    return value.replace("'", "''")
