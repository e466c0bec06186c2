"""A small warehouse for the campaigns tests: 40 customers with addresses and a built
``customer_360``; consent granted to most, withdrawn from some, missing for others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.services.context import Context
from insightloop.storage.warehouse import Warehouse

N = 40
#: customers without a consent record, and those who withdrew it
NO_RECORD = {"c05", "c17", "c29"}
WITHDRAWN = {"c08", "c21"}


def ids() -> list[str]:
    return [f"c{i:02d}" for i in range(1, N + 1)]


def quiet_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No quiet hours and no frequency caps: results must not depend on the clock."""
    monkeypatch.setenv("INSIGHTLOOP_QUIET_HOURS", "off")
    monkeypatch.setenv("INSIGHTLOOP_FREQUENCY_CAPS", "off")


def build_warehouse(path: Path) -> Context:
    customers = pd.DataFrame({"customer_id": ids(),
                              "email": [f"{c}@example.com" for c in ids()],
                              "name": [f"Customer {c}" for c in ids()],
                              "country": "United Kingdom"})
    rows = []
    for channel in ("email", "webhook", "outbox"):
        for c in sorted(set(ids()) - NO_RECORD):
            rows.append({"customer_id": c, "channel": channel, "purpose": "marketing",
                         "granted": True, "consent_time": pd.Timestamp("2024-01-01")})
        for c in sorted(WITHDRAWN):
            rows.append({"customer_id": c, "channel": channel, "purpose": "marketing",
                         "granted": False, "consent_time": pd.Timestamp("2024-06-01")})
    profile = pd.DataFrame({"customer_id": ids(),
                            "recency_days": np.arange(N, dtype=np.int64) * 10,
                            "frequency": np.arange(N, dtype=np.int64) % 5,
                            "monetary": np.arange(N, dtype=float) * 12.5,
                            "country": "United Kingdom"})
    wh = Warehouse(path)
    consents = pd.DataFrame(rows)
    with wh.transaction() as con:  # into the canonical tables, as ingest writes them
        con.register("new_customers", customers)
        con.register("new_consents", consents)
        con.execute("INSERT INTO customers BY NAME SELECT * FROM new_customers")
        con.execute("INSERT INTO consents BY NAME SELECT * FROM new_consents")
    wh.write_frame("customer_360", profile)
    return ctx_of(path)


def eligible_ids() -> set[str]:
    return set(ids()) - NO_RECORD - WITHDRAWN
