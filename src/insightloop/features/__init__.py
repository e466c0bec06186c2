"""insightloop.features layer."""
