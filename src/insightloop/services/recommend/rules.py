"""Market-basket association rules over the warehouse's orders (cross-sell)."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insightloop.errors import WarehouseError
from insightloop.models.recommend.rules import association_rules
from insightloop.services.context import Context
from insightloop.services.recommend.data import load_catalogue
from insightloop.services.results import BasketRules
from insightloop.storage.warehouse import has_table


def basket_rules(ctx: Context, min_support: float = 0.01, min_confidence: float = 0.2,
                 min_lift: float = 1.0, max_rules: int = 50) -> BasketRules:
    """Association rules ``A -> B`` over order baskets (purchase lines, not cancelled)."""
    wh = ctx.warehouse
    with wh.connect(read_only=wh.exists) as con:
        if not has_table(con, "orders"):
            raise WarehouseError("no orders table; ingest orders first")
        lines = con.execute(
            "SELECT DISTINCT order_id, product_id FROM orders WHERE quantity > 0 AND "
            "coalesce(status, 'completed') <> 'cancelled' AND product_id IS NOT NULL").df()
    if lines.empty:
        raise WarehouseError("no purchase lines in orders; ingest orders first")
    o_codes, _ = pd.factorize(lines["order_id"])
    i_codes, items = pd.factorize(lines["product_id"].astype(str), sort=True)
    baskets = sp.csr_matrix((np.ones(len(lines), dtype=np.float32), (o_codes, i_codes)),
                            shape=(int(o_codes.max()) + 1, len(items)))
    rules = association_rules(baskets, np.asarray(items, dtype=object), min_support,
                              min_confidence, min_lift, max_rules)
    desc = load_catalogue(ctx).set_index("product_id")["description"]
    rules["antecedent_description"] = rules["antecedent"].map(desc)
    rules["consequent_description"] = rules["consequent"].map(desc)
    return {"baskets": int(baskets.shape[0]), "items": len(items),
            "min_support": min_support, "min_confidence": min_confidence,
            "rules": cast("list[dict[str, Any]]", rules.to_dict(orient="records"))}
