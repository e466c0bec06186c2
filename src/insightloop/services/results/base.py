"""What every result module shares: numbers that may be integral, open (extensible) types."""

from __future__ import annotations

from pydantic import ConfigDict

#: A number that can be integral or not in the data (money, shares, scores): validation
#: never turns ``0`` into ``0.0``, so a body stays byte-identical to what a service built.
Number = int | float
#: Types whose rows come from tables that capabilities extend allow extra keys.
_OPEN = ConfigDict(extra="allow")
