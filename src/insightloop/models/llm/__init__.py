"""Language-model providers (an OpenAI-compatible endpoint, a packaged offline model, a rule-
based fallback) and output checks."""
