"""The evaluation sets shipped with the product (``insightloop/data/assistant_eval``):
bilingual audience requests with gold filters, copy briefs with facts."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from insightloop.errors import InputError, InputFileError

__all__ = ["load_eval"]


def load_eval(name: str, path: Path | None = None) -> list[dict[str, Any]]:
    """The rows of a shipped evaluation file (``audiences``, ``copy_briefs``) or of ``path``."""
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(f"cannot read the evaluation file {path}: "
                                 f"{getattr(exc, 'strerror', None) or exc}") from None
    else:
        text = resources.files("insightloop.data").joinpath(
            f"assistant_eval/{name}.jsonl").read_text(encoding="utf-8")
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path or name}: line {number} is not JSON ({exc.msg})") \
                    from None
    return rows
