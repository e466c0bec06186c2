"""models/artifacts.py loads scipy only for sparse model parts (the registry, and with it the
server's start-up, do not pay for scipy), and sparse matrices still round-trip exactly."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from insightloop.models import artifacts
print('scipy' in sys.modules)
import numpy as np
import scipy.sparse as sp
m = sp.random(6, 5, density=0.4, format="csc", random_state=0, dtype=np.float32)
tree, arrays = artifacts.encode({"m": m, "a": np.arange(3)})
out = artifacts.decode(tree, arrays)
print(out["m"].format, out["m"].dtype, (out["m"] != m).nnz, out["a"].tolist())
"""


def test_sparse_round_trip_without_scipy_at_import() -> None:
    run = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True, timeout=120)
    assert run.stdout.split("\n")[:2] == ["False", "csc float32 0 [0, 1, 2]"]
