"""Campaign copy from a brief: subject lines and bodies filled into templates (and, with a
language model, written by it), every variant fact-checked (:mod:`.facts`), stored in the
warehouse table ``copy_variants`` and usable by a campaign only once a person approved it.

A brief is ``{"id", "lang": "en"|"zh", "facts": {"products": [...], "price", "was_price",
"discount_pct", "ends": "YYYY-MM-DD", "code", "claims": [...]}}``. A variant that fails
the check is stored with its problems and can never be approved.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from insightloop.errors import ConfigError, InputError, NotFoundError
from insightloop.models.llm.contract import Provider, ProviderError
from insightloop.services.assistant.evalset import load_eval
from insightloop.services.assistant.facts import check_copy
from insightloop.services.context import Context
from insightloop.storage.warehouse import has_table

__all__ = ["TABLE", "approve_variant", "approved_variants", "copy_pass_rate", "demo_copy",
           "generate_copy", "provider_variants", "template_variants"]

TABLE = "copy_variants"
_MONTH = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
_EN = (("{discount_pct:g}% off {product} until {ends_en}",
        "{product} is {discount_pct:g}% off until {ends_en}. Use code {code} at checkout."),
       ("{product}, now {currency}{price:.2f} (was {currency}{was_price:.2f})",
        "Get {product} for {currency}{price:.2f} instead of {currency}{was_price:.2f}."),
       ("Code {code}: {discount_pct:g}% off {product}",
        "Enter {code} at checkout for {discount_pct:g}% off {product} until {ends_en}."),
       ("{product} for {currency}{price:.2f}", "{product}, {currency}{price:.2f}."))
_ZH = (("{product}限时{discount_pct:g}%优惠，截至{ends_zh}",
        "{product}优惠{discount_pct:g}%，活动截至{ends_zh}，结账时输入优惠码{code}。"),
       ("{product}现价{currency}{price:.2f}（原价{currency}{was_price:.2f}）",
        "{product}现价{currency}{price:.2f}，原价{currency}{was_price:.2f}。"),
       ("优惠码{code}：{product}{discount_pct:g}%优惠",
        "输入{code}即享{product}{discount_pct:g}%优惠。"),
       ("{product}仅需{currency}{price:.2f}", "{product}，{currency}{price:.2f}。"))
_SYMBOL = {"GBP": "£", "EUR": "€", "USD": "$", "CNY": "¥"}


def _slots(facts: Mapping[str, Any]) -> dict[str, Any]:
    slots = dict(facts)
    products = list(facts.get("products", ()))
    if products:
        slots["product"] = products[0]
    slots["currency"] = _SYMBOL.get(str(facts.get("currency", "GBP")).upper(), "£")
    if facts.get("ends"):
        end = dt.date.fromisoformat(str(facts["ends"]))
        slots["ends_en"] = f"{end.day} {_MONTH[end.month - 1]}"
        slots["ends_zh"] = f"{end.month}月{end.day}日"
    return slots


def template_variants(brief: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every template of the brief's language whose slots the facts fill."""
    slots = _slots(brief.get("facts", {}))
    out = []
    for subject, body in _ZH if brief.get("lang") == "zh" else _EN:
        try:
            out.append({"subject": subject.format(**slots), "body": body.format(**slots),
                        "source": "template"})
        except (KeyError, ValueError, TypeError):
            continue
    return out


def provider_variants(brief: Mapping[str, Any], provider: Provider, n: int = 2,
                      timeout: float = 30.0) -> list[dict[str, str]]:
    """Subject lines a language model writes from the facts (checked like any other)."""
    facts = json.dumps(brief.get("facts", {}), ensure_ascii=False)
    lang = "Chinese" if brief.get("lang") == "zh" else "English"
    out = []
    for i in range(n):
        prompt = (f"Write one short marketing e-mail subject line in {lang} for this offer. "
                  f"Use only these facts: {facts}." + (" Make it different." if i else ""))
        try:
            done = provider.complete([{"role": "user", "content": prompt}], max_tokens=40,
                                     timeout=timeout)
        except ProviderError:
            continue
        line = done.text.strip().splitlines()[0].strip(" \"'") if done.text.strip() else ""
        if line:
            out.append({"subject": line, "body": "", "source": provider.name})
    return out


def _variants(brief: Mapping[str, Any], provider: Provider | None, timeout: float
              ) -> list[dict[str, str]]:
    if provider is None or provider.name == "rule":
        return template_variants(brief)
    return provider_variants(brief, provider, timeout=timeout)


def copy_pass_rate(briefs: Sequence[Mapping[str, Any]], provider: Provider | None = None,
                   timeout: float = 30.0) -> float | None:
    """Share of the variants generated from ``briefs`` that pass the fact check."""
    verdicts = [not check_copy(f"{v['subject']}\n{v['body']}", b.get("facts", {}))
                for b in briefs for v in _variants(b, provider, timeout)]
    return round(sum(verdicts) / len(verdicts), 4) if verdicts else None


def _known_products(ctx: Context) -> list[str]:
    with ctx.read() as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables"
                                            ).fetchall()}
        if "products" not in tables:
            return []
        cols = {r[0] for r in con.execute("DESCRIBE products").fetchall()}
        if "description" not in cols:
            return []
        rows = con.execute("SELECT DISTINCT description FROM products "
                           "WHERE length(description) > 5").fetchall()
    return [str(r[0]) for r in rows]


def generate_copy(ctx: Context, brief: Mapping[str, Any], provider: Provider | None = None,
                  timeout: float = 30.0) -> list[dict[str, Any]]:
    """Variants for ``brief``, fact-checked (also against every product name the warehouse
    knows) and stored in ``copy_variants`` unapproved; returns them with their problems."""
    brief_id = str(brief.get("id") or "")
    if not brief_id or not isinstance(brief.get("facts"), dict):
        raise InputError("a copy brief needs an \"id\" and a \"facts\" object (products, "
                         "price, discount_pct, ends, code, claims)")
    known = _known_products(ctx)
    rows = []
    for i, v in enumerate(_variants(brief, provider, timeout), 1):
        problems = check_copy(f"{v['subject']}\n{v['body']}", brief["facts"], known)
        rows.append({"variant_id": f"{brief_id}-{i}", "brief_id": brief_id,
                     "subject": v["subject"], "body": v["body"], "source": v["source"],
                     "passed": not problems, "problems": "; ".join(problems),
                     "approved": False, "approved_by": None, "approved_at": None})
    _store(ctx, brief_id, rows)
    return rows


_DDL = (f"CREATE TABLE IF NOT EXISTS {TABLE} (variant_id VARCHAR PRIMARY KEY, "
        "brief_id VARCHAR, subject VARCHAR, body VARCHAR, source VARCHAR, passed BOOLEAN, "
        "problems VARCHAR, approved BOOLEAN, approved_by VARCHAR, approved_at TIMESTAMP)")


def _store(ctx: Context, brief_id: str, rows: Iterable[dict[str, Any]]) -> None:
    frame = pd.DataFrame(list(rows), columns=["variant_id", "brief_id", "subject", "body",
                                              "source", "passed", "problems", "approved",
                                              "approved_by", "approved_at"])
    frame["approved_at"] = pd.to_datetime(frame["approved_at"])
    with ctx.warehouse.transaction() as con:
        con.execute(_DDL)
        con.execute(f"DELETE FROM {TABLE} WHERE brief_id = ?", [brief_id])
        con.register("_copy_rows", frame)
        con.execute(f"INSERT INTO {TABLE} SELECT * FROM _copy_rows")
        con.unregister("_copy_rows")


def approve_variant(ctx: Context, variant_id: str, approved_by: str) -> dict[str, Any]:
    """Mark a variant approved by a named person; a variant that failed the check cannot be."""
    if not approved_by.strip():
        raise ConfigError("approving copy needs the approver's name (--by NAME)")
    with ctx.warehouse.transaction() as con:
        con.execute(_DDL)
        row = con.execute(f"SELECT passed, problems FROM {TABLE} WHERE variant_id = ?",
                          [variant_id]).fetchone()
        if row is None:
            raise NotFoundError(f"no copy variant {variant_id!r}; see `insightloop assistant "
                                "copy` output for the ids")
        if not row[0]:
            raise InputError(f"copy variant {variant_id!r} failed the fact check ({row[1]}) "
                             "and cannot be approved: fix the brief or the copy")
        now = dt.datetime.now().replace(microsecond=0)
        con.execute(f"UPDATE {TABLE} SET approved = true, approved_by = ?, approved_at = ? "
                    "WHERE variant_id = ?", [approved_by.strip()[:200], now, variant_id])
    return {"variant_id": variant_id, "approved": True, "approved_by": approved_by.strip(),
            "approved_at": now.isoformat()}


def list_variants(ctx: Context, brief_id: str) -> list[dict[str, Any]]:
    """Every stored variant of a brief with its fact-check verdict and approval."""
    with ctx.read() as con:
        if not has_table(con, TABLE):
            return []
        frame = con.execute(f"SELECT variant_id, brief_id, subject, body, source, passed, "
                            f"problems, approved, approved_by, CAST(approved_at AS VARCHAR) "
                            f"AS approved_at FROM {TABLE} WHERE brief_id = ? "
                            "ORDER BY variant_id", [brief_id]).df()
    frame = frame.astype(object).where(frame.notna(), None)
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def check_text(ctx: Context, text: str, facts: Mapping[str, Any]) -> list[str]:
    """What ``text`` states that ``facts`` (and the product names the warehouse knows) do
    not back: empty when the copy may be approved."""
    return check_copy(text, facts, _known_products(ctx))


def approved_variants(ctx: Context, brief_id: str) -> list[dict[str, Any]]:
    """The approved variants of a brief: the only copy a campaign may use."""
    with ctx.read() as con:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                           "table_name = ?", [TABLE]).fetchone()[0]:  # type: ignore[index]
            return []
        frame = con.execute(f"SELECT variant_id, subject, body FROM {TABLE} WHERE brief_id = ? "
                            "AND approved AND passed ORDER BY variant_id", [brief_id]).df()
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def demo_copy(ctx: Context, briefs: int = 2) -> dict[str, Any]:
    """The demo's stage: variants for the first shipped briefs (templates, fact-checked,
    unapproved), so ``copy_variants`` exists with real rows."""
    rows = [row for brief in load_eval("copy_briefs")[:briefs]
            for row in generate_copy(ctx, brief)]
    return {"table": TABLE, "briefs": briefs, "variants": len(rows),
            "passed": sum(bool(r["passed"]) for r in rows),
            "hint": "approve one with `insightloop assistant approve VARIANT --by NAME`"}
