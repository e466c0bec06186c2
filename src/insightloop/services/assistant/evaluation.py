"""``insightloop evaluate assistant``: the shipped evaluation set run through a provider.

Audience requests score by *execution accuracy*: the proposed filter selects exactly the
customers the gold filter selects on the warehouse (an invalid filter, a refusal or a
timeout counts as wrong). Reported per half (``dev``: the requests the rules were written
against; ``holdout``: never looked at while writing them) and per language, with the
latency per request (mean, p95). Copy briefs score by the fact-check pass rate of the
variants generated from them (:mod:`.copy`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from insightloop.errors import InputError
from insightloop.models.llm.contract import Provider, ProviderError
from insightloop.services.assistant.audiences import audience_catalogue, propose_filter
from insightloop.services.assistant.copy import copy_pass_rate
from insightloop.services.assistant.evalset import load_eval
from insightloop.services.assistant.facts import check_copy
from insightloop.services.audiences import audience_ids
from insightloop.services.context import Context
from insightloop.services.results.assistant import AssistantEvaluation, ProviderScore
from insightloop.settings import LLMSettings

__all__ = ["evaluate_assistant"]


def _spread(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """``limit`` rows evenly spaced over ``rows`` (every half and language represented), or
    all of them."""
    if not limit or limit >= len(rows):
        return rows
    return [rows[i] for i in np.linspace(0, len(rows) - 1, limit).round().astype(int)]


def _score(flags: list[bool], invalid: int) -> ProviderScore:
    return {"requests": len(flags), "correct": int(sum(flags)),
            "accuracy": round(float(np.mean(flags)), 4) if flags else 0.0, "invalid": invalid}


def evaluate_assistant(ctx: Context, provider: Provider, settings: LLMSettings,
                       requests: Path | None = None, briefs: Path | None = None,
                       limit: int | None = None) -> AssistantEvaluation:
    """Execution accuracy, latency and the copy fact-check pass rate of ``provider``."""
    rows = _spread(load_eval("audiences", requests), limit)
    catalogue = audience_catalogue(ctx)
    groups: dict[str, list[bool]] = {}
    invalid: dict[str, int] = {}
    latencies: list[float] = []
    failures: list[dict[str, str]] = []
    for row in rows:
        gold = set(audience_ids(ctx, row["gold"]))
        where, error = "", ""
        try:
            where, _, seconds = propose_filter(ctx, row["text"], provider, settings, catalogue)
            latencies.append(seconds)
            ok = bool(where) and set(audience_ids(ctx, where)) == gold
        except (ProviderError, InputError) as exc:
            ok, error = False, str(exc)
        keys = ("all", row.get("split", "dev"), row.get("lang", "en"),
                f"{row.get('split', 'dev')}_{row.get('lang', 'en')}")
        for key in keys:
            groups.setdefault(key, []).append(ok)
            invalid[key] = invalid.get(key, 0) + int(bool(error))
        if not ok:
            failures.append({"id": str(row.get("id", "")), "text": row["text"],
                             "gold": row["gold"], "got": where, "error": error})
    briefs_rows = _spread(load_eval("copy_briefs", briefs), limit and max(1, limit // 2))
    lat = np.asarray(latencies) if latencies else np.zeros(1)
    return {"provider": provider.name, "warehouse": str(ctx.settings.warehouse),
            "audiences": {k: _score(v, invalid[k]) for k, v in groups.items()},
            "latency_mean_s": round(float(lat.mean()), 4),
            "latency_p95_s": round(float(np.percentile(lat, 95)), 4),
            "load_s": round(float(getattr(provider, "load_s", 0.0)), 2),
            "copy_briefs": len(briefs_rows),
            "copy_fact_check_pass_rate": copy_pass_rate(briefs_rows, provider, settings.timeout),
            "copy_planted_errors_caught": round(float(np.mean(
                [bool(check_copy(str(b["bad_copy"]), b.get("facts", {})))
                 for b in briefs_rows if b.get("bad_copy")] or [False])), 4),
            "failures": failures}
