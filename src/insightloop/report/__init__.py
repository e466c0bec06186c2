"""insightloop.report layer."""
