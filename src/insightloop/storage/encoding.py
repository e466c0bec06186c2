"""What kind of bytes a file holds, and a UTF-8 copy of it for the readers.

* :func:`refuse_non_text` looks at the first bytes (after gzip) and refuses, with a
  one-line message saying what to do, files that are not delimited text or JSON: a zip
  archive / Excel workbook, a PDF, an image, a Parquet or SQLite file renamed ``.csv``,
  binary garbage.
* :func:`utf8_source` returns a path whose bytes are UTF-8: the file itself when it
  already is, else a transcoded temp copy (UTF-16 with or without BOM, or line by line
  cp1252 for the lines that are not UTF-8). Every byte that cannot be decoded is
  replaced by U+FFFD, counted and reported in the notes with its first line numbers.
* A truncated or corrupt gzip stream is an :class:`InputFileError` naming the file.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

from insightloop.errors import InputFileError

CHUNK = 16 * 1024 * 1024
SAMPLE_BYTES = 64 * 1024
SHOW_LINES = 5  # line numbers named in a note
# Bytes Windows-1252 leaves undefined; Python's cp1252 codec cannot decode them.
CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one); open it in Excel and "
                    "export the sheet as CSV, or unzip it first"),
    (b"PK\x05\x06", "an empty zip archive; export the data as CSV"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls); open it in "
                                          "Excel and export the sheet as CSV"),
    (b"%PDF", "a PDF document; export the table from its source as CSV"),
    (b"PAR1", "a Parquet file; rename it to end in .parquet"),
    (b"SQLite format 3\x00", "an SQLite database; export the table as CSV"),
    (b"\x89PNG", "a PNG image, not a data file"),
    (b"\xff\xd8\xff", "a JPEG image, not a data file"),
    (b"GIF8", "a GIF image, not a data file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive; extract it first"),
    (b"Rar!\x1a\x07", "a RAR archive; extract it first"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data; rename it to end in .zst"),
    (b"\x1f\x8b", "gzip-compressed data; rename it to end in .gz"),
)


def is_gzip(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


@contextmanager
def open_bytes(path: Path) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading bytes, through gzip for ``.gz`` files.

    A truncated or corrupt gzip stream raises :class:`InputFileError` naming the file.
    """
    fh = (cast(IO[bytes], gzip.open(path, "rb")) if is_gzip(path)  # noqa: SIM115
          else path.open("rb"))
    try:
        with fh:
            yield fh
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputFileError(
            f"{path}: the gzip data is truncated or corrupt ({exc}); nothing was loaded. "
            "Re-download or re-compress the file") from exc


def head_bytes(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    """The first ``size`` bytes of the file's content (decompressed for ``.gz``)."""
    if is_gzip(path):
        with path.open("rb") as raw:
            magic = raw.read(2)
        if magic != b"\x1f\x8b":
            raise InputFileError(f"{path}: named .gz but is not gzip data; rename it "
                                 "without .gz if it is plain text")
    with open_bytes(path) as fh:
        return fh.read(size)


def utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the NUL-byte pattern of ASCII text says so."""
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if nul_odd > 0.3 and nul_even < 0.05:
        return "utf-16-le"
    if nul_even > 0.3 and nul_odd < 0.05:
        return "utf-16-be"
    return None


def refuse_non_text(path: Path, sample: bytes) -> None:
    """Raise :class:`InputFileError` when ``sample`` (the file's first bytes) is not text."""
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            raise InputFileError(f"{path}: looks like {what}; nothing was loaded")
    if sample[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") or sample[:2] in (
            codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or utf16_without_bom(sample):
        return
    control = sum(sample.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13))
    if sample and control / len(sample) > 0.05:
        raise InputFileError(
            f"{path}: looks like a binary file, not text ({control / len(sample):.0%} of the "
            "first bytes are control characters); export the data as CSV, JSON lines or "
            "Parquet; nothing was loaded")


def utf8_source(path: Path, sample: bytes) -> tuple[Path, str, list[str]]:
    """Return a UTF-8 path for ``path``: itself, or a transcoded temp copy.

    Whole-file UTF-8 check in 16 MiB chunks (C speed). A file that is not UTF-8 is
    transcoded line by line: lines valid as UTF-8 are kept, the rest are decoded as
    cp1252 (the usual culprit in spreadsheet exports), so a file with mixed encodings
    loses nothing. UTF-16/32 files (with a BOM, or UTF-16 recognised by its NUL bytes)
    are decoded whole.
    """
    if path.suffix.lower() == ".zst":
        return path, "utf-8", []
    if sample[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return _transcode(path, "utf-32", [])
    if sample[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return _transcode(path, "utf-16", [])
    guessed = utf16_without_bom(sample)
    if guessed:
        return _transcode(path, guessed, [f"no byte-order mark: decoded as {guessed.upper()} "
                                          "(recognised by its NUL bytes)"])
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open_bytes(path) as fh:
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return path, "utf-8", []
        except UnicodeDecodeError:
            pass
    return _mixed_copy(path)


def _lines(numbers: list[int], n_lines: int) -> str:
    """``line 4`` / ``lines 4, 9, ...``: the first line numbers of ``n_lines`` lines."""
    shown = ", ".join(str(n) for n in numbers[:SHOW_LINES])
    more = ", ..." if n_lines > SHOW_LINES else ""
    return f"line {shown}" if n_lines == 1 else f"lines {shown}{more}"


def _mixed_copy(path: Path) -> tuple[Path, str, list[str]]:
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed by stage_file
        prefix="insightloop-", suffix=".csv", delete=False)
    cp_lines: list[int] = []
    n_cp = n_bad = n_bad_lines = 0
    bad_lines: list[int] = []
    with open_bytes(path) as fh, tmp:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
                tmp.write(raw)
                continue
            except UnicodeDecodeError:
                pass
            n_cp += 1
            if len(cp_lines) < SHOW_LINES:
                cp_lines.append(number)
            bad = sum(raw.count(b) for b in CP1252_UNDEFINED)
            if bad:
                n_bad += bad
                n_bad_lines += 1
                if len(bad_lines) < SHOW_LINES:
                    bad_lines.append(number)
            tmp.write(raw.decode("cp1252", errors="replace").encode("utf-8"))
    notes = [f"{n_cp} line(s) were not UTF-8 and were decoded as cp1252 (Windows-1252): "
             + _lines(cp_lines, n_cp)]
    if n_bad:
        notes.append(f"{n_bad} byte(s) invalid in cp1252 were replaced by U+FFFD: "
                     + _lines(bad_lines, n_bad_lines))
    return Path(tmp.name), "mixed", notes


def _transcode(path: Path, encoding: str, notes: list[str]) -> tuple[Path, str, list[str]]:
    """Decode ``path`` whole from ``encoding``; undecodable bytes counted and noted."""
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed by stage_file
        prefix="insightloop-", suffix=".csv", delete=False)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    bad = n_bad_lines = 0
    bad_lines: list[int] = []
    line = 1
    with open_bytes(path) as fh, tmp:
        final = False
        while not final:
            chunk = fh.read(CHUNK // 4)
            final = not chunk
            text = decoder.decode(chunk, final=final)
            if "\ufffd" in text:
                for part in text.split("\n"):
                    count = part.count("\ufffd")
                    if count:
                        bad += count
                        n_bad_lines += 1
                        if len(bad_lines) < SHOW_LINES:
                            bad_lines.append(line)
                    line += 1
                line -= 1
            else:
                line += text.count("\n")
            tmp.write(text.encode("utf-8"))
    name = encoding.upper()
    if bad:
        notes = [*notes, f"{bad} character(s) invalid in {name} were replaced by U+FFFD: "
                 + _lines(bad_lines, n_bad_lines)]
    return Path(tmp.name), name.lower(), [f"decoded from {name}", *notes]


def file_digest(path: Path) -> tuple[str, int]:
    """The SHA-256 of the file's bytes (hex) and its number of physical lines (line feeds,
    plus one for a last line without one), in one read of 1 MiB chunks."""
    digest = hashlib.sha256()
    lines, last = 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return digest.hexdigest(), lines + (last != b"\n")
