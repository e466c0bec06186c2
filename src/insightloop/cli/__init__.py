"""insightloop.cli layer."""
