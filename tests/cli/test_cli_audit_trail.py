"""Every CLI command that changes or exports data lands in the audit log (who, which
command, the outcome), never the values of its arguments; a read-only command does not; a
usage error (the command never ran) does not; every command is classified exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer

from insightloop.cli import app as app_module
from insightloop.cli.main import _load_commands, main
from insightloop.cli.trail import (
    AUDITED,
    PERSONAL_READS,
    READ_ONLY,
    SELF_AUDITED,
    command_path,
)

pytestmark = pytest.mark.usefixtures("clean_env")  # tests/conftest.py; so is `wh`
WHERE = "recency_days > 90 and country = 'united kingdom'"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out


def _trail(capsys: pytest.CaptureFixture[str], wh: Path) -> list[dict[str, Any]]:
    code, out = _run(capsys, "audit", "list", "-w", str(wh), "--json")
    assert code == 0
    return [e for e in json.loads(out)["entries"] if e["actor"].startswith("cli:")]


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> list[str]:
    subs = getattr(cmd, "commands", None)
    if not subs:
        return [" ".join(path)]
    return [c for name, sub in subs.items() for c in _commands(sub, (*path, name))]


def test_every_command_is_classified_once() -> None:
    _load_commands()
    group = typer.main.get_command(app_module.app)
    commands = _commands(group)
    sets = (AUDITED, PERSONAL_READS, SELF_AUDITED, READ_ONLY)
    assert sum(len(s) for s in sets) == len(frozenset().union(*sets))  # disjoint
    unclassified = set(commands) - frozenset().union(*sets)
    assert not unclassified, f"classify {sorted(unclassified)} in cli/trail.py"
    assert set(commands) == frozenset().union(*sets)
    assert command_path(group, ["-w", "x.duckdb", "audiences", "export", "a", "-o", "f"]
                        ) == "audiences export"
    assert command_path(group, ["--json", "profile", "17850"]) == "profile"


def test_writes_and_exports_are_audited_reads_are_not(wh: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    w = ("-w", str(wh))
    out_file = tmp_path / "members-secret-name.csv"
    assert _run(capsys, "audiences", "create", "uk-lapsed", "--where", WHERE, *w)[0] == 0
    assert _run(capsys, "audiences", "list", *w)[0] == 0  # read: not audited
    assert _run(capsys, "audiences", "count", "--where", WHERE, *w)[0] == 0
    assert _run(capsys, "audiences", "export", "uk-lapsed", "--output", str(out_file),
                *w)[0] == 0
    assert out_file.stat().st_size > 0
    # a write that fails is audited as an error; a usage error never ran: not audited
    assert _run(capsys, "audiences", "delete", "no-such-audience", *w)[0] == 1
    assert _run(capsys, "audiences", "create", "x", "--no-such-option", *w)[0] == 2
    # reading a customer's data is audited (who, which command), the id is not recorded
    profile_exit = _run(capsys, "profile", "no-such-customer-777", *w)[0]
    assert profile_exit not in (0, 2)
    trail = _trail(capsys, wh)
    assert [(e["action"], e["detail"]["outcome"], e["detail"]["exit"]) for e in trail] == [
        ("cli audiences create", "ok", 0), ("cli audiences export", "ok", 0),
        ("cli audiences delete", "error", 1), ("cli profile", "error", profile_exit)]
    assert {e["target"] for e in trail} == {"audiences create", "audiences export",
                                            "audiences delete", "profile"}
    text = json.dumps(trail)
    for value in ("uk-lapsed", "united kingdom", "members-secret-name", "no-such-audience",
                  "no-such-customer-777", str(tmp_path)):
        assert value not in text
    # `audit list` reads no customer's data: still four entries
    assert len(_trail(capsys, wh)) == 4


def test_ingest_before_the_store_exists_waits_then_lands(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    wh = tmp_path / "fresh.duckdb"
    data = tmp_path / "customers.csv"
    data.write_text("customer_id,email,country\nc1,ann@example.com,UK\nc2,bo@example.com,FR\n",
                    encoding="utf-8")
    assert _run(capsys, "ingest", "customers", str(data), "-w", str(wh))[0] == 0
    pending = tmp_path / "fresh.audit-pending.jsonl"
    assert not (tmp_path / "fresh.ops.sqlite").exists() and pending.exists()
    assert "example.com" not in pending.read_text(encoding="utf-8")
    trail = _trail(capsys, wh)  # reading the log creates the store and moves the entry in
    assert [(e["action"], e["detail"]) for e in trail] == [
        ("cli ingest", {"exit": 0, "outcome": "ok"})]
    assert not pending.exists()
    assert _run(capsys, "ingest", "customers", str(data), "-w", str(wh))[0] == 0
    assert not pending.exists() and len(_trail(capsys, wh)) == 2  # straight into the store
