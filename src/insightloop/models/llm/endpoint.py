"""An OpenAI-compatible chat-completions endpoint the user runs (vLLM, Ollama, llama.cpp
server, a hosted API, or ``insightloop llm serve``) as a provider, over httpx.

The JSON schema goes as ``response_format`` (``json_schema``); the catalogue goes in the
system prompt (:mod:`.prompt`, which leaves personal columns out). A catalogue listing a
personal column, an e-mail address or a phone number is not sent unless
``allow_personal_data`` is set.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

import httpx

from insightloop.models.llm.contract import (
    Catalogue,
    Completion,
    Message,
    ProviderError,
    parse_json,
)
from insightloop.models.llm.prompt import catalogue_from_messages

__all__ = ["EndpointProvider", "personal_data_in"]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_PHONE = re.compile(r"\+?\d[\d ()-]{8,}\d")


def personal_data_in(messages: Sequence[Message], personal: frozenset[str]) -> list[str]:
    """What in ``messages`` is personal data: a catalogue listing personal columns (their
    values could follow), e-mail addresses, phone numbers."""
    sent = catalogue_from_messages(list(messages))
    found = [f"personal column {c}" for c in sorted(personal & set(sent.columns))] \
        if sent else []
    for message in messages:
        text = message["content"]
        found += [f"e-mail address {m}" for m in _EMAIL.findall(text)]
        found += [f"phone number {m}" for m in _PHONE.findall(text)]
    return found


class EndpointProvider:
    """Chat completions at ``url`` (``.../v1``) with ``model``; ``api_key`` as a bearer token."""

    name = "endpoint"

    def __init__(self, url: str, model: str, api_key: str = "", *,
                 allow_personal_data: bool = False,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not url:
            raise ProviderError("no endpoint URL: set INSIGHTLOOP_LLM_URL (e.g. "
                                "http://127.0.0.1:8080/v1) or choose --provider rule")
        self.url, self.model, self.api_key = url.rstrip("/"), model, api_key
        self.allow_personal_data = allow_personal_data
        self.transport = transport

    def complete(self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None,
                 grammar: Catalogue | None = None, max_tokens: int = 256,
                 timeout: float = 30.0) -> Completion:
        personal = personal_data_in(messages, grammar.personal if grammar else frozenset())
        if personal and not self.allow_personal_data:
            raise ProviderError(f"refused to send personal data to {self.url} "
                                f"({', '.join(personal[:3])}); set "
                                "INSIGHTLOOP_LLM_ALLOW_PERSONAL_DATA=1 to allow it")
        body: dict[str, Any] = {"model": self.model, "messages": list(messages),
                                "max_tokens": max_tokens, "temperature": 0}
        if schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "answer", "schema": schema, "strict": True}}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        started = time.perf_counter()
        try:
            with httpx.Client(timeout=timeout, transport=self.transport) as client:
                reply = client.post(f"{self.url}/chat/completions", json=body, headers=headers)
        except httpx.TimeoutException:
            raise ProviderError(f"the endpoint {self.url} did not answer within {timeout:g} s "
                                "(INSIGHTLOOP_LLM_TIMEOUT)") from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"cannot reach the endpoint {self.url}: {exc}; is the server "
                                "running (insightloop llm serve)?") from None
        if reply.status_code != 200:
            raise ProviderError(f"the endpoint {self.url} answered HTTP {reply.status_code}: "
                                f"{reply.text[:200]}")
        try:
            text = str(reply.json()["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProviderError(f"the endpoint {self.url} did not answer in the chat-"
                                f"completions format: {reply.text[:200]}") from None
        return Completion(text=text, parsed=parse_json(text, schema, self.name),
                          latency_s=time.perf_counter() - started, provider=self.name)
