"""Keyed pseudonyms: ``HMAC-SHA256(INSIGHTLOOP_PRIVACY_KEY, value)`` as hex, in Python and as
a vectorised DuckDB expression (HMAC built from ``sha256``: ``H(K^opad | H(K^ipad | m))``),
so exports and joins can carry a stable pseudonym instead of the customer id.
"""

from __future__ import annotations

import hashlib
import hmac

from insightloop.errors import ConfigError
from insightloop.settings import Settings

_BLOCK = 64


def pseudonym(settings: Settings, value: str) -> str:
    """The keyed pseudonym of ``value``: hex HMAC-SHA256 under ``privacy_key``."""
    return hmac.new(_key(settings), value.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonym_sql(settings: Settings, expr: str) -> str:
    """The same pseudonym over the VARCHAR SQL expression ``expr`` (already safe SQL)."""
    key = _key(settings)
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\x00")
    ipad = bytes(b ^ 0x36 for b in key).hex()
    opad = bytes(b ^ 0x5C for b in key).hex()
    inner = f"sha256(unhex('{ipad}') || encode({expr}))"
    return f"sha256(unhex('{opad}') || unhex({inner}))"


def _key(settings: Settings) -> bytes:
    if not settings.privacy_key:
        raise ConfigError("no pseudonym key: set INSIGHTLOOP_PRIVACY_KEY to a long random "
                          "secret (e.g. `openssl rand -hex 32`)")
    return settings.privacy_key.encode("utf-8")
