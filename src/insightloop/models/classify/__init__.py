"""insightloop.models.classify layer."""
