"""Privacy and governance: where personal data lives, pseudonyms and encryption, proven erasure
and the audit log."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability

CAPABILITY = Capability(
    name="privacy",
    summary="Personal data map, erasure and audit.",
)
