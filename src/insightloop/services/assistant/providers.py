"""The provider a request uses: named on the command line, else the settings' choice
(``INSIGHTLOOP_LLM_PROVIDER``, else ``[insightloop.llm]`` of the config file, default
``rule``, the one that measures best)."""

from __future__ import annotations

import os
from pathlib import Path

from insightloop.models.llm.contract import Provider
from insightloop.models.llm.endpoint import EndpointProvider
from insightloop.models.llm.local import LocalProvider
from insightloop.models.llm.rules import RuleProvider
from insightloop.services.results.assistant import LLMSettingsReport
from insightloop.settings import LLM_KEYS, LLMSettings

__all__ = ["llm_settings", "llm_settings_report", "provider_for"]

_LOCAL: dict[str, LocalProvider] = {}  # the packaged model, loaded once per process


def llm_settings(provider: str | None = None, env: dict[str, str] | None = None
                 ) -> LLMSettings:
    """The LLM settings, with ``provider`` (when given) overriding the environment's and
    the config file's."""
    return LLMSettings.load(env=env, provider=provider)


def llm_settings_report(provider: str | None = None, env: dict[str, str] | None = None
                        ) -> LLMSettingsReport:
    """The effective LLM settings and where each came from; the endpoint key only as
    whether it is set (never its value)."""
    settings, sources = LLMSettings.resolve(env, provider=provider)
    environ = os.environ if env is None else env
    values = {k: getattr(settings, k) for k in LLM_KEYS}
    return {"values": values, "sources": sources,
            "key_set": bool(environ.get(settings.key_env))}


def provider_for(settings: LLMSettings, env: dict[str, str] | None = None) -> Provider:
    """The provider ``settings`` chooses (the local model shared across calls)."""
    if settings.provider == "local":
        if settings.model_file not in _LOCAL:
            _LOCAL[settings.model_file] = LocalProvider(
                Path(settings.model_file).expanduser() if settings.model_file else None)
        return _LOCAL[settings.model_file]
    if settings.provider == "endpoint":
        key = (os.environ if env is None else env).get(settings.key_env, "")
        return EndpointProvider(settings.url, settings.model, key,
                                allow_personal_data=settings.allow_personal_data)
    return RuleProvider()
