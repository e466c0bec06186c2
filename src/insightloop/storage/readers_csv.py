"""Stage a delimited text file (UTF-8) into ``__stage`` / ``__rejects`` (see :mod:`readers`).

Column names come from our own parse of the header (:func:`sniff_header`), reach SQL only
through :func:`~insightloop.storage.sql.ident` / :func:`~insightloop.storage.sql.literal`,
and every statement built from them runs through
:func:`~insightloop.storage.temp_sql.execute_temp` (one statement, temp objects only).
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from insightloop.errors import ConfigError, InputFileError
from insightloop.storage.encoding import CHUNK, is_gzip, open_bytes
from insightloop.storage.names import clean_names
from insightloop.storage.sql import ident, literal
from insightloop.storage.temp_sql import execute_temp, first_line, one

MAX_FIELD_BYTES = 16 * 1024 * 1024
MAX_HEADER_BYTES = 4 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
SNIFF_RECORDS = 20  # records after the header that the delimiter must split consistently
_NEWLINE_OPT = {"\n": r"'\n'", "\r\n": r"'\r\n'", "\r": r"'\r'"}  # as read_csv spells them


@dataclass
class Header:
    """What :func:`sniff_header` found on the first record of a delimited file."""

    delimiter: str
    names: list[str]
    lines: int  # physical lines the header spans
    notes: list[str] = field(default_factory=list)
    newline: str | None = None  # set when a name holds a line break (DuckDB needs it told)
    has_body: bool = True  # the first bytes hold a non-blank record after the header


def sniff_header(path: Path, delimiter: str | None = None) -> Header:
    """Find the delimiter, column names and the physical lines the header spans.

    The delimiter is the candidate (``,`` ``;`` tab ``|``) that splits the header
    into the most fields, outside quotes, preferring candidates under which the quoting
    is well-formed and then those that split the first records into the header's
    number of fields; names are cleaned by :func:`~insightloop.storage.names.clean_names`
    (unique, case-insensitively). Doing this ourselves (rather than DuckDB's sniffer)
    keeps one broken row from changing how the whole file is parsed.
    """
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n\x00'):
        raise ConfigError(f"--delimiter must be one character other than a quote, a line "
                          f"break or NUL, got {delimiter!r}; for tab pass \\t")
    with open_bytes(path) as fh:
        raw = fh.read(MAX_HEADER_BYTES + 1)
    head = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    if not head.strip():
        raise InputFileError(f"{path}: file has no header line; nothing to ingest")
    if len(raw) > MAX_HEADER_BYTES and "\n" not in head and "\r" not in head:
        raise InputFileError(f"{path}, line 1: the header line is longer than "
                             f"{MAX_HEADER_BYTES // (1024 * 1024)} MiB; is this a CSV file?")

    def first_record(delim: str, strict: bool = False) -> tuple[list[str], int]:
        reader = csv.reader(io.StringIO(head, newline=""), delimiter=delim, strict=strict)
        try:
            return next(reader, []), max(reader.line_num, 1)
        except csv.Error as exc:
            raise InputFileError(f"{path}, line 1: cannot read the header: {exc}") from exc

    def clean(delim: str) -> bool:
        try:
            first_record(delim, strict=True)
            return True
        except InputFileError:
            return False

    def consistent(delim: str, width: int) -> bool:
        """The first records all have the header's (> 1) number of fields."""
        reader = csv.reader(io.StringIO(head, newline=""), delimiter=delim)
        try:
            rows = [r for r in itertools.islice(reader, SNIFF_RECORDS + 2) if any(r)][1:]
        except csv.Error:
            return False
        if len(raw) > MAX_HEADER_BYTES:
            rows = rows[:-1]  # the read may end inside the last record
        return width > 1 and all(len(r) == width for r in rows[:SNIFF_RECORDS])

    csv.field_size_limit(MAX_HEADER_BYTES)
    if delimiter is None:
        # Well-formed quoting first, then a field count the first records agree with (a
        # header name holding ';' must not outvote the ',' every row is split by), then
        # the most fields.
        counts = {}
        for d in DELIMITERS:
            width = len(first_record(d)[0])
            counts[d] = (clean(d), consistent(d, width), width)
        delimiter = max(DELIMITERS, key=lambda d: (*counts[d], -DELIMITERS.index(d)))
    names, lines = first_record(delimiter)
    cleaned, notes = clean_names(path, names)
    newline = _terminator(head) if any("\r" in n or "\n" in n for n in names) else None
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    try:
        next(reader, None)
        has_body = any(any(f.strip() for f in row) for row in itertools.islice(reader, 5))
    except csv.Error:
        has_body = True
    return Header(delimiter, cleaned, lines, notes, newline, has_body)


def _terminator(head: str) -> str:
    """The line break ending the first record of ``head`` (outside quotes)."""
    quoted = False
    for i, ch in enumerate(head):
        if ch == '"':
            quoted = not quoted
        elif ch in "\r\n" and not quoted:
            return "\r\n" if head[i:i + 2] == "\r\n" else ch
    return "\n"


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, src: Path,
              delimiter: str | None, lines: int | None = None
              ) -> tuple[str, list[str], int, int, list[str]]:
    """Stage ``src`` (the UTF-8 text of ``path``).

    ``lines``: the physical lines of ``src`` if known (None: not known, or ``src`` is
    compressed). Returns ``(delimiter, columns, rows staged, records rejected, notes)``.
    """
    header = sniff_header(src, delimiter)
    delimiter, columns, notes = header.delimiter, header.names, header.notes
    first = 1 + header.lines  # the physical line of the first record
    spec = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in columns) + "}"
    opts = [*([f"new_line={_NEWLINE_OPT[header.newline]}"] if header.newline else []),
        "auto_detect=false", f"columns={spec}", "header=true", f"delim={literal(delimiter)}",
        "quote='\"'", "escape='\"'", "ignore_errors=true", "store_rejects=true",
        "rejects_table='__csv_rej'", "rejects_scan='__csv_scan'",
        f"max_line_size={MAX_FIELD_BYTES}",
    ]
    parsed = src
    try:
        _read_raw(con, src, opts)
    except duckdb.Error as exc:
        if "state machine" not in str(exc) or src.suffix.lower() in {".gz", ".zst"}:
            raise InputFileError(f"{path}: cannot be parsed as CSV: {first_line(exc)}"
                                 ) from exc
        # DuckDB fixes one newline style per file; a file that mixes CRLF and LF (two
        # exports concatenated) is read from a copy with every CRLF made LF. Line
        # numbers do not change.
        parsed = _lf_copy(src)
        try:
            _read_raw(con, parsed, opts)
        except duckdb.Error as exc2:
            parsed.unlink(missing_ok=True)
            raise InputFileError(f"{path}: cannot be parsed as CSV: {first_line(exc2)}"
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
        f"coalesce(length({ident(c)}) - length(replace({ident(c)}, chr(10), '')), 0)"
        for c in columns
    )
    multiline = " OR ".join(f"contains({ident(c)}, chr(10))" for c in columns)
    records = one(con, "SELECT count(*) FROM __raw")
    rejected = one(con, "SELECT count(*) FROM __rejects")
    if header.has_body and not records and not rejected:
        # Never a silent loss: text after the header that yields no record is an error.
        raise InputFileError(f"{path}: the parser found no records after the header although "
                             "the file has more lines; check the quoting and line endings")
    # Records fill at least one line each, and skipped (blank) lines add more: a file with
    # exactly as many lines as header lines + records has every record on one line.
    one_line_each = (lines is not None and parsed == src and not is_gzip(src)
                     and src.suffix.lower() != ".zst" and lines == header.lines + records)
    if not rejected and (one_line_each or not execute_temp(
            con, f"SELECT 1 FROM __raw WHERE {multiline} LIMIT 1").fetchone()):
        # The common case: every record is one physical line and none was rejected, so
        # record k starts on line k + header lines: skip the span bookkeeping and copy.
        execute_temp(con, f"CREATE TEMP VIEW __stage AS SELECT *, rowid + {first} AS __line "
                          "FROM __raw")
        return delimiter, columns, records, 0, notes
    # DuckDB numbers rejected records by record ordinal (header = 1), not by physical
    # line. Merge staged and rejected records in file order (the k-th staged record takes
    # the k-th ordinal no reject holds) and give each the physical line where it starts:
    # the first record's line + the physical lines spanned by every earlier record.
    execute_temp(con, f"""
        CREATE TEMP TABLE __spans AS
        WITH rej AS (
            SELECT line - 1 AS ord, row_number() OVER (ORDER BY line) AS j,
                   1 + length(rtrim(raw, chr(10) || chr(13)))
                     - length(replace(rtrim(raw, chr(10) || chr(13)), chr(10), '')) AS span
            FROM __rejects
        ),
        slots AS (SELECT ord - j AS before, max(j) AS j FROM rej GROUP BY before),
        staged AS (
            SELECT r.__rec, r.__rec + coalesce(slots.j, 0) AS ord, 1 + {nl} AS span
            FROM (SELECT rowid + 1 AS __rec, * FROM __raw) r
            ASOF LEFT JOIN slots ON r.__rec > slots.before
        ),
        merged AS (
            SELECT __rec, ord, span FROM staged
            UNION ALL SELECT NULL, ord, span FROM rej
        )
        SELECT __rec, ord, CAST({first} + coalesce(sum(span) OVER (ORDER BY ord ROWS BETWEEN
               UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS __line
        FROM merged
    """)
    con.execute("UPDATE __rejects SET line = s.__line FROM __spans s "
                "WHERE s.__rec IS NULL AND s.ord = __rejects.line - 1")
    con.execute("""
        CREATE TEMP TABLE __stage AS
        SELECT r.* EXCLUDE (__rec), s.__line
        FROM (SELECT *, rowid + 1 AS __rec FROM __raw) r JOIN __spans s ON s.__rec = r.__rec
        ORDER BY __line
    """)
    con.execute("DROP TABLE __spans")
    con.execute("DROP TABLE __raw")
    return (delimiter, columns, one(con, "SELECT count(*) FROM __stage"),
            one(con, "SELECT count(*) FROM __rejects"), notes)


def _read_raw(con: duckdb.DuckDBPyConnection, src: Path, opts: list[str]) -> None:
    """Parse ``src`` into ``__raw`` (all VARCHAR); unparseable records go to ``__csv_rej``."""
    for name in ("__csv_rej", "__csv_scan", "__raw"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    # No row_number() here: a window over the whole file runs on one thread. The CTAS
    # keeps file order, so rowid + first line is the record's line when every record is
    # one physical line (fixed up by the caller otherwise).
    execute_temp(con, "CREATE TEMP TABLE __raw AS SELECT * "
                f"FROM read_csv({literal(str(src))}, {', '.join(opts)})")


def _lf_copy(src: Path) -> Path:
    """A temp copy of ``src`` with CRLF line endings turned into LF (streamed)."""
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed by the caller
        prefix="insightloop-", suffix=".csv", delete=False)
    carry = b""
    with src.open("rb") as fh, tmp:
        while chunk := fh.read(CHUNK):
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
    if is_gzip(src) or src.suffix.lower() == ".zst":
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
