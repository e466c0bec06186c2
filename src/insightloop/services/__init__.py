"""insightloop.services layer."""
