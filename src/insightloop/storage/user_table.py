"""One reader for the files users bring to ``evaluate``, ``train`` and ``score`` commands.

:func:`read_user_table` reads a delimited text file (``,`` ``;`` tab ``|``, or runs of
spaces), a JSON-lines / JSON-array file or a Parquet file, plain or gzip-compressed,
into a pandas frame. It is built on the ingest reader (:func:`~insightloop.storage.
readers.stage_file`): the same format, delimiter, encoding (UTF-8, UTF-16/32 by BOM or
NUL pattern) and header detection, the same refusal of workbooks, PDFs and truncated
gzip, the same one-line messages naming file, line and column. It is stricter than
ingest in two places, because here a record cannot be quarantined:

* a record the parser cannot split (broken quoting, wrong field count) is an
  :class:`InputFileError` naming its line and column, never dropped;
* bytes that are not valid UTF-8 are refused naming the first bad line (ingest decodes
  such lines as cp1252 and says so; a metric must not rest on that guess).

Every format is first read as text, then typed the way :func:`pandas.read_csv` types a
CSV (:func:`infer_types`), so the same data gives the same frame, hence the same
metrics, whether it arrives as CSV, TSV, JSON lines or Parquet. Only the columns asked
for reach pandas.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from insightloop.errors import InputFileError, SchemaError
from insightloop.storage.dates import DAY_FIRST, reading_of
from insightloop.storage.encoding import (
    CHUNK,
    head_bytes,
    open_bytes,
    refuse_non_text,
    utf16_without_bom,
)
from insightloop.storage.readers import DELIMITERS, detect_format, stage_file
from insightloop.storage.sql import ident

__all__ = ["NA_TOKENS", "WHITESPACE", "day_first", "infer_types", "read_user_table"]

WHITESPACE = "whitespace"  # delimiter meaning: fields separated by runs of spaces or tabs
WHITESPACE_ALIASES = frozenset({WHITESPACE, "space", "spaces", "\\s+", " ", "ws"})
# pandas.read_csv's default missing-value strings (pandas._libs.parsers.STR_NA_VALUES).
NA_TOKENS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
TRUE_TOKENS = frozenset({"True", "TRUE", "true"})
FALSE_TOKENS = frozenset({"False", "FALSE", "false"})
_BOOL_TOKENS = TRUE_TOKENS | FALSE_TOKENS
_PROBE = 64
_SNIFF_LINES = 20


def read_user_table(path: Path | str, *, columns: Sequence[str] | None = None,
                    text_columns: Iterable[str] = (), as_text: bool = False,
                    delimiter: str | None = None, fmt: str | None = None) -> pd.DataFrame:
    """Read a user's table file; only ``columns`` (all when None), in file order.

    Parameters
    ----------
    path : Path or str
        CSV/TSV (any of ``,`` ``;`` tab ``|``, or whitespace-separated), JSON lines or
        array, Parquet; ``.gz`` for gzip.
    columns : sequence of str, optional
        Columns to return (and require); a missing one is a :class:`SchemaError`
        listing the file's columns.
    text_columns : iterable of str
        Columns kept as text (missing values are NaN), e.g. dates read with a format.
    as_text : bool
        Every column as text, missing values as ``""`` (labelled review texts).
    delimiter : str, optional
        Forces the delimiter; ``"whitespace"`` for runs of spaces (CDNOW). Sniffed
        when None, whitespace included when no other candidate splits the header.
    fmt : {"csv", "jsonl", "parquet"}, optional
        Forces the format; by suffix otherwise.
    """
    p = Path(path)
    if p.is_dir():
        raise InputFileError(f"{p}: is a folder, expected a file")
    if not p.exists():
        raise InputFileError(f"{p}: file does not exist")
    fmt = fmt or detect_format(p)
    if delimiter in WHITESPACE_ALIASES:
        delimiter = WHITESPACE
    src, shown = p, delimiter
    con = duckdb.connect()
    try:
        if fmt != "parquet" and p.stat().st_size > 0 and p.suffix.lower() != ".zst":
            sample = head_bytes(p)
            refuse_non_text(p, sample)
            _refuse_non_utf8(p, sample)
            if fmt == "csv" and (delimiter == WHITESPACE
                                 or (delimiter is None and _whitespace_separated(sample))):
                src, delimiter = _tab_copy(p), "\t"
                shown = WHITESPACE
        try:
            staged = stage_file(con, src, fmt, delimiter)
        except InputFileError as exc:
            if src == p:
                raise
            raise InputFileError(str(exc).replace(str(src), str(p))) from exc
        _refuse_rejects(con, p, shown or staged.delimiter)
        names = list(staged.columns) if not columns else list(dict.fromkeys(columns))
        missing = [c for c in names if c not in staged.columns]
        if missing:
            raise SchemaError(
                f"{p}: no column {missing[0]!r}"
                + (f" (also missing: {missing[1:]})" if len(missing) > 1 else "")
                + f"; columns are: {', '.join(staged.columns)}"
                + ("; check the delimiter (--sep; 'whitespace' for runs of spaces)"
                   if len(staged.columns) == 1 else ""))
        select = ", ".join(ident(c) for c in names)
        frame = con.execute(f"SELECT {select} FROM __stage ORDER BY __line").df()
    finally:
        con.close()
        if src != p:
            src.unlink(missing_ok=True)
    if not len(frame):
        raise InputFileError(f"{p}: the file has a header but no data rows")
    return _as_text(frame) if as_text else infer_types(frame, keep=set(text_columns))


# -- typing --------------------------------------------------------------------------------
def infer_types(frame: pd.DataFrame, keep: set[str] | None = None) -> pd.DataFrame:
    """Type text columns the way :func:`pandas.read_csv` does by default.

    A column whose non-missing values (missing: :data:`NA_TOKENS` or NULL) are all
    integers is ``int64`` (``float64`` when some are missing); all numbers: ``float64``;
    all ``True``/``False`` spellings: ``bool`` (``object`` when some are missing); all
    missing: ``float64``; otherwise text with NaN for missing values. Columns in
    ``keep`` stay text.
    """
    out: dict[str, pd.Series] = {}
    for name in frame.columns:
        col = frame[name]
        na = col.isna().to_numpy() | col.isin(NA_TOKENS).to_numpy()
        if keep and name in keep:
            out[name] = col.where(~na, np.nan)
        else:
            out[name] = _infer(col, na)
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def _infer(col: pd.Series, na: np.ndarray) -> pd.Series:
    present = col[~na]
    if present.empty:
        return pd.Series(np.nan, index=col.index, dtype="float64", name=col.name)
    head = present.iloc[:_PROBE]  # a text column usually shows itself in its first values
    if pd.to_numeric(head, errors="coerce").notna().all():
        numbers = pd.to_numeric(present, errors="coerce")
        if numbers.notna().all():
            if not na.any() and numbers.dtype.kind in "iu":
                return pd.Series(numbers.to_numpy(), index=col.index, name=col.name)
            filled = np.full(len(col), np.nan)
            filled[~na] = numbers.to_numpy(dtype="float64")
            return pd.Series(filled, index=col.index, name=col.name)
    if head.isin(_BOOL_TOKENS).all():
        is_true, is_false = present.isin(TRUE_TOKENS), present.isin(FALSE_TOKENS)
        if (is_true | is_false).all():
            if not na.any():
                return pd.Series(is_true.to_numpy(), index=col.index, name=col.name)
            values = np.full(len(col), np.nan, dtype=object)
            values[~na] = is_true.to_numpy()
            return pd.Series(values, index=col.index, name=col.name)
    return col.where(~na, np.nan)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), "")


# -- dates ---------------------------------------------------------------------------------
def day_first(values: pd.Series, path: Path | str, column: str) -> bool:
    """Whether text dates in ``values`` are day-first, decided from the data by the rules
    ingest uses (:func:`~insightloop.storage.dates.reading_of`: the reading that fits
    every value, or the most).

    False for ISO 8601 and month-first dates. When readings fit equally and read some
    value differently the dates are ambiguous and refused with :class:`InputFileError`:
    a guess would silently swap months and days.
    """
    text = values.dropna().astype(str)
    if text.empty:
        return False
    try:
        return reading_of(text.tolist(), Path(path), column) is DAY_FIRST
    except InputFileError:
        sep = next((c for c in str(text.iloc[0]) if c in "/.-"), "/")
        raise InputFileError(
            f"{path}, column {column!r}: dates like {str(text.iloc[0]).strip()!r} read as "
            "day-first or month-first and no value decides which; pass --date-format "
            f"%d{sep}%m{sep}%Y or %m{sep}%d{sep}%Y") from None


# -- checks and copies ---------------------------------------------------------------------
def _refuse_rejects(con: duckdb.DuckDBPyConnection, path: Path, delimiter: str | None) -> None:
    row = con.execute("SELECT line, column_name, reason, count(*) OVER () FROM __rejects "
                      "ORDER BY line LIMIT 1").fetchone()
    if row is None:
        return
    line, column, reason, count = row
    where = f", line {line}" + (f", column {column!r}" if column else "")
    hint = (f"check the quoting and that every row has the header's fields "
            f"(delimiter {delimiter!r})" if delimiter else "fix the record")
    raise InputFileError(f"{path}{where}: cannot read the record ({reason}); {count} "
                         f"record(s) cannot be read; {hint}, then retry")


def _refuse_non_utf8(path: Path, sample: bytes) -> None:
    """Refuse text that is not UTF-8 (UTF-16/32 recognised by BOM or NULs are fine)."""
    if sample[:2] in (b"\xff\xfe", b"\xfe\xff") or utf16_without_bom(sample):
        return
    line, carry = 1, b""
    with open_bytes(path) as fh:
        while True:
            chunk = fh.read(CHUNK)
            block = carry + chunk
            cut = len(block) if not chunk else block.rfind(b"\n") + 1
            body, carry = block[:cut], block[cut:]
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = line + body.count(b"\n", 0, exc.start)
                raise InputFileError(
                    f"{path}: line {bad}: invalid UTF-8 (byte {body[exc.start]:#04x}); "
                    "save the file as UTF-8 (in Excel: CSV UTF-8) and retry") from None
            line += body.count(b"\n")
            if not chunk:
                return


def _whitespace_separated(sample: bytes) -> bool:
    """True when no delimiter candidate appears in the first lines but runs of spaces
    split each of them into the same number (> 1) of fields."""
    lines = sample.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()
    if len(lines) > 1 and not sample.endswith(b"\n"):
        lines = lines[:-1]  # the sample may end inside a line
    lines = [ln for ln in lines if ln.strip()][:_SNIFF_LINES]
    if not lines or any(d in ln or '"' in ln for ln in lines for d in DELIMITERS):
        return False
    widths = {len(ln.split()) for ln in lines}
    return len(widths) == 1 and widths.pop() > 1


_RUNS = re.compile(rb"[ \t]+")
_EDGES = re.compile(rb"(?m)^\t|\t(?=\r?$)")


def _tab_copy(path: Path) -> Path:
    """A temp tab-separated copy of a whitespace-separated file (streamed, C-speed)."""
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed by the caller
        prefix="insightloop-", suffix=".tsv", delete=False)
    carry = b""
    with open_bytes(path) as fh, tmp:
        while True:
            chunk = fh.read(CHUNK)
            block = carry + chunk
            cut = len(block) if not chunk else block.rfind(b"\n") + 1
            body, carry = block[:cut], block[cut:]
            tmp.write(_EDGES.sub(b"", _RUNS.sub(b"\t", body)))
            if not chunk:
                break
    return Path(tmp.name)
