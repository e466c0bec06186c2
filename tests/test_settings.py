"""Settings resolution: arguments > environment > config file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from insightloop.errors import ConfigError
from insightloop.settings import Settings


def test_defaults_follow_the_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings.load(env={})
    assert s.warehouse == Path(".insightloop/warehouse.duckdb")
    assert s.engine == "duckdb"
    assert s.models_dir == Path(".insightloop/models")


def test_env_config_and_argument_precedence(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "insightloop.toml").write_text(
        '[insightloop]\nwarehouse = "from_file.duckdb"\nengine = "spark"\n')
    assert Settings.load(env={}).warehouse == Path("from_file.duckdb")
    assert Settings.load(env={}).engine == "spark"
    env = {"INSIGHTLOOP_WAREHOUSE": "from_env.duckdb"}
    assert Settings.load(env=env).warehouse == Path("from_env.duckdb")
    assert Settings.load(warehouse="arg.duckdb", env=env).warehouse == Path("arg.duckdb")
    assert Settings.load(engine="duckdb", env=env).engine == "duckdb"


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="engine must be one of"):
        Settings.load(engine="postgres", env={})
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(config_file=tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[insightloop]\nwarehose = 'typo'\n")
    with pytest.raises(ConfigError, match="unknown settings"):
        Settings.load(config_file=bad, env={})


def test_memory_limit_reaches_duckdb(tmp_path: Path) -> None:
    from insightloop.errors import WarehouseError
    from insightloop.storage.warehouse import Warehouse

    s = Settings.load(warehouse=tmp_path / "w.duckdb", env={"INSIGHTLOOP_MEMORY_LIMIT": "300MB"})
    assert s.memory_limit == "300MB"
    with Warehouse.from_settings(s).connect() as con:
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None and row[0].startswith("286")  # 300 MB in MiB, as DuckDB reports it
    with pytest.raises(WarehouseError, match="invalid memory limit"), \
            Warehouse(tmp_path / "x.duckdb", memory_limit="lots").connect():
        pass
