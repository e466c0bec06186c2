"""Experiments: A/B tests and campaign holdouts measured (effects with intervals, CUPED,
sequential monitoring, SRM, guardrails, incremental value and ROI), and Thompson-sampling
bandits for live allocation (state in the operational store, ``/api/v1/experiments``)."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability, Job, Page, Stage, Table

_ANALYZE = "insightloop.services.experiments:analyze_campaigns"

CAPABILITY = Capability(
    name="experiments",
    summary="Experiment and campaign-holdout analysis; Thompson-sampling bandits.",
    tables=(
        Table("experiment_results", "none", doc="one row per experiment, variant and metric"),
        Table("experiment_sequential", "none",
              doc="the daily monitoring curve: cumulative effect and confidence sequence"),
        Table("experiment_value", "none",
              doc="incremental conversions, revenue and ROI per treated arm"),
    ),
    jobs=(Job("experiments", run=_ANALYZE,
              summary="Analyse every campaign in sends that has a control arm"),),
    pages=(Page("/experiments", "Experiments", "Experiments and campaign holdouts",
                reports=("experiments",),
                missing="No experiment analysed yet: run `insightloop experiment analyze "
                        "--campaign ID` (or with --data FILE --save ID).", order=55),),
    demo=(Stage("analysing campaign experiments (sends with a control arm)", run=_ANALYZE,
                key="experiments"),),
)
