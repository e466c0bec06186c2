"""insightloop.models layer."""
