"""Results of the privacy services (erasure, verification, audit, scans)."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from insightloop.services.results.audiences import AudienceExport


class Verification(TypedDict):
    """What a search after an erasure found (all empty and ``api_404`` true: proven)."""

    tables: list[dict[str, Any]]
    ops: list[dict[str, Any]]
    files: list[dict[str, Any]]
    api_404: bool
    searched: list[str]
    clean: bool


class ErasureResult(TypedDict):
    """An erasure request: what each step did (counts only, never the erased values)."""

    request: str
    status: str
    already_erased: bool
    resumed: bool
    steps: list[str]
    warehouse: dict[str, Any]
    ops: dict[str, Any]
    models_retired: list[dict[str, Any]]
    serving: str
    files_removed: list[str]
    rewritten_bytes: int
    verification: Verification
    step_seconds: dict[str, float]
    seconds: float


class AuditRow(TypedDict):
    """One audit-log entry (``at`` ISO, seconds)."""

    id: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any] | None
    note: str | None


class AuditList(TypedDict):
    entries: list[AuditRow]
    count: int


class ConsentedExport(AudienceExport):
    """``audiences export``: the members written, and how many were left out because they
    withdrew consent for the export's purpose."""

    purpose: str
    excluded_for_consent: int
