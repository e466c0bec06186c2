"""Message content: sandboxed Jinja2 templates filled from each customer's profile.

A template sees, for one customer:

- every ``customer_360`` column (``recency_days``, ``segment_name``, ``strategy``, ``clv``,
  ...) and the ``customers`` columns the view lacks (``name``, ``email``, ``country``...),
  both as top-level names and under ``customer``;
- ``recommendations``: the customer's top products (``rank``, ``product_id``, ``name`` when
  the products table has one, ``score``, ``reason``), an empty list when there are none;
- ``extra``'s keys (the campaign's own values: a discount code, a link).

The environment is Jinja2's :class:`SandboxedEnvironment` (no attribute access to Python
internals) with :class:`StrictUndefined`: a field that is missing, or NULL for this
customer, is an error (``{{ name | default("there") }}`` gives a fallback on purpose), never
an empty string. :func:`render` reports errors per customer in the ``error`` column (the
campaign marks that customer ``failed`` with it); :func:`preview` raises them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from insightloop.errors import InputError
from insightloop.services.context import Context
from insightloop.storage.ids import id_sql
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table

TOP_RECOMMENDATIONS = 3
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
OUT_COLUMNS = ["customer_id", "subject", "text", "html", "error"]


def render(ctx: Context, template_text: str, customer_ids: Sequence[str],
           extra: Mapping[str, Any] | None = None, html_template: str | None = None,
           subject_template: str | None = None) -> pd.DataFrame:
    """One row per customer (in the order given): ``customer_id``, ``subject``, ``text``,
    ``html`` (None when not asked for) and ``error`` (None, or why this customer's message
    could not be made: a template error, a missing field, an unknown customer)."""
    ids = normalized(customer_ids)
    templates, broken = _compile(template_text, html_template, subject_template)
    out = pd.DataFrame({"customer_id": pd.Series(ids, dtype=object)})
    for col in OUT_COLUMNS[1:]:
        out[col] = pd.Series([None] * len(ids), dtype=object)
    if broken is not None:
        out["error"] = broken
        return out
    fields = customer_fields(ctx, ids)
    base = dict(extra or {})
    rows = []
    for cid, record in zip(ids, fields, strict=True):  # Jinja renders one message at a time
        rows.append(_one(templates, cid, record, base))
    return pd.DataFrame(rows, columns=OUT_COLUMNS) if rows else out


def normalized(customer_ids: Sequence[str]) -> list[str]:
    """The ids as ingest normalises them (``storage.ids``), over the whole column."""
    raw = pd.Series(list(customer_ids), dtype=object).astype(str)
    return raw.str.strip().str.replace(r"(?<=.)\.0+\Z", "", regex=True).tolist()


def preview(ctx: Context, template: str, customer_id: str,
            extra: Mapping[str, Any] | None = None, html_template: str | None = None,
            subject_template: str | None = None) -> dict[str, str | None]:
    """The message one customer would get, or :class:`InputError` naming the problem."""
    row = render(ctx, template, [customer_id], extra, html_template,
                 subject_template).iloc[0]
    if row["error"] is not None:
        raise InputError(f"preview for customer {row['customer_id']!r}: {row['error']}")
    return {k: (None if row[k] is None else str(row[k])) for k in OUT_COLUMNS[:-1]}


def _compile(text: str, html: str | None, subject: str | None
             ) -> tuple[dict[str, Any], str | None]:
    out: dict[str, Any] = {}
    for key, source, env in (("text", text, _ENV), ("html", html, _HTML_ENV),
                             ("subject", subject, _ENV)):
        if source is None:
            continue
        try:
            out[key] = env.from_string(source)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f" line {line}" if line else ""
            return out, f"{key} template{where}: {exc.message or exc}"
    return out, None


def _one(templates: Mapping[str, Any], cid: str, record: dict[str, Any] | None,
         base: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"customer_id": cid, "subject": None, "text": None, "html": None,
                           "error": None}
    if record is None:
        row["error"] = f"unknown customer {cid!r} (not in customers or customer_360)"
        return row
    values = {**record, **base, "customer": record}
    for key, template in templates.items():
        try:
            row[key] = template.render(values)
        except TemplateError as exc:
            row["error"] = f"{key} template: {exc.message or exc}"
            return {**row, "subject": None, "text": None, "html": None}
        except Exception as exc:  # a template's own arithmetic (1 / 0), say
            row["error"] = f"{key} template: {type(exc).__name__}: {exc}"
            return {**row, "subject": None, "text": None, "html": None}
    return row


def customer_fields(ctx: Context, ids: Sequence[str]) -> list[dict[str, Any] | None]:
    """Each customer's template fields (None for an unknown customer), NULLs left out."""
    request = pd.DataFrame({"raw": pd.Series(list(ids), dtype=object),
                            "pos": np.arange(len(ids), dtype=np.int64)})
    name = f"_render_{uuid.uuid4().hex}"
    with ctx.read() as con:
        con.register(name, request)
        try:
            profile = _profile(con, name)
            recs = _recommendations(con, name)
        finally:
            con.unregister(name)
    found = profile["_found"].to_numpy(dtype=bool)
    records = profile.drop(columns=["_found", "_pos"]).astype(object)
    records = records.where(records.notna(), None).to_dict("records")
    by_customer = (recs.groupby("customer_id", sort=False)
                   .apply(lambda g: g.to_dict("records"),
                          include_groups=False).to_dict() if not recs.empty else {})
    out: list[dict[str, Any] | None] = []
    for ok, rec in zip(found, records, strict=True):
        if not ok:
            out.append(None)
            continue
        clean = {str(k): v for k, v in rec.items() if v is not None}
        clean["recommendations"] = by_customer.get(rec["customer_id"], [])
        out.append(clean)
    return out


def _profile(con: Any, request: str) -> pd.DataFrame:
    sources = [t for t in ("customer_360", "customers") if has_table(con, t)]
    req = f"SELECT {id_sql('raw')} AS customer_id, pos FROM {ident(request)}"
    if not sources:
        return con.execute(f"SELECT customer_id, pos AS _pos, false AS _found FROM ({req}) r "
                           "ORDER BY pos").df()
    joins, picked, seen = [], [], {"customer_id", "pos", "_found"}
    for i, table in enumerate(sources):
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table]).fetchall()]
        new = [c for c in cols if c not in seen]
        seen.update(new)
        picked += [f"t{i}.{ident(c)}" for c in new]
        joins.append(f"LEFT JOIN {ident(table)} t{i} ON t{i}.customer_id = r.customer_id")
    found = " OR ".join(f"t{i}.customer_id IS NOT NULL" for i in range(len(sources)))
    cols_sql = ", ".join(["r.customer_id", *picked, f"({found}) AS _found", "r.pos AS _pos"])
    return con.execute(f"SELECT {cols_sql} FROM ({req}) r {' '.join(joins)} "
                       "ORDER BY r.pos").df()


def _recommendations(con: Any, request: str) -> pd.DataFrame:
    if not has_table(con, "recommendations"):
        return pd.DataFrame(columns=["customer_id"])
    name = ("p.name" if has_table(con, "products") else "NULL::VARCHAR")
    join = ("LEFT JOIN products p ON p.product_id = r.product_id"
            if has_table(con, "products") else "")
    return con.execute(f"""
        SELECT r.customer_id, r.rank, r.product_id, {name} AS name, r.score, r.reason
        FROM recommendations r {join}
        WHERE r.customer_id IN (SELECT {id_sql('raw')} FROM {ident(request)})
          AND r.rank <= {TOP_RECOMMENDATIONS}
        ORDER BY r.customer_id, r.rank""").df()
