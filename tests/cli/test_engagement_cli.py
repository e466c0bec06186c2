"""The engagement commands end to end: consent show, suppress add/list/import/remove,
preview (exit 2 on a missing field), journeys create/list/tick/show, sendtime build and
evaluate sendtime, with --json and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engagement_helpers import consent, make_ctx
from insightloop.cli.main import main

WELCOME = """
name: welcome
channel: outbox
trigger: {kind: first_purchase}
steps:
  - {id: hello, send: {subject: "Hi {{ name }}", text: "Welcome {{ name }}"}}
  - {id: later, wait: {days: 2}}
  - {id: again, send: {text: "Still there, {{ name }}?"}}
"""


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INSIGHTLOOP_QUIET_HOURS", "off")
    monkeypatch.setenv("INSIGHTLOOP_FREQUENCY_CAPS", "off")
    customers = pd.DataFrame({"customer_id": ["1", "2"], "name": ["Ada", None],
                              "email": ["ada@x.org", "b@x.org"], "country": "France"})
    consents = pd.DataFrame([consent("1", True, "2024-01-01"), consent("2", True, "2024-01-01"),
                             consent("2", False, "2024-01-02"),
                             consent("1", True, "2024-01-01", channel="outbox"),
                             consent("2", True, "2024-01-01", channel="outbox")])
    orders = pd.DataFrame({"order_id": ["o1", "o2"], "line_no": [1, 1],
                           "customer_id": ["1", "2"], "product_id": ["p", "p"],
                           "quantity": [1, 1], "unit_price": [3.0, 3.0],
                           "order_time": pd.to_datetime(["2024-03-05 10:00",
                                                         "2024-03-05 11:00"])})
    make_ctx(tmp_path, customers, consents, orders=orders)
    return tmp_path / "wh.duckdb"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main([*args, "--json"])
    out = capsys.readouterr()
    text = out.out.strip() or out.err.strip()
    return code, (json.loads(text.splitlines()[-1]) if text else {})


def test_consent_suppress_and_preview(wh: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    w = ["--warehouse", str(wh)]
    code, view = run(capsys, "consent", "show", "2", *w, "--now", "2024-03-05T12:00")
    assert code == 0 and view["current"] == {"email/marketing": False, "outbox/marketing": True}
    assert view["eligible"] == {"email": "consent_withdrawn", "webhook": "no_consent",
                                "outbox": None}
    assert run(capsys, "consent", "show", "nobody", *w)[0] == 1
    assert run(capsys, "suppress", "add", "1", "x@y.org", *w)[1]["added"] == 2
    listing = tmp_path / "list.csv"
    listing.write_text("email\nA@B.org\nx@y.org\n")
    assert run(capsys, "suppress", "import", str(listing), *w)[1] == \
        {"added": 1, "removed": 0, "total": 3}
    code, listed = run(capsys, "suppress", "list", *w)
    assert {s["value"] for s in listed["suppressions"]} == {"1", "x@y.org", "a@b.org"}
    assert run(capsys, "suppress", "remove", "1", *w)[1]["total"] == 2
    code, err = run(capsys, "suppress", "remove", "1", *w)
    assert code == 1 and "not suppressed" in err["error"]["message"]
    body = tmp_path / "body.txt"
    body.write_text("Dear {{ name }}")
    code, shown = run(capsys, "preview", "--template", str(body), "--customer", "1", *w)
    assert code == 0 and shown["text"] == "Dear Ada"
    code, err = run(capsys, "preview", "--template", str(body), "--customer", "2", *w)
    assert code == 2 and "'name' is undefined" in err["error"]["message"]


def test_journey_commands_and_sendtime(wh: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    w = ["--warehouse", str(wh)]
    spec = tmp_path / "welcome.yaml"
    spec.write_text(WELCOME)
    code, made = run(capsys, "journeys", "create", str(spec), "--now", "2024-03-01", *w)
    assert code == 0 and made["steps"] == 3
    code, done = run(capsys, "journeys", "tick", "--now", "2024-03-05T12:00", *w)
    # through the campaigns' outbox; customer 2 has no name: their render fails
    assert code == 0 and done["entered"] == 2 and done["actions"]["delivered"] == 1
    failed = [k for k in done["actions"] if k.startswith("failed: render")]
    assert len(failed) == 1 and "'name' is undefined" in failed[0]
    code, done = run(capsys, "journeys", "tick", "--now", "2024-03-06T12:00", *w)
    assert done["advanced"] == 0  # the wait is two days
    code, done = run(capsys, "journeys", "tick", "--now", "2024-03-07T12:00", *w)
    assert done["actions"]["delivered"] == 1 and sum(done["actions"].values()) == 2
    code, shown = run(capsys, "journeys", "show", "welcome", *w)
    assert {s["status"] for s in shown["states"]} == {"done"}
    assert run(capsys, "journeys", "list", *w)[1]["journeys"][0]["states"] == {"done": 2}
    code, err = run(capsys, "journeys", "tick", "--now", "soon", *w)
    assert code == 2 and "--now expects an ISO time" in err["error"]["message"]
    code, built = run(capsys, "sendtime", "build", *w)
    assert code == 0 and built["customers"] == 2
    history = tmp_path / "h.csv"
    history.write_text("who,when\n" + "".join(f"{i % 5},2024-01-{1 + i % 28:02d} {9 + i % 5}:00\n"
                                              for i in range(300)))
    code, res = run(capsys, "evaluate", "sendtime", "--data", str(history), "--customer", "who",
                    "--time", "when", "--test-days", "7")
    assert code == 0 and res["hit_rate"]["model"] == 1.0
