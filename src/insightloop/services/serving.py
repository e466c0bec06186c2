"""Build the serving store (:mod:`insightloop.storage.serving`) from the warehouse.

For every customer with a profile: the exact JSON of ``GET /customers/{id}`` and
``GET /customers/{id}/scores`` (the live path's :func:`~insightloop.services.customers.
customer_profile` done for all customers in one DuckDB query); for every customer the
registered recommender knows: its top-N recommendations with reasons, ranked by the model
itself in blocks (the same ``recommend_idx`` and ``reasons`` calls the live path makes for
one customer); and the cold-start popularity list for everyone else.

The store is versioned by a *fingerprint* of what it holds: row count, a hash of every
row and the column list of ``profiles``, ``rfm``, ``clv``, ``segment_members`` and
``scores``, plus the version and sha256 of the registered recommender. A store whose
fingerprint differs from the warehouse's is stale and never served.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from insightloop.capabilities.recommend import MODEL_NAME
from insightloop.errors import ConfigError, InsightloopError, NotFoundError, WarehouseError
from insightloop.services.context import Context
from insightloop.services.customers import PROFILE_PARTS
from insightloop.services.records import plain
from insightloop.services.results import (
    StoreBuilt,
    StoreFresh,
    StoreReady,
    StoreRebuilt,
    StoreStatus,
)
from insightloop.storage.serving import (
    SLOT,
    ServingStore,
    Tail,
    dumps,
    read_meta,
    write_store,
)
from insightloop.storage.sql import ident, literal
from insightloop.storage.warehouse import has_table

log = logging.getLogger("insightloop.serving")
Progress = Callable[[str], None]
TOP_N = 50
BATCH = 20_000
TABLES = ("profiles", *PROFILE_PARTS)
# Live-path rule (services.customers._iso): a string starting with a timestamp gets a "T".
_TS = r'([\[:,])"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)'


def store_path(ctx: Context) -> Path:
    """Where the store of the context's warehouse lives: next to it, ``*.serving.sqlite``."""
    warehouse = ctx.settings.warehouse
    return warehouse.with_name(warehouse.stem + ".serving.sqlite")


def split_reasons(text: Any) -> list[str]:
    """The stored ``"a; b"`` reason text of a score as the list the API returns."""
    return [r for r in str(text or "").split("; ") if r]


def _fingerprint(ctx: Context, con: duckdb.DuckDBPyConnection) -> str:
    """What the store depends on, as text: per table its columns, rows and a row hash."""
    parts: dict[str, Any] = {}
    for table in TABLES:
        if not has_table(con, table):
            continue
        cols = con.execute("SELECT list(column_name || ' ' || data_type ORDER BY column_index) "
                           "FROM duckdb_columns() WHERE table_name = ? AND schema_name = "
                           "'main'", [table]).fetchone()
        row = con.execute(f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR "
                          f"FROM {ident(table)} t").fetchone()
        assert cols is not None and row is not None
        parts[table] = [cols[0], int(row[0]), row[1]]
    parts["recommender"] = _recommender_version(ctx)
    return json.dumps(parts, sort_keys=True)


def _recommender_version(ctx: Context) -> list[Any] | None:
    try:
        meta = ctx.models.metadata(MODEL_NAME)
    except (NotFoundError, InsightloopError):
        return None
    return [meta.get("version"), meta.get("sha256")]


def store_status(ctx: Context) -> StoreStatus:
    """``{"path", "exists", "fresh", "built_at", "customers", "top_n"}`` of the store."""
    path = store_path(ctx)
    meta = read_meta(path)
    out: StoreStatus = {"path": str(path), "exists": meta is not None, "fresh": False,
                        "built_at": None, "customers": None, "top_n": None}
    if meta is None or not ctx.settings.warehouse.exists():
        return out
    with ctx.read() as c:
        out["fresh"] = meta.get("fingerprint") == _fingerprint(ctx, c)
    out["built_at"] = meta.get("built_at")
    out["customers"] = int(meta.get("customers", 0))
    out["top_n"] = int(meta.get("top_n", 0))
    return out


def open_store(ctx: Context) -> ServingStore | None:
    """The store if it exists and is fresh, else None (the API then answers live)."""
    status = store_status(ctx)
    if not status["exists"]:
        return None
    if not status["fresh"]:
        log.warning("serving store %s is stale (the warehouse changed since it was built); "
                    "answering live until `insightloop serving build` runs", status["path"])
        return None
    return ServingStore(Path(status["path"]))


def ensure_store(ctx: Context, top_n: int = TOP_N,
                 on_progress: Progress | None = None) -> StoreReady:
    """Build the store when missing or stale; returns its status (``built`` says if it was)."""
    status = store_status(ctx)
    if status["exists"] and status["fresh"]:
        return StoreFresh(**status, built=False)
    return StoreRebuilt(**build_store(ctx, top_n, on_progress=on_progress), built=True)


def build_store(ctx: Context, top_n: int = TOP_N, on_progress: Progress | None = None
                ) -> StoreBuilt:
    """Write the serving store of the context's warehouse (atomically) and describe it.

    Raises
    ------
    WarehouseError
        The warehouse does not exist.
    """
    if not 1 <= top_n <= 100:
        raise ConfigError(f"top_n must be in 1..100, got {top_n}")
    settings = ctx.settings
    if not settings.warehouse.exists():
        raise WarehouseError(f"warehouse {settings.warehouse} does not exist yet; run "
                             "`insightloop demo` or `insightloop ingest` first")
    say = on_progress or (lambda _m: None)
    started = time.perf_counter()
    counts = {"customers": 0, "recommended": 0}
    with ctx.read() as c:
        fp = _fingerprint(ctx, c)
        has_profiles = has_table(c, "profiles")
        server = _recommender(ctx)
        say("writing profiles, scores and recommendations")
        recs = _Recs(server, top_n, counts, say)

        def tail() -> Tail:
            meta = {"fingerprint": fp, "built_at": datetime.now().isoformat(timespec="seconds"),
                    "warehouse": str(settings.warehouse), "top_n": str(top_n),
                    "profiles": "1" if has_profiles else "0",
                    "customers": str(counts["customers"]), **recs.meta()}
            return meta, recs.items(), recs.reasons()

        path = write_store(store_path(ctx),
                           _profile_batches(c, counts) if has_profiles else iter(()),
                           recs.batches(), tail)
    return {"path": str(path), "customers": counts["customers"],
            "recommended_customers": counts["recommended"], "top_n": top_n,
            "ranking": {None: None, True: "blockwise", False: "per customer"}[recs.blockwise],
            "bytes": path.stat().st_size, "seconds": round(time.perf_counter() - started, 2)}


# -- profiles and scores ------------------------------------------------------------------
def _profile_sql(con: duckdb.DuckDBPyConnection) -> str:
    """One row per customer with an id in [$1, $2) ($2 NULL: no upper bound): the id and
    the live path's profile JSON (before normalisation)."""
    joins, pieces = [], []
    rng = "{0}customer_id >= $1 AND ($2 IS NULL OR {0}customer_id < $2)"
    for t in PROFILE_PARTS:
        if not has_table(con, t):
            continue
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = "
            "'main' ORDER BY column_index", [t]).fetchall() if r[0] != "customer_id"]
        struct = "{" + ", ".join(f"{literal(c)}: x.{ident(c)}" for c in cols) + "}"
        alias = ident("__" + t)
        if t == "scores":
            body = (f"SELECT customer_id, to_json(list({struct} ORDER BY x.model))::VARCHAR "
                    f"AS j FROM scores x WHERE {rng.format('')} GROUP BY customer_id")
        else:
            body = (f"SELECT customer_id, to_json({struct})::VARCHAR AS j FROM {ident(t)} x "
                    f"WHERE {rng.format('')} "
                    "QUALIFY row_number() OVER (PARTITION BY customer_id) = 1")
        joins.append(f"LEFT JOIN ({body}) {alias} ON {alias}.customer_id = p.customer_id")
        pieces.append(f"coalesce(',' || {literal(json.dumps(t))} || ':' || {alias}.j, '')")
    doc = "left(to_json(p)::VARCHAR, -1) || " + " || ".join([*pieces, "'}'"])
    return (f"SELECT p.customer_id, regexp_replace({doc}, '{_TS}', '\\1\"\\2T\\3', 'g') "
            f"FROM profiles p {' '.join(joins)} WHERE {rng.format('p.')} "
            "ORDER BY p.customer_id")


def _profile_batches(con: duckdb.DuckDBPyConnection, counts: dict[str, int]
                     ) -> Iterator[list[tuple[str, bytes, bytes]]]:
    # Customers in id ranges of BATCH: memory stays bounded whatever the warehouse size
    # (one query over a million customers needs more than DuckDB's 2 GB memory limit).
    sql = _profile_sql(con)
    bounds = [r[0] for r in con.execute(
        "SELECT customer_id FROM (SELECT customer_id, row_number() OVER (ORDER BY customer_id) "
        "AS r FROM profiles) WHERE r % ? = 1 ORDER BY customer_id", [BATCH]).fetchall()]
    cur = con.cursor()
    try:
        for lo, hi in zip(bounds, [*bounds[1:], None], strict=True):
            rows = cur.execute(sql, [lo, hi]).fetchall()
            ids = [str(r[0]) for r in rows]
            # One JSON parse for the whole batch; NaN/Infinity become null as in the live path.
            docs = json.loads("[" + ",".join(r[1] for r in rows) + "]",
                              parse_constant=lambda _c: None)
            batch = [(cid, zlib.compress(dumps(doc), 1), zlib.compress(dumps(
                {"customer_id": cid, "scores": [{**s, "reasons": split_reasons(s.get("reasons"))}
                                                for s in doc.get("scores") or []]}), 1))
                     for cid, doc in zip(ids, docs, strict=True)]
            counts["customers"] += len(batch)
            yield batch
    finally:
        cur.close()


# -- recommendations ---------------------------------------------------------------------
def _recommender(ctx: Context) -> Any:
    # lazy: the recommender's package loads scikit-learn; a store without one never needs it
    from insightloop.services.recommend import load_recommender

    try:
        return load_recommender(ctx)
    except NotFoundError:
        return None


class _Recs:
    """The recommendation part of a store: batches of packed rows, then the dictionaries."""

    def __init__(self, server: Any, top_n: int, counts: dict[str, int], say: Progress) -> None:
        self.server, self.top_n, self.counts, self.say = server, top_n, counts, say
        self.codes: dict[str, int] = {}
        self.blockwise: bool | None = None  # None: not checked yet

    def meta(self) -> dict[str, str]:
        if self.server is None:
            return {"recs": "0"}
        pop = plain(self.server.recommend("\x00cold-start", self.top_n))
        return {"recs": "1", "rec_label": str(self.server.label),
                "popular": json.dumps({k: pop[k] for k in ("model", "source", "items")},
                                      ensure_ascii=False)}

    def items(self) -> list[tuple[int, str, str]]:
        if self.server is None:
            return []
        return [(i, str(p), str(d)) for i, (p, d) in enumerate(zip(
            self.server.item_ids.tolist(), self.server.descriptions.tolist(), strict=True))]

    def reasons(self) -> list[tuple[int, str]]:
        return [(c, t) for t, c in self.codes.items()]

    def _rank(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-N of a block of users, bit-identical to ranking each user alone.

        Sparse models score each row alone whatever the block; dense float32 products (text
        vectors, factors) go through BLAS kernels whose rounding depends on the block shape.
        The first block is therefore checked against single-customer calls, and when any bit
        differs every customer is ranked alone (slower; what the live path would answer).
        """
        server, model = self.server, self.server.model

        def rank(users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            out: tuple[np.ndarray, np.ndarray] = model.recommend_idx(
                users, self.top_n, True, server.exclude, server.purchased)
            return out

        if self.blockwise is False:
            return _stack([rank(block[k:k + 1]) for k in range(len(block))])
        idx, val = rank(block)
        if self.blockwise is None:
            probe = block[:64]
            alone = _stack([rank(probe[k:k + 1]) for k in range(len(probe))])
            self.blockwise = bool(np.array_equal(alone[0], idx[:len(probe)]) and np.array_equal(
                alone[1], val[:len(probe)], equal_nan=True))
            if not self.blockwise:
                self.say("the model's scores depend on the batch shape (dense float32); "
                         "ranking each customer alone")
                return self._rank(block)
        return idx, val

    def batches(self) -> Iterator[list[tuple[str, bytes]]]:
        """Every known customer's top-N with reasons, as packed slots."""
        server = self.server
        if server is None:
            return
        model = server.model
        users = model.interactions_.user_ids
        step = 5_000
        for start in range(0, len(users), step):
            block = np.arange(start, min(start + step, len(users)))
            idx, val = self._rank(block)
            why = server.reasons(server.purchased[block], model.seen_[block], idx, "model")
            local, uniques = pd.factorize(why.ravel())
            known = np.array([self.codes.setdefault(str(u), len(self.codes)) for u in uniques],
                             dtype=np.int32)
            slots = np.empty(idx.shape, dtype=SLOT)
            slots["item"], slots["score"] = idx, val
            slots["reason"] = known[local].reshape(idx.shape)
            raw = slots.tobytes()
            width = SLOT.itemsize * idx.shape[1]
            used = (idx >= 0).sum(axis=1) * SLOT.itemsize
            batch = [(str(cid), raw[k * width:k * width + u]) for k, (cid, u) in
                     enumerate(zip(users[block].tolist(), used.tolist(), strict=True))]
            self.counts["recommended"] += len(batch)
            if start and start % 100_000 == 0:
                self.say(f"ranked {start:,} of {len(users):,} customers")
            yield batch


def _stack(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])
