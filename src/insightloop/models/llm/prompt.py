"""The audience prompt every model gets: the filter language, the live catalogue (as a JSON
block a server of ours can read back to constrain decoding) and worked examples."""

from __future__ import annotations

import json
import re

from insightloop.models.llm.contract import Catalogue, Message

__all__ = ["EXAMPLES", "audience_messages", "catalogue_from_messages"]

#: Worked examples (none of them is in the shipped evaluation set).
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("customers in Japan", "country = 'Japan'"),
    ("people who have not ordered for 4 months", "recency_days > 120"),
    ("shoppers who spent more than 750", "monetary > 750"),
    ("clients with at least 8 orders", "n_orders >= 8"),
    ("average order value below 120", "avg_order_value < 120"),
    ("customers whose return rate is above 10%", "return_rate > 0.1"),
    ("customers for more than 2 years", "tenure_days > 730"),
    ("customers at risk of churning in Spain", "churn_score >= 0.5 and country = 'Spain'"),
    ("VIP customers who bought in the last 10 days",
     "value_tier = 'high' and recency_days <= 10"),
    ("customers not in Italy with fewer than 4 orders",
     "not country = 'Italy' and n_orders < 4"),
)
_BLOCK = re.compile(r"<catalogue>(.*?)</catalogue>", re.S)
_SYSTEM = """You turn a marketer's request (English or Chinese) into an audience filter.
Filter language: column op value, joined with and / or / not and parentheses; op is one of
= != < <= > >=; also `col in ('a', 'b')`, `col between 1 and 5`; text in single quotes.
Months are 30 days, years 365; percentages are fractions (20% -> 0.2); at-risk means
churn_score >= 0.5; VIP means value_tier = 'high'. Never write SQL.
Answer only with JSON {{"where": "<filter>", "explanation": "<one sentence>"}}.
Columns and known values:
<catalogue>{catalogue}</catalogue>"""


def audience_messages(request: str, catalogue: Catalogue) -> list[Message]:
    """System prompt with the catalogue (personal columns left out), the examples as chat
    turns, then the request."""
    keep = {c: t for c, t in catalogue.columns.items() if c not in catalogue.personal}
    block = json.dumps({"columns": keep, "values": {k: list(v) for k, v in
                                                    catalogue.values.items() if k in keep}},
                       ensure_ascii=False)
    messages: list[Message] = [{"role": "system", "content": _SYSTEM.format(catalogue=block)}]
    for text, where in EXAMPLES:
        messages += [{"role": "user", "content": text},
                     {"role": "assistant", "content": json.dumps(
                         {"where": where, "explanation": text})}]
    messages.append({"role": "user", "content": request})
    return messages


def catalogue_from_messages(messages: list[Message]) -> Catalogue | None:
    """The catalogue a system message carries (as :func:`audience_messages` writes it)."""
    for message in messages:
        found = _BLOCK.search(message["content"]) if message["role"] == "system" else None
        if found:
            try:
                data = json.loads(found.group(1))
                return Catalogue(dict(data["columns"]),
                                 {k: tuple(v) for k, v in data.get("values", {}).items()})
            except (ValueError, KeyError, TypeError):
                return None
    return None
