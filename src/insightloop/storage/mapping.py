"""Column mapping of a file to a canonical table: a mapping file, explicit ``--map`` pairs,
a preset, then same-name columns (case, spaces and punctuation ignored)."""

from __future__ import annotations

from pathlib import Path

import yaml

from insightloop.errors import ConfigError, SchemaError
from insightloop.storage.presets import Preset
from insightloop.storage.readers import DELIMITERS, StagedFile
from insightloop.storage.schema import TableSpec


def load_mapping_file(path: Path) -> dict[str, str]:
    """Read a YAML mapping: ``{canonical: source}``, optionally under a ``columns:`` key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read mapping file {path}: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(
            f"mapping file {path} must map canonical names to source column names, "
            "e.g. `columns: {order_id: InvoiceNo}`"
        )
    return {str(k): str(v) for k, v in data.items()}


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve_mapping(spec: TableSpec, staged: StagedFile, explicit: dict[str, str],
                    preset: Preset | None) -> dict[str, str]:
    """Canonical column → source column, from preset, explicit flags, then same-name columns."""
    mapping: dict[str, str] = dict(preset.mapping) if preset else {}
    unknown = sorted(set(explicit) - set(spec.names))
    if unknown:
        raise SchemaError(f"{staged.path}: mapping names unknown {spec.name} column(s) "
                          f"{unknown}; canonical columns are {spec.names}")
    mapping.update(explicit)
    by_norm = {_norm(c): c for c in staged.columns}
    for col in spec.names:
        if col not in mapping and _norm(col) in by_norm:
            mapping[col] = by_norm[_norm(col)]
    absent = {c: s for c, s in mapping.items() if s not in staged.columns}
    if absent:
        raise SchemaError(
            f"{staged.path}: mapped source column(s) not in the file: "
            + ", ".join(f"{s!r} (for {c})" for c, s in absent.items())
            + f"; the file's columns are {staged.columns}"
        )
    derived = set(preset.derived) if preset else set()
    missing = [c for c in spec.required if c not in mapping and c not in derived]
    if missing:
        hint = ""
        if len(staged.columns) == 1 and any(d in staged.columns[0] for d in DELIMITERS):
            hint = (" The header is a single column: the file probably uses another "
                    "delimiter; pass --delimiter.")
        raise SchemaError(
            f"{staged.path}, line 1: required {spec.name} column(s) {missing} not found; "
            f"the file's columns are {staged.columns}. Map them with --map CANONICAL=SOURCE "
            f"or --mapping FILE.{hint}"
        )
    return mapping
