"""Operational-store tables: erasure requests and what they reached (privacy capability; the
audit log itself is in models).

Declared on :class:`insightloop.storage.operational.base.Base`; created by migration
0006 (``migrations/versions``).
"""

from __future__ import annotations
