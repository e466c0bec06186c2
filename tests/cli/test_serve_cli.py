"""`insightloop keys`, `insightloop serve` (a real uvicorn process), the demo serve step."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from contexts import ctx_of
from insightloop.cli.main import main
from insightloop.services.keys import load_keys, verify_key


@pytest.fixture
def warehouse(sample_warehouse: Path, tmp_path: Path) -> Path:
    target = tmp_path / "wh" / "warehouse.duckdb"
    target.parent.mkdir()
    shutil.copy(sample_warehouse, target)
    return target


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_keys_create_list_revoke(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = ["--warehouse", str(warehouse)]
    made = run_json(["keys", "create", "--role", "read", "--json", *w], capsys)
    assert made["key"].startswith(f"il_{made['key_id']}_") and made["role"] == "read"
    records = load_keys(ctx_of(warehouse))
    assert verify_key(records, made["key"]) is not None
    assert made["key"].split("_", 2)[2] not in json.dumps([r.key_hash for r in records.values()])
    listed = run_json(["keys", "list", "--json", *w], capsys)["keys"]
    assert [k["key_id"] for k in listed] == [made["key_id"]]
    assert "key" not in listed[0] and "key_hash" not in listed[0]
    revoked = run_json(["keys", "revoke", made["key_id"], "--json", *w], capsys)
    assert revoked["active"] is False
    assert verify_key(load_keys(ctx_of(warehouse)), made["key"]) is None
    assert main(["keys", "create", "--role", "root", *w]) == 2
    assert "role must be one of" in capsys.readouterr().err
    assert main(["keys", "revoke", "0123456789ab", *w]) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_uvicorn_with_keys(warehouse: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    key = run_json(["keys", "create", "--role", "read", "--json", "--warehouse",
                    str(warehouse)], capsys)["key"]
    port = free_port()
    cli = Path(sys.executable).parent / "insightloop"
    proc = subprocess.Popen([str(cli), "serve", "--warehouse", str(warehouse), "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"server did not start (exit {proc.poll()}): "
                            f"{proc.communicate(timeout=30)[1][-2000:]}")
            time.sleep(0.2)
        assert httpx.get(base + "/api/v1/customers/17850").status_code == 401
        r = httpx.get(base + "/api/v1/customers/17850", headers={"X-API-Key": key})
        assert r.status_code == 200 and r.json()["customer_id"] == "17850"
        assert httpx.get(base + "/api/docs").status_code == 200
        # Ids are normalised like ingestion.
        r = httpx.get(base + "/api/v1/customers/17850.0", headers={"X-API-Key": key})
        assert r.status_code == 200 and r.json()["customer_id"] == "17850"
        # uvicorn's default would believe X-Forwarded-For from 127.0.0.1: rotating it must
        # not give fresh failed-auth buckets (20 at once, 5 more a second by default).
        codes = [httpx.get(base + "/api/v1/kpis", headers={
            "X-API-Key": "il_guess", "X-Forwarded-For": f"198.51.{i // 250}.{i % 250}"}
            ).status_code for i in range(100)]
        assert set(codes) == {401, 429} and codes[:19] == [401] * 19
        # Headers over 16 KB: 431 with the common body and the security headers.
        big = httpx.get(base + "/api/v1/health", headers={f"X-Pad-{i}": "p" * 4000
                                                          for i in range(6)})
        assert big.status_code == 431 and big.json()["error"]["code"] == "headers_too_large"
        assert big.headers["x-content-type-options"] == "nosniff"
        assert "server" not in big.headers
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    # The access log names routes and key ids, never the key or the customer id.
    assert "/api/v1/customers/{customer_id} 200" in err
    assert key not in err and "17850" not in err


def test_demo_ends_by_serving(warehouse: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    import insightloop.cli.demo as demo_cli
    import insightloop.cli.serve as serve_cli

    served: dict[str, Any] = {}
    monkeypatch.setattr(demo_cli, "_demo", lambda warehouse, json_: None)
    monkeypatch.setattr(serve_cli, "run_server",
                        lambda settings, host, port, **kw: served.update(
                            settings=settings, host=host, port=port))
    assert main(["demo", "--warehouse", str(warehouse), "--port", "8765"]) == 0
    err = capsys.readouterr().err
    assert served["port"] == 8765 and served["host"] == "127.0.0.1"
    assert served["settings"].warehouse == warehouse
    assert "http://127.0.0.1:8765/" in err
    key = next(w for w in err.split() if w.startswith("il_"))
    record = verify_key(load_keys(ctx_of(warehouse)), key)
    assert record is not None and record.role == "read"
    served.clear()
    assert main(["demo", "--warehouse", str(warehouse), "--no-serve"]) == 0
    assert served == {}


def test_serve_options_reach_the_server(warehouse: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import insightloop.cli.serve as serve_cli

    served: dict[str, Any] = {}
    monkeypatch.setattr(serve_cli, "run_server",
                        lambda settings, host, port, **kw: served.update(kw))
    assert main(["serve", "--warehouse", str(warehouse), "--secure-cookies",
                 "--forwarded-allow-ips", "10.0.0.0/8, 127.0.0.1",
                 "--forwarded-allow-ips", "::1", "--cache-mb", "8"]) == 0
    assert served["secure_cookies"] is True and served["cache_mb"] == 8.0
    assert served["forwarded_allow_ips"] == ("10.0.0.0/8", "127.0.0.1", "::1")
    served.clear()
    assert main(["serve", "--warehouse", str(warehouse)]) == 0
    assert served["secure_cookies"] is False and served["forwarded_allow_ips"] == ()
    served.clear()
    code = main(["serve", "--warehouse", str(warehouse), "--forwarded-allow-ips", "proxy.lan"])
    err = capsys.readouterr().err
    assert code != 0 and served == {}
    assert "'proxy.lan' is not an IP address or network" in err and "Traceback" not in err
