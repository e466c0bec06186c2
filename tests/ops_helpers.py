"""A real, throwaway PostgreSQL server for the operational-store tests.

Started once per test session from Debian's ``postgresql`` package (``initdb`` and
``pg_ctl``, on the PATH or in ``/usr/lib/postgresql/<version>/bin``) on a free port in a
temporary folder, as user ``postgres`` when the tests run as root (PostgreSQL refuses
root). Each test gets a fresh database. Without the binaries the PostgreSQL cases skip
and say why; ``.ci/run`` installs the package.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

_server: tuple[str, int] | None = None
_failure: str | None = None


def pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start() -> tuple[str, int]:
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found: install Debian's "
                           "postgresql package (`.ci/run` does)")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="insightloop-pg-"))
    if os.geteuid() == 0:
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no 'postgres' user to run "
                               "PostgreSQL as") from None
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "insightloop",
                    "--auth=trust", "-E", "UTF8", "--no-sync"], check=True,
                   capture_output=True, timeout=120)
    opts = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w",
                    "-l", str(folder / "log"), "start"], check=True, capture_output=True,
                   timeout=120)

    def stop() -> None:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    return str(folder), port


def pg_server() -> tuple[str, int]:
    """``(socket folder, port)`` of the session's server; skips when it cannot start."""
    global _server, _failure
    if _server is None and _failure is None:
        try:
            _server = _start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            _failure = f"{exc} {detail.decode(errors='replace')[-300:]}".strip()
    if _server is None:
        pytest.skip(f"no PostgreSQL server: {_failure}")
    return _server


def pg_url() -> str:
    """A URL to a new, empty database on the session's server."""
    import psycopg

    _, port = pg_server()
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"host=127.0.0.1 port={port} user=insightloop dbname=postgres",
                         autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://insightloop@127.0.0.1:{port}/{name}"


def ops_url_for(backend: str, folder: Path) -> str:
    """A fresh operational-store URL on ``backend`` ("sqlite" or "postgresql")."""
    if backend == "postgresql":
        return pg_url()
    return f"sqlite:///{folder / 'ops.sqlite'}"
