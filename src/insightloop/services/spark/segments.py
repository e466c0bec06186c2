"""RFM scores, value tiers and behavioural segments on Spark (the ``segments build`` stage).

The same rules as :mod:`insightloop.models.rfm` and :func:`insightloop.services.segments.
compute_segments`, computed on the cluster:

* **RFM scores**: every dimension is ranked in one total order (value, the same two
  tie-breakers, then the customer id as text), so the ranks, and the scores
  ``ceil(5 * rank / n)``, equal the DuckDB path's exactly. The rank is distributed: a global
  sort (range partitioned), then each row's position inside its partition plus the rows of
  the partitions before it (one count per partition goes to the driver, never a row).
* **value tiers**: the rank of the value (``min`` for ties), from the same sort.
* **behavioural segments**: the clustering (:class:`~insightloop.models.segmentation.
  CustomerSegmenter`) is fitted on the driver on at most ``sample_rows`` customers (all of
  them when there are fewer; the sample is the first ``sample_rows`` by a hash of the id),
  and every customer is assigned on the cluster (``mapInPandas``, the fitted model shipped
  with the task). The segment descriptions come from the sample; sizes and value shares are
  counted on the cluster when the sample is not everybody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from insightloop.errors import ConfigError
from insightloop.models.rfm import N_SCORES, SEGMENT_GRID
from insightloop.models.rfm import value_tiers as pandas_tiers
from insightloop.models.segmentation import CustomerSegmenter, describe_segments
from insightloop.services.context import Context
from insightloop.services.spark.common import lake_of, session_of

#: customers the clustering is fitted on, at most (the driver holds this many profiles)
SEGMENT_SAMPLE_ROWS = 200_000
RFM_OUTPUT = ("customer_id", "r_score", "f_score", "m_score", "rfm_score", "rfm_segment")
_PID, _MONO, _OFFSET = "_il_pid", "_il_mono", "_il_offset"


def ordinal_rank(df: DataFrame, order: list[Column], name: str) -> tuple[DataFrame, int]:
    """``df`` with column ``name``: the 1-based position of each row in ``order``; and the
    number of rows.

    ``order`` must be a total order (end it with a unique key). Distributed: a global sort,
    then the position inside each sorted partition plus the sizes of the partitions before
    it; only one count per partition reaches the driver.
    """
    ordered = (df.orderBy(*order).withColumn(_PID, F.spark_partition_id())
               .withColumn(_MONO, F.monotonically_increasing_id()).localCheckpoint(eager=True))
    counts = pd.DataFrame(ordered.groupBy(_PID).count().toPandas()).sort_values(_PID)
    offsets = counts.assign(**{_OFFSET: (counts["count"].cumsum() - counts["count"])
                               .astype("int64")})[[_PID, _OFFSET]]
    session = df.sparkSession
    small = session.createDataFrame(offsets if len(offsets) else
                                    pd.DataFrame({_PID: [0], _OFFSET: [0]}),
                                    schema=f"{_PID} int, {_OFFSET} long")
    within = F.col(_MONO) - F.shiftleft(F.col(_PID).cast("long"), 33)
    return (ordered.join(F.broadcast(small), _PID)
            .withColumn(name, F.col(_OFFSET) + within + 1)
            .drop(_PID, _MONO, _OFFSET)), int(counts["count"].sum())


def _score(df: DataFrame, present: Column, primary: Column, ties: list[Column], name: str
           ) -> DataFrame:
    """Customer ids with a 1-5 score ``name`` for the rows where ``present`` (1 elsewhere).

    Rank by ``primary`` ascending, then ``ties`` ascending (missing lowest), then the
    customer id as text: :func:`insightloop.models.rfm.quantile_score`'s order.
    """
    keys = [primary, *ties]
    picked = df.filter(present).select(
        "customer_id", F.col("customer_id").cast("string").alias("_id"),
        *[c.alias(f"_k{i}") for i, c in enumerate(keys)])
    ranked, n = ordinal_rank(picked, [F.col("_k0").asc(), *[F.col(f"_k{i}").asc_nulls_first()
                                                           for i in range(1, len(keys))],
                                   F.col("_id").asc()], "_rank")
    raw = F.ceil(F.lit(float(N_SCORES)) * F.col("_rank") / F.lit(float(max(n, 1))) - 1e-9)
    scored = ranked.select("customer_id", F.least(F.greatest(raw, F.lit(1)), F.lit(N_SCORES))
                           .cast("long").alias(name))
    return (df.select("customer_id").join(scored, "customer_id", "left")
            .fillna(1, subset=[name]))


def score_rfm(profiles: DataFrame) -> DataFrame:
    """``customer_id, r_score, f_score, m_score, rfm_score, rfm_segment`` on the cluster.

    The rules of :func:`insightloop.models.rfm.score_rfm`: buyers (frequency > 0 with a
    recency) are ranked; everybody else gets 1, 1, 1 and "lost".
    """
    missing = [c for c in ("customer_id", "recency_days", "frequency", "monetary")
               if c not in profiles.columns]
    if missing:
        raise ConfigError(f"table profiles lacks columns {missing}; rebuild it with "
                          "`insightloop profiles build`")
    base = profiles.select(
        "customer_id", F.col("recency_days").cast("double").alias("rec"),
        F.coalesce(F.col("frequency").cast("double"), F.lit(0.0)).alias("freq"),
        F.col("monetary").cast("double").alias("money"))
    base = base.withColumn("money", F.when(F.isnan("money"), None).otherwise(F.col("money")))
    buyer = (F.col("freq") > 0) & F.col("rec").isNotNull() & ~F.isnan("rec")
    r = _score(base, buyer, -F.col("rec"), [F.col("freq"), F.col("money")], "r_score")
    f = _score(base, buyer, F.col("freq"), [F.col("money"), -F.col("rec")], "f_score")
    m = _score(base, buyer & F.col("money").isNotNull(), F.col("money"),
               [F.col("freq"), -F.col("rec")], "m_score")
    grid = F.array(*[F.lit(name) for row in SEGMENT_GRID for name in row])
    fm = F.floor((F.col("f_score") + F.col("m_score") + 1) / 2).cast("int")
    cell = (F.col("r_score").cast("int") - 1) * len(SEGMENT_GRID[0]) + fm
    return (r.join(f, "customer_id").join(m, "customer_id").select(
        "customer_id", "r_score", "f_score", "m_score",
        F.concat(*[F.col(c).cast("string") for c in ("r_score", "f_score", "m_score")])
        .alias("rfm_score"), F.element_at(grid, cell).alias("rfm_segment")))


def value_tiers(values: DataFrame, *, high_share: float = 0.2, medium_share: float = 0.3,
                high_threshold: float | None = None, medium_threshold: float | None = None
                ) -> DataFrame:
    """``customer_id, value_tier`` from ``customer_id, value``: the rules of
    :func:`insightloop.models.rfm.value_tiers` (missing values lowest, ties the better tier).
    """
    value = F.col("value").cast("double")
    # the options are checked by the pandas rule itself (ConfigError naming the problem)
    pandas_tiers(pd.Series([], dtype="float64"), high_share=high_share,
                 medium_share=medium_share, high_threshold=high_threshold,
                 medium_threshold=medium_threshold)
    if high_threshold is not None and medium_threshold is not None:
        tier = (F.when(value >= high_threshold, "high")
                .when(value >= medium_threshold, "medium").otherwise("low"))
        return values.select("customer_id", tier.alias("value_tier"))
    keyed = values.select("customer_id", F.when(value.isNull() | F.isnan(value),
                                                 float("-inf")).otherwise(value).alias("_v"))
    ranked, n = ordinal_rank(keyed, [F.col("_v").desc(), F.col("customer_id").cast("string")],
                             "_rank")
    first = ranked.groupBy("_v").agg(F.min("_rank").alias("_min"))
    pct = F.col("_min") / F.lit(float(max(n, 1)))
    tier = (F.when(pct <= high_share + 1e-12, "high")
            .when(pct <= high_share + medium_share + 1e-12, "medium").otherwise("low"))
    return ranked.join(first, "_v").select("customer_id", tier.alias("value_tier"))


def sample_ids(profiles: DataFrame, rows: int) -> DataFrame:
    """At most ``rows`` customer ids: all when there are fewer, else the lowest by hash."""
    if rows < 1:
        raise ConfigError(f"the segment sample must hold at least 1 customer, got {rows}")
    ids = profiles.select("customer_id")
    return ids.orderBy(F.xxhash64("customer_id"), F.col("customer_id")).limit(rows)


def fit_segments(profiles: DataFrame, rfm: DataFrame, value: DataFrame, *, method: str,
                 k: int | None, seed: int, sample_rows: int = SEGMENT_SAMPLE_ROWS
                 ) -> tuple[CustomerSegmenter, pd.DataFrame, int]:
    """The clustering fitted on the driver on a bounded sample; its segment summary.

    Returns the fitted segmenter, the summary of :func:`describe_segments` (sample) and
    the number of customers in the sample.
    """
    picked = sample_ids(profiles, sample_rows)
    sample = pd.DataFrame(
        profiles.join(picked, "customer_id").join(rfm, "customer_id")
        .join(value.withColumnRenamed("value", "_value"), "customer_id", "left")
        .orderBy("customer_id").toPandas())
    seg = CustomerSegmenter(method=method, k=k, random_state=seed).fit(sample)
    summary = describe_segments(sample, seg.labels_, seg.transform(sample), sample,
                                sample["_value"].astype("float64"))
    summary["method"] = method
    summary["k"] = seg.k_
    summary["selection_score"] = seg.selection_score_
    return seg, summary, len(sample)


def assign_segments(profiles: DataFrame, seg: CustomerSegmenter, summary: pd.DataFrame
                    ) -> DataFrame:
    """``customer_id, segment_id, segment_name, strategy`` for every customer (cluster)."""
    def assign(frames: Any) -> Any:
        for frame in frames:
            yield pd.DataFrame({"customer_id": frame["customer_id"],
                                "segment_id": np.asarray(seg.predict(frame), dtype="int64")})

    id_type = profiles.schema["customer_id"].dataType.simpleString()
    labels = profiles.mapInPandas(cast(Any, assign),
                                  schema=f"customer_id {id_type}, segment_id long")
    names = profiles.sparkSession.createDataFrame(
        summary[["segment_id", "name", "strategy"]].astype({"segment_id": "int64"}))
    return (labels.join(F.broadcast(names), "segment_id")
            .select("customer_id", "segment_id", F.col("name").alias("segment_name"),
                    "strategy"))


def recount(summary: pd.DataFrame, members: DataFrame, value: DataFrame) -> pd.DataFrame:
    """``summary`` with size, share and value share counted over every member (cluster)."""
    clipped = F.greatest(F.coalesce(F.col("value").cast("double"), F.lit(0.0)), F.lit(0.0))
    per = pd.DataFrame(members.join(value, "customer_id", "left").groupBy("segment_id")
                       .agg(F.count(F.lit(1)).alias("size"), F.sum(clipped).alias("_value"))
                       .toPandas())
    per = per.set_index("segment_id").reindex(summary["segment_id"]).fillna(0)
    out = summary.copy()
    total, value_total = float(per["size"].sum()), float(per["_value"].sum())
    out["size"] = per["size"].to_numpy(dtype="int64")
    out["share"] = per["size"].to_numpy(dtype="float64") / max(total, 1.0)
    out["value_share"] = (per["_value"].to_numpy(dtype="float64") / value_total
                          if value_total > 0 else 0.0)
    return out


@dataclass(frozen=True)
class SegmentsOnSpark:
    """What :func:`build_segments` wrote: counts and the driver-side model and summary."""

    customers: int
    value_source: str
    segmenter: CustomerSegmenter
    summary: pd.DataFrame
    rfm_segments: dict[str, int]
    value_tiers: dict[str, int]
    sample: int


def build_segments(ctx: Context, *, method: str, k: int | None, seed: int,
                   tier_options: dict[str, Any] | None, columns: tuple[str, ...],
                   sample_rows: int = SEGMENT_SAMPLE_ROWS) -> SegmentsOnSpark:
    """Tables ``rfm``, ``segment_members`` and ``segments`` of the lake (module doc).

    ``columns`` are those of table ``segments``; the value is predicted CLV from table
    ``clv`` when the lake has it (customers missing count lowest), else ``monetary``.
    """
    lake, session = lake_of(ctx), session_of(ctx)
    profiles = lake.read_spark(session, "profiles").localCheckpoint(eager=True)
    n = profiles.count()
    if n == 0:
        raise ConfigError("table `profiles` is empty; ingest orders and run "
                          "`insightloop profiles build`")
    if lake.exists("clv"):
        clv = lake.read_spark(session, "clv").select(
            F.col("customer_id"), F.col("clv").cast("double").alias("value"))
        value = profiles.select("customer_id").join(clv, "customer_id", "left")
        source = "clv"
    else:
        value = profiles.select("customer_id", F.col("monetary").cast("double").alias("value"))
        source = "monetary"
    value = value.localCheckpoint(eager=True)
    rfm = score_rfm(profiles).join(value_tiers(value, **(tier_options or {})), "customer_id")
    rfm = rfm.localCheckpoint(eager=True)
    seg, summary, sampled = fit_segments(profiles, rfm, value, method=method, k=k, seed=seed,
                                         sample_rows=sample_rows)
    members = assign_segments(profiles, seg, summary).localCheckpoint(eager=True)
    if sampled < n:
        summary = recount(summary, members, value)
    with lake.transaction() as tx:  # the three tables change together or not at all
        tx.write_spark(rfm.select(*RFM_OUTPUT, "value_tier"), "rfm")
        tx.write_spark(members, "segment_members")
        tx.write_spark(session.createDataFrame(summary.loc[:, list(columns)]), "segments")

    def counts(column: str) -> dict[str, int]:
        got = pd.DataFrame(rfm.groupBy(column).count().toPandas())
        return {str(a): int(b) for a, b in zip(got[column], got["count"], strict=True)}

    return SegmentsOnSpark(customers=n, value_source=source, segmenter=seg, summary=summary,
                           rfm_segments=counts("rfm_segment"), value_tiers=counts("value_tier"),
                           sample=sampled)
