"""Operational-store tables: saved audiences and their versions (audiences capability).

Declared on :class:`insightloop.storage.operational.base.Base`; created by migration
0003 (``migrations/versions``).
"""

from __future__ import annotations
