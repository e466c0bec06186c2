"""``privacy scan`` and ``privacy map``: where personal data lives, declared and detected.

The declared part comes from the capability declarations (:func:`personal_data_map`); the
detected part from :mod:`.detect` over the declared personal columns of every table (free
text, raw quarantine lines, JSON properties), or over every text column of one table.
"""

from __future__ import annotations

from typing import Any

from insightloop.capabilities import personal_data_map
from insightloop.errors import NotFoundError
from insightloop.services.context import Context
from insightloop.services.privacy.detect import KINDS
from insightloop.services.privacy.detect import scan as detect_in
from insightloop.services.privacy.warehouse import text_columns
from insightloop.storage.sql import ident


def scan_personal(ctx: Context, table: str | None = None) -> dict[str, Any]:
    """Rows holding each kind of personal data, per table and column: the declared personal
    columns of every table, or every text column of ``table``."""
    declared = personal_data_map()
    with ctx.read() as con:
        columns = text_columns(con)
        if table is not None:
            if table not in columns:
                raise NotFoundError(f"table {table!r} is not in the warehouse (or has no text "
                                    f"column); tables: {', '.join(sorted(columns))}")
            targets = {table: columns[table]}
        else:
            targets = {name: [c for c in d["personal"] if c in columns.get(name, ())]
                       for name, d in declared.items() if not d["view"]}
            targets = {k: v for k, v in targets.items() if v}
        found = detect_in(con, targets)
    return {"scanned": targets, "found": found, "kinds": list(KINDS)}


def personal_map(ctx: Context) -> dict[str, Any]:
    """Every declared table present in the warehouse: its owner, customer column, declared
    personal columns, rows, and the personal data detected in its personal columns."""
    declared = personal_data_map()
    detected = scan_personal(ctx)["found"]
    out: dict[str, Any] = {}
    with ctx.read() as con:
        present = set(text_columns(con))
        for name, d in declared.items():
            if name not in present:
                continue
            row = con.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()
            out[name] = {**d, "rows": int(row[0]) if row else 0,
                         "detected": detected.get(name, {})}
    return {"tables": out, "undeclared": sorted(present - set(declared))}
