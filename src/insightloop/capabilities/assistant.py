"""The language-model assistant: plain-language audiences, checked campaign copy and review
summaries with evidence, over a provider contract (an OpenAI-compatible endpoint, a packaged
offline model, a rule-based fallback)."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability

CAPABILITY = Capability(
    name="assistant",
    summary="Plain-language audiences, checked copy, review summaries.",
)
