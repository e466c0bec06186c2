"""Plain-language audiences: a request (English or Chinese) becomes a filter in the audience
language (never SQL), validated against the live ``customer_360`` columns, previewed with
its count and members, and saved only when confirmed."""

from __future__ import annotations

import numpy as np

from insightloop.capabilities import personal_data_map
from insightloop.errors import ConfigError, InputError
from insightloop.features.audiences import FilterError
from insightloop.models.llm.contract import AUDIENCE_SCHEMA, Catalogue, Provider
from insightloop.models.llm.prompt import audience_messages
from insightloop.services.audiences import (
    audience_ids,
    audience_schema,
    create_audience,
    describe_audience,
)
from insightloop.services.context import Context
from insightloop.services.engagement.consent import withdrawn_ids
from insightloop.services.results.assistant import AudienceFromText
from insightloop.settings import LLMSettings
from insightloop.storage.sql import ident

__all__ = ["MAX_VALUES", "audience_catalogue", "audience_from_text", "propose_filter"]

#: A text column with at most this many distinct values has them listed in the catalogue.
MAX_VALUES = 60
_TEXT = ("VARCHAR", "TEXT", "STRING")


def _personal() -> frozenset[str]:
    return frozenset(c for info in personal_data_map().values() for c in info["personal"])


def audience_catalogue(ctx: Context) -> Catalogue:
    """The filterable columns (no personal ones) with their types, and the distinct values
    of the text columns that have few (countries, segments, tiers), read in two queries."""
    personal = _personal()
    schema = {c: t for c, t in audience_schema(ctx).items() if c not in personal}
    values: dict[str, tuple[str, ...]] = {}
    with ctx.read() as con:
        own = {r[0] for r in con.execute("DESCRIBE customer_360").fetchall()}
        text = [c for c, t in schema.items() if str(t).upper().startswith(_TEXT)
                and c != "customer_id" and c in own]
        if text:
            counts = con.execute("SELECT " + ", ".join(
                f"count(DISTINCT {ident(c)})" for c in text) + " FROM customer_360").fetchone()
            few = [c for c, n in zip(text, counts or (), strict=True) if 0 < n <= MAX_VALUES]
            if few:
                lists = con.execute("SELECT " + ", ".join(
                    f"list(DISTINCT {ident(c)} ORDER BY {ident(c)}) FILTER "
                    f"(WHERE {ident(c)} IS NOT NULL)" for c in few)
                    + " FROM customer_360").fetchone()
                values = {c: tuple(map(str, v or ())) for c, v in
                          zip(few, lists or (), strict=True)}
    return Catalogue(schema, values, personal)


def propose_filter(ctx: Context, text: str, provider: Provider, settings: LLMSettings,
                   catalogue: Catalogue | None = None) -> tuple[str, str, float]:
    """``(where, explanation, seconds)`` the provider proposes for ``text`` (not yet run)."""
    if not text.strip():
        raise InputError("the request is empty: describe the customers you want, e.g. "
                         "\"UK customers who haven't bought in 3 months\"")
    cat = catalogue or audience_catalogue(ctx)
    done = provider.complete(audience_messages(text, cat), schema=AUDIENCE_SCHEMA,
                             grammar=cat, timeout=settings.timeout)
    parsed = done.parsed or {}
    return str(parsed.get("where", "")).strip(), str(parsed.get("explanation", "")), \
        done.latency_s


def audience_from_text(ctx: Context, text: str, provider: Provider, settings: LLMSettings,
                       *, save: str | None = None, confirm: bool = False
                       ) -> AudienceFromText:
    """The audience ``text`` asks for: the filter, its canonical form, the live count and
    the customer ids (without those who withdrew consent to marketing use of their data:
    ``excluded_for_consent`` says how many); saved as ``save`` only when ``confirm`` is
    true."""
    if save and not confirm:
        raise ConfigError(f"saving the audience {save!r} needs confirmation: look at the "
                          "preview, then add --yes")
    where, explanation, seconds = propose_filter(ctx, text, provider, settings)
    if not where:
        raise InputError(f"could not turn {text!r} into an audience filter ({explanation}); "
                         "rephrase it, or write the filter with `insightloop audiences count "
                         "--where ...`")
    try:
        preview = describe_audience(ctx, where, sample=0)
    except FilterError as exc:
        raise InputError(f"the {provider.name} provider proposed a filter the catalogue "
                         f"rejects ({where!r}): {exc}") from None
    withdrawn = withdrawn_ids(ctx, "marketing")
    every = audience_ids(ctx, where)
    ids = every if not withdrawn else \
        np.asarray(every, dtype=object)[~np.isin(every, withdrawn)].tolist()
    saved = None
    if save:
        done = create_audience(ctx, save, preview["canonical"],
                               description=f"from text ({provider.name}): {text}"[:500])
        saved = f"{done['name']} v{done['version']}"
    return {"request": text, "where": where, "canonical": preview["canonical"],
            "count": len(ids), "total": preview["total"], "customer_ids": ids,
            "excluded_for_consent": len(every) - len(ids),
            "explanation": explanation, "provider": provider.name,
            "latency_s": round(seconds, 4), "saved": saved}
