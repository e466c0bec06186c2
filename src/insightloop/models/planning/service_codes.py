"""Service codes: order lines that are not goods (postage, fees, manual adjustments, gift
vouchers), left out of inventory plans and trends.

The rule comes from the data (Online Retail: 99 % of its stock codes are five digits, and
every code without a digit is postage ``POST``/``DOT``, carriage, a fee ``AMAZONFEE``,
``BANK CHARGES``, ``CRUK`` commission, a manual line ``M``, a discount ``D``, samples
``S``, bad debt ``B`` or ``PADS``; ``docs/planning.md``):

* **when at least** :data:`DIGIT_SHARE` **of the shop's product codes contain a digit**
  (digit-numbered catalogues), a code **without a digit** is a service code, and so are
  ``C2`` (carriage) and codes starting ``gift_`` (vouchers); the letter codes
  ``DCGSSBOY`` and ``DCGSSGIRL`` are goods (party bags);
* a shop whose codes are words (``GROW``, ``COAT``) has no automatic service codes;
* a **service-codes file** overrides both: one code a line, ``CODE`` or ``+CODE`` makes it a
  service code, ``-CODE`` keeps it as a product; ``#`` starts a comment. Codes compare
  case-insensitively, blanks trimmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from insightloop.errors import InputFileError

__all__ = ["DIGIT_SHARE", "ServiceCodes", "read_service_codes", "service_mask"]

DIGIT_SHARE = 0.9
SERVICE_WITH_DIGITS = frozenset({"C2"})
SERVICE_PREFIXES = ("GIFT_",)
GOODS_WITHOUT_DIGITS = frozenset({"DCGSSBOY", "DCGSSGIRL"})


@dataclass(frozen=True)
class ServiceCodes:
    """A user's overrides: codes made service codes, and codes kept as products."""

    add: frozenset[str] = field(default_factory=frozenset)
    keep: frozenset[str] = field(default_factory=frozenset)


def read_service_codes(path: Path | str) -> ServiceCodes:
    """Read a service-codes file (see the module's format)."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: service-codes file does not exist")
    add: set[str] = set()
    keep: set[str] = set()
    for number, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        code = line.split("#", 1)[0].strip()
        if not code:
            continue
        target, code = (keep, code[1:]) if code[0] == "-" else (add, code.lstrip("+"))
        code = code.strip().upper()
        if not code:
            raise InputFileError(f"{p}: line {number}: a sign without a code ({line!r}); "
                                 "write CODE, +CODE or -CODE")
        target.add(code)
    both = add & keep
    if both:
        raise InputFileError(f"{p}: {sorted(both)[0]!r} is both added and kept; keep one line")
    return ServiceCodes(frozenset(add), frozenset(keep))


def service_mask(codes: ArrayLike, overrides: ServiceCodes | None = None) -> NDArray[np.bool_]:
    """True where a product code is a service code (vectorised over the codes)."""
    s = pd.Series(np.asarray(codes, dtype=object)).astype(str).str.strip().str.upper()
    if s.empty:
        return np.zeros(0, dtype=bool)
    has_digit = s.str.contains(r"\d", regex=True)
    auto = bool(has_digit.mean() >= DIGIT_SHARE)
    mask = np.zeros(len(s), dtype=bool)
    if auto:
        mask = ((~has_digit & ~s.isin(GOODS_WITHOUT_DIGITS)) | s.isin(SERVICE_WITH_DIGITS)
                | s.str.startswith(SERVICE_PREFIXES)).to_numpy()
    if overrides is not None:
        mask = (mask | s.isin(overrides.add).to_numpy()) & ~s.isin(overrides.keep).to_numpy()
    return np.asarray(mask, dtype=bool)
