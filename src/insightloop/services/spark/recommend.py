"""Batch recommendations on Spark over the lake (``recommend build``): SAR-style item-item.

Everything runs on the cluster; the driver gets a handful of totals:

1. purchases: distinct (customer, product) of the completed orders (quantity > 0, status
   not cancelled), limited to the ``max_items`` products bought by most customers (this
   bounds the item-item table at ``max_items**2`` pairs);
2. co-occurrence: customers who bought both ``i`` and ``j`` (a self-join on the customer);
3. similarity: Jaccard ``c_ij / (c_i + c_j - c_ij)`` (SAR's default), the ``neighbours``
   most similar kept per product (table ``item_similarity``);
4. scores: each customer's sum of the similarities of the products bought to every product
   not yet bought; the top ``n`` per customer (a window per customer) are table
   ``recommendations`` (``customer_id, rank, product_id, score, reason, model``).
"""

from __future__ import annotations

import time
from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from insightloop.errors import ConfigError, WarehouseError
from insightloop.services.context import Context
from insightloop.services.spark.common import lake_of, session_of

MODEL_LABEL = "sar-spark"
REGISTRY_NAME = "recommender_spark"
MAX_ITEMS = 5000
NEIGHBOURS = 50
REASON = "bought together with products you bought"


def purchases(orders: DataFrame) -> DataFrame:
    """Distinct ``user, item`` of the completed orders with a customer and a product."""
    status = F.col("status")
    kept = orders.filter(F.col("customer_id").isNotNull() & F.col("product_id").isNotNull()
                         & (F.col("quantity") > 0)
                         & (status.isNull() | (F.lower(status) != "cancelled")))
    return kept.select(F.col("customer_id").cast("string").alias("user"),
                       F.col("product_id").cast("string").alias("item")).distinct()


def item_similarity(pairs: DataFrame, *, max_items: int = MAX_ITEMS,
                    neighbours: int = NEIGHBOURS) -> DataFrame:
    """``item, other, similarity``: Jaccard of the buyers, top ``neighbours`` per item."""
    if max_items < 1 or neighbours < 1:
        raise ConfigError(f"max_items and neighbours must be >= 1, got {max_items}, "
                          f"{neighbours}")
    counts = pairs.groupBy("item").agg(F.count(F.lit(1)).alias("buyers"))
    top = counts.orderBy(F.col("buyers").desc(), F.col("item")).limit(max_items)
    kept = pairs.join(F.broadcast(top.select("item")), "item")
    left = kept.withColumnRenamed("item", "i")
    right = kept.withColumnRenamed("item", "j")
    both = (left.join(right, "user").filter(F.col("i") != F.col("j"))
            .groupBy("i", "j").agg(F.count(F.lit(1)).alias("c")))
    ci = top.select(F.col("item").alias("i"), F.col("buyers").alias("ci"))
    cj = top.select(F.col("item").alias("j"), F.col("buyers").alias("cj"))
    sim = (both.join(F.broadcast(ci), "i").join(F.broadcast(cj), "j")
           .select("i", "j", (F.col("c") / (F.col("ci") + F.col("cj") - F.col("c")))
                   .alias("similarity")))
    order = Window.partitionBy("i").orderBy(F.col("similarity").desc(), F.col("j"))
    return (sim.withColumn("_r", F.row_number().over(order)).filter(F.col("_r") <= neighbours)
            .select(F.col("i").alias("item"), F.col("j").alias("other"), "similarity"))


def top_k(pairs: DataFrame, similarity: DataFrame, n: int) -> DataFrame:
    """``customer_id, rank, product_id, score``: the ``n`` best unseen products per user."""
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    scored = (pairs.join(similarity, "item")
              .groupBy("user", F.col("other").alias("product_id"))
              .agg(F.sum("similarity").alias("score")))
    seen = pairs.select("user", F.col("item").alias("product_id"))
    fresh = scored.join(seen, ["user", "product_id"], "left_anti")
    order = Window.partitionBy("user").orderBy(F.col("score").desc(), F.col("product_id"))
    return (fresh.withColumn("rank", F.row_number().over(order)).filter(F.col("rank") <= n)
            .select(F.col("user").alias("customer_id"), F.col("rank").cast("int"),
                    "product_id", F.col("score").cast("double")))


def build_recommendations(ctx: Context, n: int = 10, *, max_items: int = MAX_ITEMS,
                          neighbours: int = NEIGHBOURS) -> dict[str, Any]:
    """Tables ``item_similarity`` and ``recommendations`` of the lake (module doc)."""
    started = time.perf_counter()
    lake, session = lake_of(ctx), session_of(ctx)
    pairs = purchases(lake.read_spark(session, "orders")).localCheckpoint(eager=True)
    totals = pairs.agg(F.count(F.lit(1)).alias("pairs"),
                       F.countDistinct("user").alias("users"),
                       F.countDistinct("item").alias("items")).first()
    if totals is None or not totals["pairs"]:
        raise WarehouseError(f"no completed orders with a customer and a product in lake "
                             f"{lake.root}; ingest orders first")
    lake.write_spark(item_similarity(pairs, max_items=max_items, neighbours=neighbours),
                     "item_similarity")
    similarity = lake.read_spark(session, "item_similarity")
    table = top_k(pairs, similarity, n).withColumn("reason", F.lit(REASON)).withColumn(
        "model", F.lit(MODEL_LABEL))
    lake.write_spark(table, "recommendations")
    written = lake.read_spark(session, "recommendations").agg(
        F.count(F.lit(1)).alias("rows"), F.countDistinct("customer_id").alias("customers"),
        F.countDistinct("product_id").alias("shown")).first()
    params = {"n": n, "max_items": max_items, "neighbours": neighbours,
              "similarity": "jaccard"}
    rows = int(written["rows"]) if written else 0
    info = ctx.models.save(REGISTRY_NAME, params, {
        "task": "recommend", "model": MODEL_LABEL, "params": params, "engine": "spark",
        "users": int(totals["users"]), "items": int(totals["items"]),
        "interactions": int(totals["pairs"]), "tables": ["item_similarity",
                                                         "recommendations"]})
    return {"model": MODEL_LABEL, "params": params,
            "customers": int(written["customers"]) if written else 0,
            "modelled_customers": int(totals["users"]), "cold_start_customers": 0,
            "items": int(totals["items"]), "interactions": int(totals["pairs"]), "rows": rows,
            "coverage": round(int(written["shown"]) / max(int(totals["items"]), 1), 4)
            if written else 0.0,
            "excluded_out_of_stock": 0, "version": int(info["version"]), "selection": [],
            "seconds": round(time.perf_counter() - started, 2)}
