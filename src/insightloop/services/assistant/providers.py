"""The provider a request uses: named on the command line, else the settings' choice
(``INSIGHTLOOP_LLM_PROVIDER``, default ``rule``, the one that measures best)."""

from __future__ import annotations

import os

from insightloop.models.llm.contract import Provider
from insightloop.models.llm.endpoint import EndpointProvider
from insightloop.models.llm.local import LocalProvider
from insightloop.models.llm.rules import RuleProvider
from insightloop.settings import LLMSettings

__all__ = ["llm_settings", "provider_for"]

_LOCAL: dict[str, LocalProvider] = {}  # the packaged model, loaded once per process


def llm_settings(provider: str | None = None, env: dict[str, str] | None = None
                 ) -> LLMSettings:
    """The LLM settings, with ``provider`` (when given) overriding the environment's."""
    return LLMSettings.load(env=env, provider=provider)


def provider_for(settings: LLMSettings, env: dict[str, str] | None = None) -> Provider:
    """The provider ``settings`` chooses (the local model shared across calls)."""
    if settings.provider == "local":
        return _LOCAL.setdefault("default", LocalProvider())
    if settings.provider == "endpoint":
        key = (os.environ if env is None else env).get(settings.key_env, "")
        return EndpointProvider(settings.url, settings.model, key,
                                allow_personal_data=settings.allow_personal_data)
    return RuleProvider()
