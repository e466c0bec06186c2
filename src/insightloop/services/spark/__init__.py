"""The pipeline's stages on Apache Spark, reading and writing the lakehouse warehouse.

Selected by ``INSIGHTLOOP_ENGINE=spark`` with ``INSIGHTLOOP_WAREHOUSE`` naming a lake folder
(:mod:`insightloop.storage.lake`): each stage module here runs one stage on the cluster and
writes its table to the lake; nothing per-customer is collected to the driver. The engine-neutral
services (profiles, clv, scoring, ...) dispatch here when the context's engine is Spark.
"""
