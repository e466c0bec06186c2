"""One settings object: engine, warehouse location and artifact folders.

Resolution order (first wins): explicit arguments (CLI ``--warehouse``),
environment variables (``INSIGHTLOOP_WAREHOUSE``, ``INSIGHTLOOP_ENGINE``,
``INSIGHTLOOP_MODELS``, ``INSIGHTLOOP_REPORTS``, ``INSIGHTLOOP_READ_ONLY``), a TOML config file
(``INSIGHTLOOP_CONFIG`` or ``./insightloop.toml``, table ``[insightloop]``),
then defaults under ``./.insightloop/``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from insightloop.errors import ConfigError

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")
DEFAULT_HOME = Path(".insightloop")


@dataclass(frozen=True)
class Settings:
    """Where the warehouse lives and which engine runs feature pipelines.

    Parameters
    ----------
    warehouse : Path
        DuckDB database file, the system of record.
    engine : {"duckdb", "spark"}
        Engine that executes the engine-neutral (Ibis) feature pipelines.
    models_dir : Path
        Model registry folder.
    reports_dir : Path
        Folder the HTML report is written to.
    spark_master : str
        Spark master URL when ``engine == "spark"``.
    memory_limit : str
        DuckDB memory limit (e.g. ``"2GB"``); larger work spills to disk next to the
        warehouse, so memory stays bounded as data grows.
    read_only : bool
        Never write the warehouse (``INSIGHTLOOP_READ_ONLY=1``): read commands work,
        commands that write say so and stop.
    ops_url : str
        Database URL of the operational store (API keys, jobs, sessions, rate limits;
        ``INSIGHTLOOP_OPS_URL``): empty means a SQLite file beside the warehouse
        (``<stem>.ops.sqlite``); ``postgresql+psycopg://...`` for production. See
        ``docs/operations.md``.
    currency : str
        ISO 4217 code money is shown in (``INSIGHTLOOP_CURRENCY``); empty: the currency
        most orders carry, else GBP (the bundled Online Retail sample's).
    locale : str
        How numbers are written on the dashboard and in the report (``INSIGHTLOOP_LOCALE``:
        ``en``, ``de``, ``fr``...; see ``insightloop.report.format``).
    privacy_key : str
        Secret of the keyed pseudonyms (HMAC-SHA256; ``INSIGHTLOOP_PRIVACY_KEY``); empty:
        pseudonyms are refused (``docs/privacy.md``).
    encryption_keys : str
        Keys personal columns are encrypted with at rest (AES-256-GCM;
        ``INSIGHTLOOP_ENCRYPTION_KEYS``): ``id:base64key,...``, the first encrypts, every
        one decrypts (rotation: put the new key first, run ``insightloop privacy rotate-key``).
    """

    warehouse: Path = DEFAULT_HOME / "warehouse.duckdb"
    engine: Engine = "duckdb"
    models_dir: Path = DEFAULT_HOME / "models"
    reports_dir: Path = DEFAULT_HOME / "reports"
    spark_master: str = "local[2]"
    memory_limit: str = "2GB"
    read_only: bool = False
    ops_url: str = ""
    currency: str = ""
    locale: str = "en"
    privacy_key: str = field(default="", repr=False)
    encryption_keys: str = field(default="", repr=False)

    @classmethod
    def load(
        cls,
        warehouse: Path | str | None = None,
        engine: str | None = None,
        config_file: Path | str | None = None,
        env: dict[str, str] | None = None,
    ) -> Settings:
        """Resolve settings from arguments, environment and config file."""
        environ = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        cfg_path = config_file or environ.get("INSIGHTLOOP_CONFIG")
        path = Path(cfg_path) if cfg_path else Path("insightloop.toml")
        if path.exists():
            values.update(_read_config(path))
        elif cfg_path:
            raise ConfigError(f"config file {path} does not exist")
        for key, var in (
            ("warehouse", "INSIGHTLOOP_WAREHOUSE"),
            ("engine", "INSIGHTLOOP_ENGINE"),
            ("models_dir", "INSIGHTLOOP_MODELS"),
            ("reports_dir", "INSIGHTLOOP_REPORTS"),
            ("spark_master", "INSIGHTLOOP_SPARK_MASTER"),
            ("memory_limit", "INSIGHTLOOP_MEMORY_LIMIT"),
            ("read_only", "INSIGHTLOOP_READ_ONLY"),
            ("ops_url", "INSIGHTLOOP_OPS_URL"),
            ("currency", "INSIGHTLOOP_CURRENCY"),
            ("locale", "INSIGHTLOOP_LOCALE"),
            ("privacy_key", "INSIGHTLOOP_PRIVACY_KEY"),
            ("encryption_keys", "INSIGHTLOOP_ENCRYPTION_KEYS"),
        ):
            if environ.get(var):
                values[key] = environ[var]
        if warehouse is not None:
            values["warehouse"] = warehouse
        if engine is not None:
            values["engine"] = engine
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Settings:
        unknown = set(values) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ConfigError(f"unknown settings {sorted(unknown)}; known: "
                              f"{sorted(cls.__dataclass_fields__)}")
        eng = str(values.get("engine", "duckdb")).lower()
        if eng not in ENGINES:
            raise ConfigError(f"engine must be one of {ENGINES}, got {eng!r}")
        wh = Path(values.get("warehouse", cls.warehouse)).expanduser()
        # Artifacts follow the warehouse unless set explicitly.
        home = wh.parent
        models = Path(values.get("models_dir", home / "models")).expanduser()
        reports = Path(values.get("reports_dir", home / "reports")).expanduser()
        return cls(
            warehouse=wh,
            engine=eng,  # type: ignore[arg-type]
            models_dir=models,
            reports_dir=reports,
            spark_master=str(values.get("spark_master", "local[2]")),
            memory_limit=str(values.get("memory_limit", "2GB")),
            read_only=_flag(values.get("read_only", False)),
            ops_url=str(values.get("ops_url", "") or ""),
            currency=_currency(values.get("currency", "")),
            locale=str(values.get("locale", "") or "en"),
            privacy_key=str(values.get("privacy_key", "") or ""),
            encryption_keys=str(values.get("encryption_keys", "") or ""),
        )

    def with_warehouse(self, warehouse: Path) -> Settings:
        return replace(self, warehouse=warehouse)


def env_flag(name: str, env: dict[str, str] | None = None) -> bool:
    """Whether environment variable ``name`` is set to a true value (1, true, yes, on)."""
    value = (os.environ if env is None else env).get(name, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _currency(value: Any) -> str:
    text = str(value or "").strip().upper()
    if text and not (len(text) == 3 and text.isascii() and text.isalpha()):
        raise ConfigError(f"currency must be an ISO 4217 code such as GBP, EUR or USD "
                          f"(INSIGHTLOOP_CURRENCY), got {value!r}")
    return text


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"", "0", "false", "no", "off"}:
        return False
    raise ConfigError(f"read_only must be true or false (1/0, yes/no), got {value!r}")


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc


def _read_config(path: Path) -> dict[str, Any]:
    data = _toml(path)
    section = data.get("insightloop", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [insightloop] must be a table")
    return {k: v for k, v in section.items() if k != "llm"}  # [insightloop.llm]: LLMSettings


# -- language-model assistant (issue 17) -------------------------------------------------
LLM_PROVIDERS = ("rule", "local", "endpoint")
LLM_KEYS = ("provider", "url", "model", "key_env", "allow_personal_data", "timeout",
            "model_file")


@dataclass(frozen=True)
class LLMSettings:
    """Which language model the assistant uses (``docs/assistant.md``).

    Each value comes from (first wins) an explicit argument (``--provider``), the environment
    (``INSIGHTLOOP_LLM_<NAME>``), the config file's ``[insightloop.llm]`` table (the file
    :class:`Settings` reads), then the default; :meth:`resolve` also says where each came
    from (``insightloop llm settings``).

    provider : {"rule", "local", "endpoint"}
        ``INSIGHTLOOP_LLM_PROVIDER``; default ``rule``, the provider that measures best on the
        shipped evaluation set (``insightloop evaluate assistant``).
    url : str
        Base URL of an OpenAI-compatible server (``INSIGHTLOOP_LLM_URL``, e.g.
        ``http://127.0.0.1:8080/v1``) for ``endpoint``.
    model : str
        Model name sent to the endpoint (``INSIGHTLOOP_LLM_MODEL``).
    key_env : str
        Name of the environment variable holding the endpoint's API key
        (``INSIGHTLOOP_LLM_KEY_ENV``, default ``INSIGHTLOOP_LLM_KEY``); the key itself is never
        stored in settings or in the config file.
    allow_personal_data : bool
        ``INSIGHTLOOP_LLM_ALLOW_PERSONAL_DATA``: false (default) refuses to send a request
        naming a personal column (as declared in the capability tables) to an endpoint.
    timeout : float
        Seconds a request may take (``INSIGHTLOOP_LLM_TIMEOUT``, default 30).
    model_file : str
        A GGUF file the ``local`` provider runs instead of the packaged SmolLM2-135M
        (``INSIGHTLOOP_LLM_MODEL_FILE``; empty: the packaged one).
    """

    provider: str = "rule"
    url: str = ""
    model: str = "smollm2-135m-instruct"
    key_env: str = "INSIGHTLOOP_LLM_KEY"
    allow_personal_data: bool = False
    timeout: float = 30.0
    model_file: str = ""

    @classmethod
    def load(cls, env: dict[str, str] | None = None, config_file: Path | str | None = None,
             **given: Any) -> LLMSettings:
        """From ``given`` (non-None values win), ``INSIGHTLOOP_LLM_*``, ``[insightloop.llm]``
        of the config file, then defaults."""
        return cls.resolve(env, config_file, **given)[0]

    @classmethod
    def resolve(cls, env: dict[str, str] | None = None, config_file: Path | str | None = None,
                **given: Any) -> tuple[LLMSettings, dict[str, str]]:
        """The settings and, per value, where it came from: ``argument``, the environment
        variable's name, ``<config file> [insightloop.llm]`` or ``default``."""
        environ = os.environ if env is None else env
        table, path = _llm_table(environ, config_file)
        unknown = sorted(set(table) - set(LLM_KEYS))
        if unknown:
            raise ConfigError(f"config file {path}: unknown [insightloop.llm] keys {unknown}; "
                              f"known: {', '.join(LLM_KEYS)}")
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for key in LLM_KEYS:
            var = f"INSIGHTLOOP_LLM_{key.upper()}"
            if given.get(key) is not None:
                values[key], sources[key] = given[key], "argument"
            elif environ.get(var):
                values[key], sources[key] = environ[var], var
            elif key in table:
                values[key], sources[key] = table[key], f"{path} [insightloop.llm]"
            else:
                sources[key] = "default"
        provider = str(values.get("provider", cls.provider)).lower()
        if provider not in LLM_PROVIDERS:
            raise ConfigError(f"LLM provider must be one of {', '.join(LLM_PROVIDERS)} "
                              f"({sources['provider']}), got {provider!r}")
        try:
            timeout = float(values.get("timeout", cls.timeout))
        except (TypeError, ValueError):
            timeout = -1.0
        if not timeout > 0:
            raise ConfigError(f"the LLM timeout ({sources['timeout']}) must be a positive "
                              f"number of seconds, got {values.get('timeout')!r}")
        try:
            personal = _flag(values.get("allow_personal_data", False))
        except ConfigError:
            raise ConfigError(f"allow_personal_data ({sources['allow_personal_data']}) must "
                              f"be true or false, got {values.get('allow_personal_data')!r}"
                              ) from None
        return cls(provider=provider, url=str(values.get("url", "")).rstrip("/"),
                   model=str(values.get("model", cls.model)),
                   key_env=str(values.get("key_env", cls.key_env)),
                   allow_personal_data=personal, timeout=timeout,
                   model_file=str(values.get("model_file", "") or "")), sources


def _llm_table(environ: Any, config_file: Path | str | None) -> tuple[dict[str, Any], Path]:
    """``[insightloop.llm]`` of the config file (empty when there is none)."""
    given = config_file or environ.get("INSIGHTLOOP_CONFIG")
    path = Path(given) if given else Path("insightloop.toml")
    if not path.exists():
        return {}, path  # a named file that is missing is reported by Settings.load
    data = _toml(path)
    table = data.get("insightloop", {}).get("llm", {}) if isinstance(
        data.get("insightloop"), dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [insightloop.llm] must be a table")
    return dict(table), path
