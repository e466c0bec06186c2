"""Alias module: :func:`customer_lifetime_value` lives in :mod:`.lifetime_value`."""

from insightloop.models.clv.lifetime_value import customer_lifetime_value

__all__ = ["customer_lifetime_value"]
