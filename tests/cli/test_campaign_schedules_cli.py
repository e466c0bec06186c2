"""CLI: ``campaigns send --every`` stores and schedules a campaign, ``campaigns tick``
runs it once per due time against a real local SMTP server, ``campaigns schedules``
lists/pauses/deletes, ``campaigns bounces import`` reads bounce reports; bad input exits 2
with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from campaign_data import build_warehouse, quiet_policy
from campaign_servers import Recorder, smtp_server
from insightloop.cli.main import main
from insightloop.storage.warehouse import Warehouse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
          ) -> tuple[Path, Path]:
    quiet_policy(monkeypatch)
    wh = tmp_path / "wh.duckdb"
    build_warehouse(wh)
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ name }}\n")
    return wh, body


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_schedule_tick_list_pause_delete_and_bounces(setup: tuple[Path, Path],
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    wh, body = setup
    w = ["--warehouse", str(wh)]
    rec = Recorder()
    with smtp_server(rec) as port:
        code, out, err = run(capsys, "campaigns", "send", "--name", "Morning",
                             "--audience-where", "recency_days >= 0", "--subject", "Hi",
                             "--body-template", str(body), "--smtp-host", "127.0.0.1",
                             "--smtp-port", str(port), "--every", "daily 09:00 UTC",
                             "--json", *w)
        assert code == 0, err
        plan = json.loads(out)
        assert plan["cron"] == "daily 09:00 UTC" and rec.messages == []
        code, out, err = run(capsys, "campaigns", "tick", "--now", plan["next_run_at"],
                             "--json", *w)
        assert code == 0, err
        [ran] = json.loads(out)["scheduled"]
        assert ran["sent"] == len(rec.messages) > 0
        code, out, _ = run(capsys, "campaigns", "tick", "--now", plan["next_run_at"],
                           "--json", *w)
        assert json.loads(out)["scheduled"] == [] and ran["sent"] == len(rec.messages)
    code, out, _ = run(capsys, "campaigns", "schedules", "--json", *w)
    [listed] = json.loads(out)["schedules"]
    assert listed["runs"] == 1 and listed["enabled"]
    code, out, _ = run(capsys, "campaigns", "schedules", "pause", listed["name"], "--json", *w)
    assert code == 0 and json.loads(out)["enabled"] is False
    code, out, _ = run(capsys, "campaigns", "schedules", "delete", listed["name"], *w)
    assert code == 0 and "deleted" in out
    code, out, err = run(capsys, "campaigns", "bounces", "import", str(FIXTURES), "--json", *w)
    assert code == 0, err
    got = json.loads(out)
    assert (got["messages"], got["bounces"], got["hard"], got["not_bounces"]) == (7, 6, 3, 1)


def test_bad_input_is_one_line_with_exit_2(setup: tuple[Path, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    wh, _body = setup
    w = ["--warehouse", str(wh)]
    code, _out, err = run(capsys, "campaigns", "schedule", "nope", "--every", "weekly", *w)
    assert code == 2 and "--every 'weekly'" in err and "Traceback" not in err
    code, _out, err = run(capsys, "campaigns", "tick", "--now", "soon", *w)
    assert code == 2 and "--now 'soon'" in err
    code, _out, err = run(capsys, "campaigns", "bounces", "import", str(wh.parent / "x"), *w)
    assert code == 2 and "no such file" in err and len(err.strip().splitlines()) == 1


def test_approved_copy_variants_are_the_arms_of_a_bandit_campaign(
        setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    wh, _body = setup
    copy = pd.DataFrame({
        "variant_id": ["b1-1", "b1-2", "b1-3"], "brief_id": "b1",
        "subject": ["Approved one", "Approved two", "Never approved"],
        "body": "Hello {{ name }}", "source": "template", "passed": True, "problems": "",
        "approved": [True, True, False], "approved_by": ["ana", "ana", None],
        "approved_at": pd.Timestamp("2026-11-30")})
    Warehouse(wh).write_frame("copy_variants", copy)
    rec = Recorder()
    with smtp_server(rec) as port:
        code, out, err = run(capsys, "campaigns", "send", "--name", "Copy test",
                             "--audience-where", "recency_days >= 0", "--copy-brief", "b1",
                             "--allocation", "bandit", "--smtp-host", "127.0.0.1",
                             "--smtp-port", str(port), "--json", "--warehouse", str(wh))
    assert code == 0, err
    assert json.loads(out)["sent"] == len(rec.messages) > 0
    assert {str(m["Subject"]) for m in rec.messages} <= {"Approved one", "Approved two"}
    code, _out, err = run(capsys, "campaigns", "send", "--name", "No copy", "--audience-where",
                          "recency_days >= 0", "--copy-brief", "b9", "--channel", "outbox",
                          "--warehouse", str(wh))
    assert code == 2 and "no approved copy" in err
