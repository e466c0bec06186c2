"""Privacy and governance: proven erasure of one customer (:func:`erase_customer`), its
verification, the personal-data map (``docs/privacy.md``)."""

from __future__ import annotations

from insightloop.services.privacy.erase import STEPS, erase_customer, verify
from insightloop.services.privacy.scan import personal_map, scan_personal
from insightloop.services.privacy.subject import MASK, Subject

__all__ = ["MASK", "STEPS", "Subject", "erase_customer", "personal_map", "scan_personal",
           "verify"]
