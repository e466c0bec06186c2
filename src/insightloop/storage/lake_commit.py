"""Commits on a lake: several tables replaced together, through a journal of folder renames.

A commit moves staging folders (``<root>/_staging/<table>-<uuid>/``, each fully written)
into place as tables, all or none:

1. every staging folder is written (a crash here leaves the lake as it was; the folders
   are orphans that the next recovery removes);
2. the journal ``<root>/_commits/<id>.json`` naming every ``staging -> table`` rename is
   written atomically (temp file, fsync, rename, fsync of the folder): from here on the
   commit has happened;
3. for each table, the old folder is renamed to ``_staging/<staging>-old`` and the staging
   folder to ``<root>/<table>``;
4. the folders are fsynced, the old ones removed and the journal deleted.

:func:`recover` (run when a :class:`~insightloop.storage.lake.Lake` is opened and before it
is read or written) rolls a journal left by a crash forward: steps 3 and 4 again, idempotent
(an entry whose staging folder is gone is in place already). Staging folders no journal
names are removed. Writers and recovery hold an exclusive lock on
``<root>/_commits/.lock`` (``flock``, released by the kernel when a process dies): a writer
holds it from its first staging folder to the end of its commit, so another process's
recovery never removes a folder still being written; recovery skips when the lock is taken,
and within one process while any of its threads writes that lake. Concurrent writers to
one lake wait for each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from insightloop.errors import WarehouseError

STAGING = "_staging"
COMMITS = "_commits"
LOCK = ".lock"
OLD = "-old"
log = logging.getLogger(__name__)


def _rename(src: Path, dst: Path) -> None:
    """One rename (``os.replace``); the only one commits do, so tests can crash it."""
    os.replace(src, dst)


def _sync_dir(folder: Path) -> None:
    """Make the renames inside ``folder`` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


@dataclass
class _RootLock:
    """This process's hold on one lake's lock: a thread lock, and the file lock while held."""

    thread: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    handle: IO[bytes] | None = None


_LOCKS: dict[str, _RootLock] = {}
_LOCKS_GUARD = threading.Lock()


def _root_lock(root: Path) -> _RootLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(root.resolve()), _RootLock())


@contextlib.contextmanager
def writer_lock(root: Path, *, wait: bool = True) -> Iterator[int]:
    """Hold the lake's writer lock (re-entrant within a thread); yields the depth (1 for the
    outermost hold), or 0 without holding anything when ``wait`` is False and it is taken."""
    lock = _root_lock(root)
    if not lock.thread.acquire(blocking=wait):
        yield 0
        return
    try:
        if lock.depth == 0:
            handle = _lock_file(root, wait)
            if handle is None:
                yield 0
                return
            lock.handle = handle
        lock.depth += 1
        try:
            yield lock.depth
        finally:
            lock.depth -= 1
            if lock.depth == 0 and lock.handle is not None:
                fcntl.flock(lock.handle, fcntl.LOCK_UN)
                lock.handle.close()
                lock.handle = None
    finally:
        lock.thread.release()


def _lock_file(root: Path, wait: bool) -> IO[bytes] | None:
    """The lake's lock file, locked; None (not waiting) when another process holds it or
    the lake cannot be written here (a read-only mount: nothing to recover from here)."""
    try:
        (root / COMMITS).mkdir(parents=True, exist_ok=True)
        handle = open(root / COMMITS / LOCK, "ab")  # noqa: SIM115 (held across yields)
    except OSError:
        if wait:
            raise
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BaseException as exc:
        handle.close()
        if wait or not isinstance(exc, OSError):
            raise
        return None
    return handle


def held_here(root: Path) -> bool:
    """Whether a thread of this process holds the lake's writer lock (is mid-write)."""
    return _root_lock(root).depth > 0


def begin_commit(root: Path, renames: Mapping[str, str]) -> Path:
    """Write the journal ``_commits/<id>.json`` of the renames ``{table: staging folder
    name}`` atomically; its existence is the commit. The caller holds the writer lock."""
    folder = root / COMMITS
    folder.mkdir(parents=True, exist_ok=True)
    cid = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    final, tmp = folder / f"{cid}.json", folder / f".{cid}.json.tmp"
    body = {"id": cid, "renames": [{"table": t, "staging": s} for t, s in renames.items()]}
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(body, fh)
        fh.flush()
        os.fsync(fh.fileno())
    _rename(tmp, final)
    _sync_dir(folder)
    return final


def _read_journal(journal: Path) -> list[tuple[str, str]]:
    try:
        body = json.loads(journal.read_text(encoding="utf-8"))
        return [(str(r["table"]), str(r["staging"])) for r in body["renames"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WarehouseError(
            f"lake commit journal {journal} cannot be read ({exc}); the commit it records "
            "cannot be finished: restore the tables it names from a backup, then remove "
            "it") from exc


def finish_commit(root: Path, journal: Path) -> None:
    """Do the renames of ``journal`` not done yet, then remove the old folders and it
    (idempotent: also how a journal a crash left is rolled forward)."""
    staging_root = root / STAGING
    renames = _read_journal(journal)
    for table, name in renames:
        staging, final, old = staging_root / name, root / table, staging_root / (name + OLD)
        if staging.exists():
            if final.exists():
                if old.exists():  # cannot happen through commit(); keep the newest table
                    shutil.rmtree(old)
                _rename(final, old)
            _rename(staging, final)
        elif not final.exists() and old.exists():
            # Nothing to move in and the table gone: someone removed the staging folder.
            # Put the old table back rather than lose it.
            log.warning("lake %s: staging %s of table %s is missing; the old table is kept",
                        root, name, table)
            _rename(old, final)
    _sync_dir(root)
    _sync_dir(staging_root)
    for _table, name in renames:
        shutil.rmtree(staging_root / (name + OLD), ignore_errors=True)
    journal.unlink(missing_ok=True)
    _sync_dir(journal.parent)


def pending(root: Path) -> list[Path]:
    """The journals of commits not finished (a crash), oldest first."""
    folder = root / COMMITS
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".json"
                  and not p.name.startswith("."))


def recover(root: Path, *, orphans: bool = True) -> bool:
    """Roll forward every journal a crash left and (``orphans``) remove the staging folders
    no journal names. Skipped, returning False, while another process or a thread of this
    one is writing the lake; True when the lake was checked."""
    staging_root = root / STAGING
    journals = pending(root)
    has_staging = orphans and staging_root.is_dir() and any(staging_root.iterdir())
    if not journals and not has_staging:
        return True
    if held_here(root):
        return False
    with writer_lock(root, wait=False) as depth:
        if not depth:
            return False
        recover_locked(root, orphans=orphans)
    return True


def recover_locked(root: Path, *, orphans: bool = True,
                   keep: Collection[str] = ()) -> None:
    """:func:`recover` for a caller holding the writer lock at depth 1 (``keep``: names of
    staging folders it wrote before taking the lock, to commit them)."""
    for journal in pending(root):
        finish_commit(root, journal)
    if not orphans:
        return
    folder = root / COMMITS
    if folder.is_dir():
        for tmp in folder.glob(".*.json.tmp"):  # a journal whose rename never happened
            tmp.unlink(missing_ok=True)
    staging_root = root / STAGING
    if staging_root.is_dir():
        for leftover in staging_root.iterdir():
            if leftover.name in keep:
                continue
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
