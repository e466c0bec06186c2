"""User mistakes and environment failures print one ``Error:`` line, never a traceback.

Exit codes: 1 for errors, 2 for usage errors (as click does), 130 for Ctrl-C.
``--debug`` or ``INSIGHTLOOP_DEBUG=1`` adds the traceback. Failures the test machine
cannot produce for real (root ignores permissions, the disk is not full) are injected
where the operating system or DuckDB would raise them, with their real error text.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from insightloop.cli.main import main

CLI = [sys.executable, "-m", "insightloop.cli.main"]


pytestmark = pytest.mark.usefixtures("clean_env")  # tests/conftest.py; so is `wh`


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "Traceback" not in out
    return code, " ".join(captured.err.split())


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


def test_missing_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["profile", "1", "-w", str(tmp_path / "none.duckdb")], capsys)
    assert code == 1 and err.startswith("Error: warehouse") and "does not exist yet" in err
    assert "`insightloop ingest`" in err
    assert not (tmp_path / "none.duckdb").exists()


def test_unknown_customer(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["profile", "no-such-customer", "-w", str(wh)], capsys)
    assert code == 1 and "Error: customer 'no-such-customer' has no profile" in err


def test_usage_errors_exit_2(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["quality", "--no-such-option", "-w", str(wh)], capsys)
    assert code == 2 and "No such option" in err
    code, err = run(["recommend", "show", "12346", "--top", "many", "-w", str(wh)], capsys)
    assert code == 2 and "Invalid value for '--top'" in err and "valid integer" in err
    code, err = run(["recommend", "show", "12346", "--n", "0", "-w", str(wh)], capsys)  # old
    assert code == 2 and "Invalid value for '--top'" in err and "greater than or equal" in err
    code, err = run(["profile"], capsys)
    assert code == 2 and "Missing argument" in err


def test_wrong_option_value(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["profiles", "build", "--as-of", "last tuesday", "-w", str(wh)], capsys)
    assert code == 2 and "--as-of expects an ISO date like 2011-09-01, got 'last tuesday'" in err


def test_input_file_not_found(wh: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope" / "orders.csv"
    code, err = run(["ingest", "orders", str(missing), "-w", str(wh)], capsys)
    assert code in (1, 2) and "orders.csv" in err


def test_model_not_built(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["explain", "12346", "-w", str(wh)], capsys)
    assert code == 1 and err.startswith("Error: ") and "train" in err


def test_damaged_warehouse(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.truncate(wh, wh.stat().st_size // 2)
    size = wh.stat().st_size
    for argv in (["profile", "12346"], ["profiles", "build"], ["quality"]):
        code, err = run([*argv, "-w", str(wh)], capsys)
        line = one_error_line(err)
        assert code == 1 and "is damaged: the file has" in line and "cut short" in line
    assert wh.stat().st_size == size


def test_check_reads_every_block(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["check", "-w", str(wh), "--json"], capsys)
    assert code == 0
    with wh.open("r+b") as fh:  # garbage in the middle of the first data block
        fh.seek(3 * 4096 + 100_000)
        fh.write(bytes(range(256)) * 4)
    code, err = run(["check", "-w", str(wh)], capsys)
    assert code == 1 and "block 0 of" in one_error_line(err) and "fails its checksum" in err


@pytest.fixture
def locked(wh: Path) -> Iterator[int]:
    """Another process holding the warehouse open for writing; yields its PID."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()", str(wh)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    try:
        yield holder.pid
    finally:
        holder.communicate("", timeout=30)


def test_locked_by_another_process(wh: Path, locked: int,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["profiles", "build"], ["profile", "12346"]):
        code, err = run([*argv, "-w", str(wh)], capsys)
        assert code == 1 and f"is in use by process {locked}" in one_error_line(err)


def test_permission_denied_opening_the_warehouse(
        wh: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(path: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        raise duckdb.IOException(f'IO Error: Cannot open file "{path}": Permission denied')

    monkeypatch.setattr("insightloop.storage.integrity.duckdb.connect", refuse)
    code, err = run(["profiles", "build", "-w", str(wh)], capsys)
    assert code == 1 and "cannot open warehouse" in err and "permission denied" in err


def test_os_errors_from_anywhere(wh: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    import insightloop.services.profiles as profiles

    cases = {
        OSError(errno.ENOSPC, "No space left on device", str(wh) + ".wal"):
            "no space left on the device writing",
        PermissionError(errno.EACCES, "Permission denied", "/srv/data/orders.csv"):
            "cannot write or read /srv/data/orders.csv: Permission denied",
        duckdb.IOException('IO Error: Could not write file "x.wal": No space left on device'):
            "no space left on the device",
        ValueError("boom"): "unexpected ValueError: boom; this is a bug in insightloop",
        duckdb.BinderException('Binder Error: Referenced column "tier" not found in FROM '
                               'clause!'): "a table built by an older release or not built yet",
    }
    for exc, expected in cases.items():
        def fail(*_a: object, _exc: BaseException = exc, **_k: object) -> None:
            raise _exc

        monkeypatch.setattr(profiles, "build_profiles", fail)
        code, err = run(["profiles", "build", "-w", str(wh)], capsys)
        assert code == 1 and expected in one_error_line(err), err


def test_keyboard_interrupt_exits_130(wh: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import insightloop.services.profiles as profiles

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(profiles, "build_profiles", interrupted)
    code, err = run(["profiles", "build", "-w", str(wh)], capsys)
    assert code == 130 and "interrupted (Ctrl-C)" in err


@pytest.mark.parametrize("error", [RuntimeError("Query interrupted"),
                                   duckdb.InterruptException("INTERRUPT Error")])
def test_ctrl_c_inside_a_duckdb_query_exits_130(wh: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str],
                                                error: Exception) -> None:
    """DuckDB answers SIGINT during a query with its own error, not KeyboardInterrupt."""
    import insightloop.services.profiles as profiles

    def interrupted(*_a: object, **_k: object) -> None:
        raise error

    monkeypatch.setattr(profiles, "build_profiles", interrupted)
    code, err = run(["profiles", "build", "-w", str(wh)], capsys)
    assert code == 130 and "interrupted (Ctrl-C)" in err and "bug" not in err


def test_real_sigint_exits_130_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.Popen([*CLI, "demo", "--no-serve", "-w", str(tmp_path / "d.duckdb")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"COLUMNS": "200"},
                            # a runner started in the background (`cmd &`) ignores SIGINT, and
                            # Python keeps an inherited SIG_IGN: give the CLI the default back
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (tmp_path / "d.duckdb").exists():  # the first step (ingest) is writing
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err and "interrupted (Ctrl-C)" in err


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "none.duckdb")
    assert main(["--debug", "profile", "1", "-w", missing]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "Error: warehouse" in err
    assert main(["profile", "1", "-w", missing, "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("INSIGHTLOOP_DEBUG", "1")
    assert main(["profile", "1", "-w", missing]) == 1
    assert "Traceback" in capsys.readouterr().err


# -- read-only use: every read command works, every write command says why it cannot ---

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "warehouse_prev_release.duckdb.gz"


@pytest.fixture
def prev_release(tmp_path: Path) -> Path:
    import gzip

    path = tmp_path / "prev" / "warehouse.duckdb"
    path.parent.mkdir()
    with gzip.open(FIXTURE, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def test_read_commands_on_a_read_only_warehouse_from_the_previous_release(
        prev_release: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    con = duckdb.connect(str(prev_release), read_only=True)
    row = con.execute("SELECT customer_id FROM segment_members ORDER BY 1 LIMIT 1").fetchone()
    con.close()
    assert row is not None
    customer = str(row[0])
    monkeypatch.setenv("INSIGHTLOOP_READ_ONLY", "1")
    stamp = prev_release.read_bytes()
    w = ["-w", str(prev_release)]
    for argv in (["quality"], ["profile", customer], ["segments", "show"], ["cohorts"],
                 ["report"], ["sentiment", "show"], ["basket-rules"], ["models", "list"],
                 ["check"], ["profile", customer, "--json"]):
        code, err = run([*argv, *w], capsys)
        assert code == 0, (argv, err)
    for argv in (["profiles", "build"], ["topics"], ["migrate"]):
        code, err = run([*argv, *w], capsys)
        assert code == 1 and "is read-only here (INSIGHTLOOP_READ_ONLY=1" in one_error_line(err)
    code, err = run(["explain", customer, *w], capsys)  # its model was not kept: clear error
    assert code == 1 and "no model named 'churn'" in one_error_line(err)
    assert prev_release.read_bytes() == stamp  # nothing written, not even a migration
    monkeypatch.delenv("INSIGHTLOOP_READ_ONLY")
    code, _ = run(["migrate", *w], capsys)
    assert code == 0
    assert prev_release.read_bytes() != stamp
    code, _ = run(["profile", customer, *w], capsys)
    assert code == 0


@pytest.mark.slow
def test_model_read_commands_on_a_read_only_demo_warehouse(
        demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INSIGHTLOOP_READ_ONLY", "1")
    stamp = demo_warehouse.stat()
    w = ["-w", str(demo_warehouse)]
    for argv in (["recommend", "show", "12346"], ["similar", "85123A"], ["explain", "12346"],
                 ["segments", "show"], ["sentiment", "show"]):
        code, err = run([*argv, *w], capsys)
        assert code == 0, (argv, err)
    after = demo_warehouse.stat()
    assert (after.st_size, after.st_mtime_ns) == (stamp.st_size, stamp.st_mtime_ns)
