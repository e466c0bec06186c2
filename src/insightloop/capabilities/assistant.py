"""The language-model assistant: plain-language audiences, checked campaign copy and review
summaries with evidence, over a provider contract (an OpenAI-compatible endpoint, a packaged
offline model, a rule-based fallback). Audiences it saves are the audiences capability's
(operational store); the copy it writes is its own table."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability, Stage, Table

CAPABILITY = Capability(
    name="assistant",
    summary="Plain-language audiences, checked copy, review summaries.",
    tables=(
        Table("copy_variants", "campaign",
              doc="campaign copy variants per brief: subject, body, fact-check verdict and "
                  "problems, approval (who, when); only approved variants may be used"),
    ),
    demo=(Stage("writing fact-checked campaign copy from the shipped briefs",
                run="insightloop.services.assistant:demo_copy", key="copy"),),
)
