"""CLI: ``insightloop campaigns send`` exactly as the acceptance check runs it, against a
real local SMTP server; a ``kill -9`` mid-send and a re-run; ``list``, ``show``,
``ledger``; errors in one line with exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from campaign_data import NO_RECORD, WITHDRAWN, build_warehouse, eligible_ids, quiet_policy
from campaign_servers import Recorder, free_port, smtp_server
from insightloop.cli.main import main


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
          ) -> tuple[Path, Path]:
    quiet_policy(monkeypatch)
    wh = tmp_path / "wh.duckdb"
    build_warehouse(wh)
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ name }}: {{ recency_days }} days since your last order.\n")
    return wh, body


def send_args(wh: Path, body: Path, port: int, *extra: str) -> list[str]:
    return ["campaigns", "send", "--name", "Spring", "--audience-where", "recency_days >= 0",
            "--channel", "email", "--subject", "Hello", "--body-template", str(body),
            "--holdout", "0.1", "--seed", "42", "--smtp-host", "127.0.0.1",
            "--smtp-port", str(port), "--json", "--warehouse", str(wh), *extra]


def run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_acceptance_interface(setup: tuple[Path, Path],
                              capsys: pytest.CaptureFixture[str]) -> None:
    wh, body = setup
    rec = Recorder(reject={"c11@example.com"})
    with smtp_server(rec) as port:
        code, out, err = run(capsys, send_args(wh, body, port))
        assert code == 0, err
        first = json.loads(out)
        code, out, err = run(capsys, send_args(wh, body, port))
        again = json.loads(out)
    assert {"audience", "holdout", "suppressed", "failed", "delivered", "sent"} <= set(first)
    received = len(rec.messages)
    assert received == first["sent"] == first["delivered"]
    assert received == first["audience"] - first["holdout"] - \
        sum(first["suppressed"].values()) - first["failed"]
    assert first["audience"] == 40 and again["sent"] == 0 and len(rec.messages) == received
    assert not {r.split("@")[0] for r in rec.recipients} & (NO_RECORD | WITHDRAWN)
    code, out, _ = run(capsys, ["campaigns", "ledger", "spring", "--status", "failed",
                                "--json", "--warehouse", str(wh)])
    failed = json.loads(out)["rows"]
    assert code == 0 and len(failed) == first["failed"]
    assert all(r["reason"].startswith("smtp 550") for r in failed)
    code, out, _ = run(capsys, ["campaigns", "list", "--json", "--warehouse", str(wh)])
    listed = json.loads(out)["campaigns"]
    assert [c["campaign_id"] for c in listed] == ["spring"] and listed[0]["runs"] == 2
    code, out, _ = run(capsys, ["campaigns", "show", "Spring", "--warehouse", str(wh)])
    assert code == 0 and "suppressed (no_consent)" in out


@pytest.mark.slow
def test_kill_9_mid_send_then_rerun_loses_nothing(setup: tuple[Path, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    wh, body = setup
    rec = Recorder(delay=0.05)
    with smtp_server(rec) as port:
        proc = subprocess.Popen(
            [sys.executable, "-m", "insightloop.cli.main",
             *send_args(wh, body, port, "--batch-size", "8")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
        deadline = time.monotonic() + 60
        while len(rec.messages) < 6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        before = len(rec.messages)
        rec.delay = 0.0
        code, out, err = run(capsys, send_args(wh, body, port))
    assert code == 0, err
    result = json.loads(out)
    sent = rec.ids
    assert 6 <= before < len(sent)
    assert len(sent) - len(set(sent)) <= 1  # at most the message in flight repeats
    assert len(set(sent)) == result["delivered"] == result["audience"] - result["holdout"] - \
        sum(result["suppressed"].values()) - result["failed"]
    assert result["pending"] == 0 and result["failed"] == 0
    assert {r.split("@")[0] for r in rec.recipients} <= eligible_ids()


def test_dry_run_and_bad_input(setup: tuple[Path, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    wh, body = setup
    port = free_port()
    code, out, err = run(capsys, send_args(wh, body, port, "--dry-run"))
    assert code == 0, err
    dry = json.loads(out)
    assert dry["dry_run"] and dry["sent"] == 0 and dry["to_send"] > 0
    code, _, err = run(capsys, ["campaigns", "list", "--json", "--warehouse", str(wh)])
    assert code == 0
    code, _, err = run(capsys, send_args(wh, tmp_path / "missing.txt", port))
    assert code == 2 and "missing.txt: no such file" in err and "Traceback" not in err
    code, _, err = run(capsys, [*send_args(wh, body, port)[:-3], "--holdout", "1.5", "--json",
                                "--warehouse", str(wh)])
    assert code == 2 and "--holdout 1.5" in err
    code, _, err = run(capsys, ["campaigns", "send", "--name", "x", "--audience-where",
                                "no_such_column > 1", "--body-template", str(body),
                                "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
                                "--json", "--warehouse", str(wh)])
    assert code == 2 and "no_such_column" in err
    code, _, err = run(capsys, ["campaigns", "show", "nope", "--warehouse", str(wh)])
    assert code == 1 and "no campaign 'nope'" in err
