"""Integrity of a warehouse file, checked before DuckDB opens it.

A DuckDB file is a 4 KiB main header, two 4 KiB database headers (the one with the
higher iteration is current) and then ``block_count`` blocks of ``block_alloc_size``
bytes. Every header and block starts with an 8-byte checksum of the rest of it:
``5381 XOR (XOR of each 64-bit little-endian word times 0xbf58476d1ce4e5b9)``
(DuckDB ``Checksum``). DuckDB verifies a block only when it reads it, so a file cut
short opens and accepts a write; this module refuses it first:

* every open: the path is a file, not empty, has the ``DUCK`` magic and headers whose
  checksums hold, and holds every block its catalog uses (truncation). DuckDB itself
  cuts free blocks off the end after a checkpoint while the header still counts them,
  so only a file shorter than its header is asked, through DuckDB, which blocks are
  in use;
* write opens: also the checksum of every block (numpy, 64 blocks at a time).

A check that passed is remembered for the file's (inode, size, mtime, WAL size), and
a file this process has just written is trusted, so repeated opens cost one ``stat``.
"""

from __future__ import annotations

import errno
import fcntl
import re
import struct
import threading
from io import BufferedReader
from pathlib import Path

import duckdb
import numpy as np

from insightloop.errors import WarehouseError

HEADER_BYTES = 3 * 4096
_MULT = np.uint64(0xBF58476D1CE4E5B9)
_SEED = np.uint64(5381)
_CHUNK_BLOCKS = 64
_DAMAGE_MARKERS = ("corrupt database file", "checksum", "not a valid duckdb database file",
                   "could not read enough bytes")

_lock = threading.Lock()
_verified: dict[tuple[str, bool], tuple[int, ...]] = {}

#: What to do when `insightloop serve` holds the warehouse (docs/cli.md).
SERVE_HINT = ("while `insightloop serve` runs, send writes to it as jobs: POST /api/v1/jobs "
              "with a write key; GET /api/v1/jobs/kinds lists the kinds")


def damaged(path: Path | str, why: str) -> WarehouseError:
    """The one message for a damaged warehouse file."""
    return WarehouseError(
        f"warehouse {path} is damaged: {why}; restore it from a backup, or move it aside "
        "and rebuild it from your source files with `insightloop ingest`")


def check_file(path: Path, *, checksums: bool) -> None:
    """Refuse ``path`` unless it is a whole DuckDB file (see the module docstring)."""
    if path.is_dir():
        raise WarehouseError(
            f"warehouse {path} is a folder, not a DuckDB file; pass the database file "
            "itself with --warehouse")
    key = str(path)  # the signature holds the inode, so a relative key cannot mix files up
    for attempt in range(3):
        sig = signature(path)
        with _lock:
            if _verified.get((key, checksums)) == sig or _verified.get((key, True)) == sig:
                return
        try:
            _check(path, sig[1], checksums)
        except WarehouseError:
            # A file changing under the check is being written, not damaged: look again.
            if attempt < 2 and signature(path) != sig:
                continue
            if _held_by_writer(path):
                raise WarehouseError(
                    f"warehouse {path} is being written by another process; wait for it to "
                    f"finish ({SERVE_HINT})") from None
            raise
        with _lock:
            _verified[(key, checksums)] = sig
        return


def _held_by_writer(path: Path) -> bool:
    """Whether another process holds DuckDB's write lock (an exclusive ``fcntl`` lock)."""
    try:
        with path.open("rb") as fh:
            fcntl.lockf(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.lockf(fh, fcntl.LOCK_UN)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EACCES)
    return False


def trust_file(path: Path) -> None:
    """Remember ``path`` as verified in its current state (this process just wrote it)."""
    if path.is_file():
        sig = signature(path)
        with _lock:
            _verified[(str(path), True)] = sig


def forget_file(path: Path) -> None:
    """Check ``path`` again on its next open."""
    with _lock:
        for mode in (True, False):
            _verified.pop((str(path), mode), None)


def block_checksums(blocks: np.ndarray) -> np.ndarray:
    """DuckDB's checksum of each row of ``blocks`` (uint64 words after the stored one)."""
    with np.errstate(over="ignore"):
        return np.bitwise_xor.reduce(blocks[:, 1:] * _MULT, axis=1) ^ _SEED


def signature(path: Path) -> tuple[int, ...]:
    """What identifies the state of ``path``: inode, size, mtime and WAL size."""
    st = path.stat()
    wal = path.with_name(path.name + ".wal")
    wal_size = wal.stat().st_size if wal.exists() else -1
    return (st.st_ino, st.st_size, st.st_mtime_ns, wal_size)


def _check(path: Path, size: int, checksums: bool) -> None:
    if size == 0:
        raise damaged(path, "the file is empty (0 bytes), not a DuckDB database")
    try:
        with path.open("rb") as fh:
            head = fh.read(HEADER_BYTES)
            if len(head) < HEADER_BYTES or head[8:12] != b"DUCK":
                raise WarehouseError(
                    f"warehouse {path} is not a DuckDB database (no DuckDB header in its first "
                    f"{min(size, HEADER_BYTES):,} bytes); pass the warehouse file with "
                    "--warehouse, or, if this was one, restore it from a backup")
            words = np.frombuffer(head, dtype="<u8").reshape(3, 512)
            bad = np.flatnonzero(block_checksums(words) != words[:, 0])
            if bad.size:
                raise damaged(path, f"its header at byte {int(bad[0]) * 4096:,} fails its "
                                    "checksum")
            # iteration, meta_block, free_list, block_count, block_alloc_size
            _, _, _, block_count, block_size = max(
                struct.unpack_from("<5Q", head, 4096 * i + 8) for i in (1, 2))
            if not 4096 <= block_size <= 1 << 24 or block_size & (block_size - 1):
                return  # a layout this check does not know: leave it to DuckDB
            expected = HEADER_BYTES + block_count * block_size
            present = max(0, (size - HEADER_BYTES) // block_size)
            whole = (size - HEADER_BYTES) % block_size == 0  # DuckDB cuts whole blocks only
            if size < expected and (not whole or _last_block_in_use(path) >= present):
                raise damaged(
                    path, f"the file has {size:,} bytes but its header lists {block_count:,} "
                          f"blocks ({expected:,} bytes) and some of the missing ones are in "
                          "use: it was cut short")
            if checksums:
                _check_blocks(path, fh, min(block_count, present), block_size)
    except OSError as exc:
        raise WarehouseError(
            f"cannot read warehouse {path}: {exc.strerror or exc}; check its permissions"
        ) from exc


def _last_block_in_use(path: Path) -> int:
    """The highest block id DuckDB's catalog says holds data or metadata (-1 for none).

    After a checkpoint DuckDB cuts free blocks off the end of the file but the header
    keeps counting them until the next checkpoint, so a file shorter than its header
    is damaged only when a block past its end is in use. Asked only in that rare case;
    a file DuckDB cannot open at all is damaged (or locked, which the caller tells).
    """
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise _cut_short(path, exc) from exc
    try:
        row = con.execute("SELECT max(block_id) FROM pragma_metadata_info()").fetchone()
        top = int(row[0]) if row and row[0] is not None else -1
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = current_database()").fetchall()
        for schema, name in tables:
            if not re.fullmatch(r"\w+", schema) or not re.fullmatch(r"\w+", name):
                continue  # pragma_storage_info cannot name it; its blocks go unchecked
            row = con.execute(
                "SELECT max(greatest(block_id, coalesce(list_max(additional_block_ids), -1))) "
                "FROM pragma_storage_info(?)", [f"{schema}.{name}"]).fetchone()
            if row and row[0] is not None:
                top = max(top, int(row[0]))
    except duckdb.Error as exc:
        raise _cut_short(path, exc) from exc
    finally:
        con.close()
    return top


def _cut_short(path: Path, exc: duckdb.Error) -> WarehouseError:
    return damaged(path, "it is shorter than its header says and blocks it needs are missing: "
                         f"it was cut short ({first_line(exc).removeprefix('IO Error: ')})")


def _check_blocks(path: Path, fh: BufferedReader, block_count: int, block_size: int) -> None:
    words = block_size // 8
    buf = np.empty((_CHUNK_BLOCKS, words), dtype="<u8")
    for first in range(0, block_count, _CHUNK_BLOCKS):
        n = min(_CHUNK_BLOCKS, block_count - first)
        chunk = buf[:n]
        got = fh.readinto(chunk.data.cast("B"))
        if got != n * block_size:
            raise damaged(path, f"block {first:,} onwards cannot be read in full")
        mismatch = np.flatnonzero(block_checksums(chunk) != chunk[:, 0])
        # A block of zeros is a freed block whose space was given back, not damage.
        bad = [int(b) for b in mismatch if chunk[b].any()]
        if bad:
            where = HEADER_BYTES + (first + bad[0]) * block_size
            raise damaged(path, f"block {first + bad[0]:,} of {block_count:,} (at byte "
                                f"{where:,}) fails its checksum")


def is_damage(exc: BaseException) -> bool:
    """Whether a DuckDB error reports a damaged file (rather than a bad query)."""
    text = str(exc).lower()
    return any(marker in text for marker in _DAMAGE_MARKERS)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def open_duckdb(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with its errors turned into one clear line each."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        forget_file(path)
        raise _open_error(path, exc, read_only) from exc


def _open_error(path: Path, exc: duckdb.Error, read_only: bool) -> WarehouseError:
    text = str(exc)
    low = text.lower()
    if "could not set lock" in low:
        pid = re.search(r"PID (\d+)", text)
        holder = f"process {pid.group(1)}" if pid else "another process"
        return WarehouseError(
            f"warehouse {path} is in use by {holder}, which "
            + ("is writing it" if read_only else "has it open")
            + f"; wait for it to finish or stop it ({SERVE_HINT})")
    if is_damage(exc):
        return damaged(path, first_line(exc).removeprefix("IO Error: "))
    if "permission denied" in low or "read-only file system" in low:
        reason = "permission denied" if "permission" in low else "the file system is read-only"
        return WarehouseError(
            f"cannot open warehouse {path} for {'reading' if read_only else 'writing'}: "
            f"{reason}; fix its permissions, or use a read command with "
            "INSIGHTLOOP_READ_ONLY=1")
    if "version number" in low or "storage version" in low:
        return WarehouseError(
            f"warehouse {path} was written by another DuckDB version: {first_line(exc)}; "
            "use the insightloop release that made it, or export and re-ingest")
    return WarehouseError(f"cannot open warehouse {path}: {first_line(exc)}")
