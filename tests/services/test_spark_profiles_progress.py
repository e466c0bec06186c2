"""``profiles build`` reports its steps for a determinate progress bar (issue 13)."""

from __future__ import annotations

from pathlib import Path

from contexts import ctx_of
from insightloop.services.profiles import BUILD_STEPS, build_profiles


def test_build_reports_each_step_then_done(wh: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    built = build_profiles(ctx_of(wh), on_progress=lambda m, d, t: calls.append((m, d, t)))
    total = len(BUILD_STEPS)
    assert calls == [*((m, i, total) for i, m in enumerate(BUILD_STEPS)), ("done", total, total)]
    assert built["customers"] > 300
