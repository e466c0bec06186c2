"""The provider contract every language model meets, and the catalogue that constrains it.

A provider turns chat ``messages`` into a :class:`Completion`. The caller passes what the
output must look like: a JSON ``schema`` (the endpoint sends it as ``response_format``; the
packaged model masks its logits to it) and a :class:`Catalogue` as the ``grammar``: the live
columns, their types and the known values of the categorical ones, from which the filter
grammar is built. Providers never see the warehouse: the service reads the catalogue and
passes it in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, runtime_checkable

from insightloop.errors import ConfigError


class Message(TypedDict):
    """One chat message, as in the OpenAI chat-completions API."""

    role: str
    content: str


@dataclass(frozen=True)
class Catalogue:
    """The columns a filter may use (name -> DuckDB type), the known values of the text
    columns (for country names and segments) and the columns holding personal data."""

    columns: Mapping[str, str]
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    personal: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Completion:
    """What a provider returns: the raw ``text``, the JSON object parsed from it when a
    schema was asked for (else None), the seconds it took and the provider's name."""

    text: str
    parsed: dict[str, Any] | None
    latency_s: float
    provider: str


@runtime_checkable
class Provider(Protocol):
    """A language model behind one method."""

    name: str

    def complete(self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None,
                 grammar: Catalogue | None = None, max_tokens: int = 256,
                 timeout: float = 30.0) -> Completion:
        """The model's answer to ``messages``; :class:`ProviderError` when it cannot give one
        (timeout, refused, output that does not fit ``schema``)."""
        ...


class ProviderError(ConfigError):
    """A provider that cannot answer (unreachable endpoint, timeout, invalid output)."""


#: The JSON object every audience request is answered with.
AUDIENCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"where": {"type": "string"}, "explanation": {"type": "string"}},
    "required": ["where", "explanation"],
    "additionalProperties": False,
}


def parse_json(text: str, schema: dict[str, Any] | None, provider: str) -> dict[str, Any] | None:
    """The JSON object in ``text`` checked for ``schema``'s required string keys (None when no
    schema was asked for); :class:`ProviderError` naming the provider otherwise."""
    if schema is None:
        return None
    start, end = text.find("{"), text.rfind("}")
    try:
        value = json.loads(text[start:end + 1]) if start >= 0 else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ProviderError(f"provider {provider} did not answer with a JSON object: "
                            f"{text[:120]!r}")
    missing = [k for k in schema.get("required", ()) if not isinstance(value.get(k), str)]
    if missing:
        raise ProviderError(f"provider {provider} answered without the text field(s) {missing}: "
                            f"{text[:120]!r}")
    return value


def last_user(messages: Sequence[Message]) -> str:
    """The content of the last user message (what a request is about)."""
    for message in reversed(messages):
        if message["role"] == "user":
            return message["content"]
    raise ProviderError("no user message to answer")
