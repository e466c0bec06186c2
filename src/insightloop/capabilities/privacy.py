"""Privacy and governance: where personal data lives, pseudonyms and encryption, proven erasure
and the audit log; retention rolls old rows up into monthly aggregates (no customer id, no
free text) before it drops them."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability, Stage, Table

CAPABILITY = Capability(
    name="privacy",
    summary="Personal data map, erasure and audit.",
    tables=(
        Table("events_monthly", "none",
              doc="events past retention, per month, event type and product: rows and "
                  "distinct customers (a count, no id)"),
        Table("quarantine_monthly", "none",
              doc="quarantined lines past retention, per month, table and reason: rows"),
    ),
    demo=(Stage("preparing the retention aggregates (filled by `privacy retain --apply`)",
                run="insightloop.services.privacy.retention:prepare_aggregates",
                key="retention"),),
)
