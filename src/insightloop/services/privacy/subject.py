"""Who is erased and how to find them: the customer id (a whole token), their e-mail
addresses and names, as DuckDB (RE2) patterns and as byte patterns for files.

A byte pattern is built for each encoding a file may hold text in: UTF-8, UTF-16-LE and
UTF-32-LE (numpy stores ``<U`` arrays as UTF-32: a model's user index), plus the JSON
``\\uXXXX`` escape of a non-ASCII name and the URL-encoded e-mail.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from insightloop.storage.sql import literal

#: What replaces a found identifier inside other rows' free text.
MASK = "[erased]"
_ENCODINGS = (("utf-8", 1), ("utf-16-le", 2), ("utf-32-le", 4))
_WORD = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class Subject:
    """The customer being erased: id, e-mail addresses and names (from ``customers``)."""

    customer_id: str
    emails: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "emails": list(self.emails),
                "names": list(self.names)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Subject:
        return cls(str(data["customer_id"]), tuple(data.get("emails") or ()),
                   tuple(data.get("names") or ()))

    def sql_patterns(self) -> list[tuple[str, str]]:
        """``(kind, RE2 pattern)``: the id as a whole token, each e-mail and name."""
        out = [("customer_id", _token_sql(self.customer_id))]
        out += [("email", "(?i)" + _escape(e)) for e in self.emails]
        out += [("name", "(?i)" + (_token_sql(n) if n.isascii() else _escape(n)))
                for n in self.names]
        return out

    def byte_needles(self) -> list[tuple[str, bytes, bool]]:
        """``(kind, lower-case bytes, whole token)`` to find in raw file bytes (lowered),
        in every encoding (see the module). Only UTF-8 text is matched as a whole token:
        a numpy ``<U`` array packs its strings with no separator between them."""
        out: list[tuple[str, bytes, bool]] = []
        for kind, values, token in (("customer_id", (self.customer_id,), True),
                                    ("email", self.emails, False),
                                    ("name", self.names, True)):
            for value in values:
                low = value.lower()
                token = token and value.isascii()
                out += [(kind, low.encode(enc), token and enc == "utf-8")
                        for enc, _ in _ENCODINGS]
                out += [(kind, v.lower().encode("ascii"), False)
                        for v in {json.dumps(value)[1:-1], quote(value, safe="")} - {value}]
        return out


def _escape(value: str) -> str:
    """``value`` as a literal inside an RE2 pattern (only RE2's metacharacters escaped)."""
    return re.sub(r"([\\.^$*+?{}\[\]|()])", r"\\\1", value)


def _token_sql(value: str) -> str:
    return f"(^|[^0-9A-Za-z]){_escape(value)}([^0-9A-Za-z]|$)"


def scrub_sql(column: str, pattern: str) -> str:
    """An SQL expression: ``column`` (VARCHAR) with every match of ``pattern`` masked
    (applied twice: RE2 does not match a token whose left boundary the previous match used)."""
    once = f"regexp_replace({column}, {literal(pattern)}, {literal(_repl(pattern))}, 'g')"
    return f"regexp_replace({once}, {literal(pattern)}, {literal(_repl(pattern))}, 'g')"


def _repl(pattern: str) -> str:
    return f"\\1{MASK}\\2" if "([^0-9A-Za-z]|$)" in pattern else MASK


def find_in(data: bytes, needles: list[tuple[str, bytes, bool]]) -> set[str]:
    """The kinds of ``needles`` (:meth:`Subject.byte_needles`) found in ``data``."""
    low = data.lower()
    kinds: set[str] = set()
    for kind, needle, token in needles:
        if kind in kinds:
            continue
        pos = low.find(needle)
        while pos >= 0:
            end = pos + len(needle)
            if not token or ((pos == 0 or low[pos - 1] not in _WORD)
                             and (end >= len(low) or low[end] not in _WORD)):
                kinds.add(kind)
                break
            pos = low.find(needle, pos + 1)
    return kinds
