from __future__ import annotations

import sys
from pathlib import Path

# The API tests' helpers (private warehouse copy, keys, client) serve these tests too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
