"""One normalisation of customer and product ids, for ingestion (SQL) and lookups (Python).

Spreadsheet exports write numeric ids as floats (``17850.0``), so an id whose text
ends in a dot followed only by zeros loses that tail: ``17850.0`` and ``17850.000``
become ``17850``; ``17850.5``, ``A.0B`` and ``.0`` keep their text (an id is never
emptied). Surrounding spaces (the Unicode space separators
that DuckDB's ``trim`` drops) are dropped. :func:`id_sql` is the rule as a SQL
expression for ingestion; the API and dashboard apply :func:`normalize_id` to every id
they receive, so a lookup finds what ingestion stored.

Examples
--------
>>> normalize_id(" 17850.0 ")
'17850'
>>> normalize_id("17850.05")
'17850.05'
>>> normalize_id("85123A")
'85123A'
"""

from __future__ import annotations

import re

_FLOAT_TAIL = re.compile(r"(?<=.)\.0+\Z", re.DOTALL)
# What DuckDB's trim() removes: the space separators (not tabs or newlines).
_SPACES = " \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"


def normalize_id(value: str) -> str:
    """``value`` stripped, with a trailing ``.0+`` dropped (see the module docstring)."""
    return _FLOAT_TAIL.sub("", value.strip(_SPACES))


def id_sql(expr: str) -> str:
    """The same normalisation as a vectorised DuckDB expression over the text ``expr``.

    ``expr`` must already be a safe SQL expression (a quoted column, a cast): it is
    inserted as is.
    """
    return rf"regexp_replace(trim({expr}), '(.)\.0+$', '\1')"
