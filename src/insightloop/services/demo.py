"""The demo: the whole loop on the bundled Online Retail sample.

The CLI writes the HTML report afterwards (the report sits above services).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from insightloop.services.clv import build_clv
from insightloop.services.cohorts import build_cohorts
from insightloop.services.context import Context
from insightloop.services.ingest import ingest
from insightloop.services.profiles import build_profiles
from insightloop.services.recommend import build_recommendations
from insightloop.services.scoring import score_warehouse
from insightloop.services.segments import build_segments
from insightloop.services.sentiment import discover_topics, ingest_demo_reviews, score_reviews
from insightloop.services.training import train_task
from insightloop.settings import Settings

SAMPLE_NAME = "online_retail_sample.csv.gz"
StepFn = Callable[[str], None]


def sample_path() -> Path:
    """Path of the bundled UCI Online Retail sample (CC BY 4.0; see data/ATTRIBUTION.md)."""
    return Path(str(importlib.resources.files("insightloop.data") / SAMPLE_NAME))


@dataclass
class DemoResult:
    warehouse: Path
    steps: dict[str, Any] = field(default_factory=dict)


def run_demo(settings: Settings, on_step: StepFn | None = None) -> DemoResult:
    """Ingest the sample, build profiles, then CLV, segments, cohorts and churn scores."""
    step = on_step or (lambda _m: None)
    out: dict[str, Any] = {}
    ctx = Context.from_settings(settings)
    step("ingesting the bundled Online Retail sample")
    out["ingest"] = ingest(ctx, "orders", sample_path(), preset="online-retail")
    step("building customer 360 profiles")
    out["profiles"] = build_profiles(ctx)
    for name, run in _model_stages():
        step(name)
        out[name] = run(ctx)
    return DemoResult(warehouse=settings.warehouse, steps=out)


def _model_stages() -> list[tuple[str, Callable[[Context], Any]]]:
    return [
        ("fitting CLV models (BG/NBD + Gamma-Gamma)", build_clv),
        ("segmenting customers (RFM, tiers, clusters)", build_segments),
        ("building monthly acquisition cohorts", build_cohorts),
        ("training a 90-day churn model", lambda s: _brief(train_task(s, "churn",
                                                                      horizon_days=90))),
        ("scoring churn risk with reasons", lambda s: score_warehouse(s, "churn")),
        ("building recommendations (model chosen on a validation split)",
         lambda s: _brief_recs(build_recommendations(s, model="auto", embedder="tfidf"))),
        ("scoring review sentiment (bundled real reviews, synthetic customer/product link)",
         _sentiment_stage),
    ]


def _sentiment_stage(ctx: Context) -> dict[str, Any]:
    loaded = ingest_demo_reviews(ctx)
    scored = score_reviews(ctx)
    topics = discover_topics(ctx, k=8)
    return {"ingest": loaded, "scored": scored, "topics": len(topics["topics"])}


def _brief_recs(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "selection"}


def _brief(metadata: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("name", "version", "model", "metrics", "as_of_dates", "rows")
    return {k: metadata[k] for k in keep if k in metadata}
