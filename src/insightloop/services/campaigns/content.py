"""What a campaign sends each customer: the variant's templates rendered by engagement's
:func:`~insightloop.services.engagement.render` (sandboxed Jinja2; a template error or a
missing field is an ``error`` for that customer, who is then ``failed`` with the reason,
never an exception for the run), and the e-mail addresses from ``customers.email``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from insightloop.errors import ConfigError
from insightloop.services.campaigns.spec import Variant
from insightloop.services.context import Context
from insightloop.services.engagement import render
from insightloop.storage.crypto import decrypt_column
from insightloop.storage.warehouse import has_table


def render_variant(ctx: Context, variant: Variant, customer_ids: Sequence[str],
                   extra: Mapping[str, Any]) -> pd.DataFrame:
    """``customer_id``, ``subject``, ``text``, ``html``, ``error`` in the order given."""
    out = render(ctx, variant.text, list(customer_ids), dict(extra),
                 html_template=variant.html, subject_template=variant.subject)
    return out.reset_index(drop=True)


def addresses(ctx: Context, customer_ids: Sequence[str]) -> pd.Series:
    """The trimmed ``customers.email`` of each customer, in the order given (None where
    there is none)."""
    request = pd.DataFrame({"customer_id": pd.Series(list(customer_ids), dtype=object)})
    if request.empty:
        return pd.Series([], dtype=object)
    name = f"_campaign_ids_{uuid.uuid4().hex}"
    with ctx.read() as con:
        if not has_table(con, "customers"):
            return pd.Series([None] * len(request), dtype=object)
        con.register(name, request.assign(pos=range(len(request))))
        try:
            found = con.execute(
                f"SELECT trim(CAST(c.email AS VARCHAR)) AS email FROM {name} r "
                "LEFT JOIN customers c ON c.customer_id = r.customer_id ORDER BY r.pos").df()
        finally:
            con.unregister(name)
    clear = pd.Series(decrypt_column(ctx.settings, found["email"].tolist()),
                      dtype=object).str.strip()
    return clear.where(clear.notna(), None)  # encrypted at rest: opened right here


COPY_TABLE = "copy_variants"


def approved_copy(ctx: Context, brief_id: str, html: str | None = None
                  ) -> tuple[Variant, ...]:
    """The assistant's copy for ``brief_id`` that passed its fact check and that a person
    approved (warehouse table ``copy_variants``), as campaign variants named by their
    ``variant_id``; unapproved copy never reaches a campaign."""
    with ctx.read() as con:
        rows = (con.execute(f"SELECT variant_id, subject, body FROM {COPY_TABLE} "
                            "WHERE brief_id = ? AND coalesce(approved AND passed, false) "
                            "ORDER BY variant_id", [brief_id]).fetchall()
                if has_table(con, COPY_TABLE) else [])
    if not rows:
        raise ConfigError(f"brief {brief_id!r} has no approved copy; write it with "
                          "`insightloop assistant copy` and approve variants with "
                          "`insightloop assistant approve VARIANT --by NAME`")
    return tuple(Variant(str(v), str(s or ""), str(b or ""), html) for v, s, b in rows)
