"""insightloop.models.clv layer."""
