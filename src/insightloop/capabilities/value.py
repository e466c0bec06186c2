"""Customer value: CLV (MBG/NBD, BG/NBD or Pareto/NBD, family and dropout prior chosen on the
calibration period, + Gamma-Gamma), RFM scores and value tiers, behavioural segments, monthly
acquisition cohorts."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability, Columns360, Job, Page, Stage, Table

_SEGMENTS = "run `insightloop segments build`"

CAPABILITY = Capability(
    name="value",
    summary="CLV, RFM and value tiers, behavioural segments, acquisition cohorts.",
    tables=(
        Table("clv", "customer", customer="customer_id", doc="predicted lifetime value"),
        Table("rfm", "customer", customer="customer_id", doc="RFM scores and value tier"),
        Table("segment_members", "customer", customer="customer_id"),
        Table("segments", "none", doc="one row per segment (sizes, strategy)"),
        Table("cohorts", "none", doc="acquisition month x period aggregates"),
    ),
    jobs=(
        Job("clv", run="insightloop.services.clv:build_clv",
            summary="Fit the CLV models and write table clv"),
        Job("segments", run="insightloop.services.segments:build_segments",
            summary="RFM, value tiers and behavioural segments"),
        Job("cohorts", run="insightloop.services.cohorts:build_cohorts",
            summary="Monthly acquisition cohorts"),
    ),
    pages=(
        Page("/rfm", "RFM", "RFM segments", reports=("c_rfm",),
             missing=f"RFM segments are not built yet: {_SEGMENTS}.", order=10),
        Page("/segments", "Segments", "Behavioural segments", reports=("e_segments",),
             missing=f"Segments are not built yet: {_SEGMENTS}.", order=20),
    ),
    customer_360=(
        Columns360("rfm", ("r_score", "f_score", "m_score", "rfm_score", "rfm_segment",
                           "value_tier")),
        Columns360("clv", ("frequency", "recency", "T", "monetary_value", "p_alive",
                           "expected_purchases_*", "expected_avg_value", "clv", "model",
                           "fitted_at"), prefix="clv_"),
        Columns360("segment_members", ("segment_id", "segment_name", "strategy")),
    ),
    demo=(
        Stage("fitting CLV models (BG/NBD + Gamma-Gamma)",
              run="insightloop.services.clv:build_clv",
              omit=("purchase_summary", "spend_summary", "validation_auc",
                    "validation_loglik")),
        Stage("segmenting customers (RFM, tiers, clusters)",
              run="insightloop.services.segments:build_segments"),
        Stage("building monthly acquisition cohorts",
              run="insightloop.services.cohorts:build_cohorts"),
    ),
)
