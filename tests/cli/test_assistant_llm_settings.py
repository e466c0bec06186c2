"""LLM settings from the config file's ``[insightloop.llm]`` table, the environment still
overriding; ``insightloop llm settings`` shows each effective value and where it came from,
and never the endpoint key; a bad value names the file and exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insightloop.cli.main import main
from insightloop.settings import LLMSettings, Settings

pytestmark = pytest.mark.usefixtures("clean_env")
SECRET = "sk-test-9f8e7d6c5b4a"


def _config(tmp_path: Path, llm: str) -> Path:
    path = tmp_path / "insightloop.toml"
    path.write_text(f'[insightloop]\nwarehouse = "{tmp_path / "w.duckdb"}"\n\n'
                    f"[insightloop.llm]\n{llm}\n", encoding="utf-8")
    return path


def test_config_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, 'provider = "endpoint"\nurl = "http://127.0.0.1:9/v1/"\n'
                            "timeout = 12\nallow_personal_data = true\n"
                            'model_file = "/models/tiny.gguf"\nkey_env = "SHOP_LLM_KEY"')
    monkeypatch.setenv("INSIGHTLOOP_CONFIG", str(cfg))
    monkeypatch.setenv("INSIGHTLOOP_LLM_TIMEOUT", "5")
    monkeypatch.setenv("SHOP_LLM_KEY", SECRET)
    assert Settings.load().warehouse == tmp_path / "w.duckdb"  # the llm table is not refused
    settings = LLMSettings.load()
    assert (settings.provider, settings.url, settings.timeout, settings.allow_personal_data,
            settings.model_file) == ("endpoint", "http://127.0.0.1:9/v1", 5.0, True,
                                     "/models/tiny.gguf")
    assert main(["llm", "settings", "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["sources"] == {
        "provider": f"{cfg} [insightloop.llm]", "url": f"{cfg} [insightloop.llm]",
        "model": "default", "key_env": f"{cfg} [insightloop.llm]",
        "allow_personal_data": f"{cfg} [insightloop.llm]",
        "timeout": "INSIGHTLOOP_LLM_TIMEOUT", "model_file": f"{cfg} [insightloop.llm]"}
    assert report["values"]["timeout"] == 5.0 and report["key_set"] is True
    assert main(["llm", "settings", "--provider", "rule"]) == 0
    text = capsys.readouterr().out
    assert "argument" in text and "SHOP_LLM_KEY" in text and "set" in text
    assert SECRET not in out + text


def test_bad_values_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, "timeout = -3")
    monkeypatch.setenv("INSIGHTLOOP_CONFIG", str(cfg))
    assert main(["llm", "settings"]) == 2
    err = capsys.readouterr().err
    assert "timeout" in err and str(cfg) in err.replace("\n", "") and "Traceback" not in err
    _config(tmp_path, 'provider = "gpt"')
    assert main(["llm", "settings"]) == 2
    assert "'gpt'" in capsys.readouterr().err
    _config(tmp_path, 'temperature = 0.2')
    assert main(["llm", "settings"]) == 2
    assert "unknown [insightloop.llm] keys ['temperature']" in capsys.readouterr().err
    monkeypatch.setenv("INSIGHTLOOP_LLM_PROVIDER", "local")  # the environment still wins
    _config(tmp_path, 'provider = "endpoint"')
    assert LLMSettings.resolve()[1]["provider"] == "INSIGHTLOOP_LLM_PROVIDER"
