"""Operational-store tables: campaigns, their variants and delivery state (campaigns
capability; the send ledger itself is in models).

Declared on :class:`insightloop.storage.operational.base.Base`; created by migration
0004 (``migrations/versions``).
"""

from __future__ import annotations
