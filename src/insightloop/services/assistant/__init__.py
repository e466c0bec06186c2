"""The language-model assistant: plain-language audiences, fact-checked campaign copy and
review summaries with evidence, over one provider contract (``models.llm``)::

    from insightloop.services.assistant import audience_from_text, provider_for, llm_settings
"""

from __future__ import annotations

from insightloop.models.llm.server import create_llm_app, serve_provider
from insightloop.services.assistant.audiences import (
    audience_catalogue,
    audience_from_text,
    propose_filter,
)
from insightloop.services.assistant.copy import (
    approve_variant,
    approved_variants,
    check_text,
    demo_copy,
    generate_copy,
    list_variants,
    template_variants,
)
from insightloop.services.assistant.evalset import load_eval
from insightloop.services.assistant.evaluation import evaluate_assistant
from insightloop.services.assistant.facts import check_copy
from insightloop.services.assistant.providers import (
    llm_settings,
    llm_settings_report,
    provider_for,
)
from insightloop.services.assistant.reviews import summarize_reviews

__all__ = ["approve_variant", "approved_variants", "audience_catalogue", "audience_from_text",
           "check_copy", "check_text", "create_llm_app", "demo_copy", "evaluate_assistant",
           "generate_copy", "list_variants", "llm_settings", "llm_settings_report",
           "load_eval", "propose_filter", "provider_for", "serve_provider",
           "summarize_reviews", "template_variants"]
