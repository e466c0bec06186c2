"""Handing the warehouse from readers in other processes to one writing process.

DuckDB lets one process write a file, or many read it; each open holds an ``fcntl`` lock
on the file (shared for reading, exclusive for writing). A server worker that is about to
run a job has announced it in the operational store (the job row is ``running``); the
other workers notice within their poll interval and close their read-only connections.
:func:`wait_for_readers` waits until no other process holds the file.

Call it only while this process has no connection of its own to the file: POSIX drops
all of a process's ``fcntl`` locks on a file when any descriptor of it is closed.
"""

from __future__ import annotations

import errno
import fcntl
import time
from pathlib import Path

from insightloop.errors import WarehouseError


def held_by_others(path: Path) -> bool:
    """Whether another process holds any lock on ``path`` (False when it does not exist)."""
    try:
        with path.open("rb+") as fh:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(fh, fcntl.LOCK_UN)
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return True
        raise
    return False


def wait_for_readers(path: Path, timeout_s: float, poll_s: float = 0.1) -> None:
    """Wait until no other process has ``path`` open, or raise :class:`WarehouseError`."""
    deadline = time.monotonic() + timeout_s
    while held_by_others(path):
        if time.monotonic() >= deadline:
            raise WarehouseError(
                f"warehouse {path} is still open in another process after {timeout_s:.0f} s "
                "(a server worker that did not release it, or another program); stop it and "
                "start the job again")
        time.sleep(poll_s)
