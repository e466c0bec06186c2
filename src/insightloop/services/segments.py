"""Use cases for RFM, value tiers and behavioural segments.

``build_segments`` reads table ``profiles`` and writes, in one transaction:

* ``rfm``: customer_id, r_score, f_score, m_score, rfm_score, rfm_segment,
  value_tier (there is no separate ``insightloop rfm`` command);
* ``segment_members``: customer_id, segment_id, segment_name, strategy;
* ``segments``: segment_id, name, size, share, value_share, description,
  strategy, method, k, selection_score.

Value (tiers and value share) is predicted CLV from table ``clv`` when
present (customers missing from it count as the lowest value), otherwise
historical net ``monetary``.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from insightloop.errors import WarehouseError
from insightloop.models.rfm import score_rfm, value_tiers
from insightloop.models.segmentation import CustomerSegmenter, describe_segments
from insightloop.services.context import Context
from insightloop.services.profiles import refresh_customer_360
from insightloop.services.records import records
from insightloop.services.results import Segment, SegmentsBuilt, SegmentSummary
from insightloop.storage.lake import is_lake
from insightloop.storage.warehouse import has_table, write_frame

SEGMENT_TABLE_COLUMNS = ("segment_id", "name", "size", "share", "value_share", "description",
                         "strategy", "method", "k", "selection_score")


def load_inputs(ctx: Context) -> tuple[pd.DataFrame, pd.Series, str]:
    """Profiles, the value per customer (aligned to profiles) and its source name."""
    warehouse = ctx.warehouse
    with warehouse.connect(read_only=warehouse.exists) as con:
        if not has_table(con, "profiles"):
            raise WarehouseError("no profiles yet; run `insightloop profiles build` first")
        profiles = con.execute("SELECT * FROM profiles ORDER BY customer_id").df()
        clv = None
        if has_table(con, "clv"):
            clv = con.execute("SELECT customer_id, clv FROM clv").df()
    if profiles.empty:
        raise WarehouseError("table `profiles` is empty; ingest orders and run "
                             "`insightloop profiles build`")
    if clv is not None and not clv.empty:
        value = profiles["customer_id"].map(clv.set_index("customer_id")["clv"])
        return profiles, value.astype("float64"), "clv"
    return profiles, profiles["monetary"].astype("float64"), "monetary"


def compute_segments(profiles: pd.DataFrame, value: pd.Series, *, method: str = "kmeans",
                     k: int | None = None, seed: int = 0,
                     tier_options: dict[str, Any] | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, CustomerSegmenter]:
    """RFM table, members and segment summaries for ``profiles`` (no warehouse access)."""
    rfm = score_rfm(profiles)
    rfm["value_tier"] = value_tiers(value, **(tier_options or {}))
    seg = CustomerSegmenter(method=method, k=k, random_state=seed).fit(profiles)
    summary = describe_segments(profiles, seg.labels_, seg.transform(profiles), rfm, value)
    summary["method"] = method
    summary["k"] = seg.k_
    summary["selection_score"] = seg.selection_score_
    by_id = summary.set_index("segment_id")
    members = pd.DataFrame({
        "customer_id": profiles["customer_id"].to_numpy(),
        "segment_id": seg.labels_.astype("int64"),
        "segment_name": by_id["name"].reindex(seg.labels_).to_numpy(),
        "strategy": by_id["strategy"].reindex(seg.labels_).to_numpy(),
    })
    return rfm.reset_index(drop=True), members, summary, seg


def build_segments(ctx: Context, method: str = "kmeans", k: int | None = None,
                   seed: int = 0, tier_options: dict[str, Any] | None = None
                   ) -> SegmentsBuilt:
    """Compute RFM, tiers and segments and write ``rfm``, ``segment_members``, ``segments``.

    Parameters
    ----------
    ctx : Context
    method : {"kmeans", "gmm"}
    k : int, optional
        Fixed number of segments (default: chosen automatically).
    seed : int
        Random state of the clustering.
    tier_options : dict, optional
        Keyword arguments of :func:`insightloop.models.rfm.value_tiers`
        (``high_share``, ``medium_share`` or ``high_threshold``, ``medium_threshold``).

    Returns
    -------
    SegmentsBuilt
        ``{"customers", "k", "method", "value_source", "selection": {"metric",
        "scores", "chosen_k", "score"}, "segments": [...]}``.
    """
    if ctx.engine.is_spark and is_lake(ctx.settings.warehouse):
        # lazy: pyspark (the optional [spark] extra) only for engine 'spark' over a lake
        from insightloop.services.spark import segments as spark_segments

        done = spark_segments.build_segments(ctx, method=method, k=k, seed=seed,
                                             tier_options=tier_options,
                                             columns=SEGMENT_TABLE_COLUMNS)
        return _built(done.customers, method, done.value_source, done.segmenter, done.summary,
                      done.rfm_segments, done.value_tiers)
    wh = ctx.warehouse
    profiles, value, source = load_inputs(ctx)
    rfm, members, summary, seg = compute_segments(profiles, value, method=method, k=k,
                                                  seed=seed, tier_options=tier_options)
    with wh.transaction() as con:
        write_frame(con, "rfm", rfm)
        write_frame(con, "segment_members", members)
        write_frame(con, "segments", summary.loc[:, list(SEGMENT_TABLE_COLUMNS)])
        refresh_customer_360(con)
    return _built(len(profiles), method, source, seg, summary,
                  rfm["rfm_segment"].value_counts().to_dict(),
                  rfm["value_tier"].value_counts().to_dict())


def _built(customers: int, method: str, source: str, seg: CustomerSegmenter,
           summary: pd.DataFrame, rfm_segments: dict[str, int], tiers: dict[str, int]
           ) -> SegmentsBuilt:
    return {
        "customers": customers,
        "k": int(seg.k_),
        "method": method,
        "value_source": source,
        "selection": {"metric": seg.selection_metric_,
                      "scores": {str(kk): _finite(v) for kk, v in seg.selection_.items()},
                      "chosen_k": int(seg.k_), "score": _finite(seg.selection_score_)},
        "rfm_segments": rfm_segments,
        "value_tiers": tiers,
        "segments": _segments(summary.loc[:, list(SEGMENT_TABLE_COLUMNS)]),
    }


def show_segments(ctx: Context) -> SegmentSummary:
    """Table ``segments`` as a summary (error with the command to run if missing)."""
    with ctx.read() as con:
        if not has_table(con, "segments"):
            raise WarehouseError("no segments yet; run `insightloop segments build` first")
        frame = con.execute("SELECT * FROM segments ORDER BY segment_id").df()
    if frame.empty:
        raise WarehouseError("table `segments` is empty; run `insightloop segments build`")
    return {"customers": int(frame["size"].sum()), "k": int(frame["k"].iloc[0]),
            "method": str(frame["method"].iloc[0]), "segments": _segments(frame)}


def _segments(frame: pd.DataFrame) -> list[Segment]:
    return cast("list[Segment]", records(frame))


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


