"""Model registry: versioned artifacts on disk with metadata and integrity hashes.

Layout::

    <settings.models_dir>/<name>/v<N>/model.npz          the estimator's arrays
    <settings.models_dir>/<name>/v<N>/model.json         its parameters and structure
    <settings.models_dir>/<name>/v<N>/metadata.json      see below
    <settings.models_dir>/<name>/v<N>/evaluation.parquet y, p (held-out or out-of-fold)

The estimator is saved by :mod:`insightloop.models.artifacts` (arrays + JSON, LightGBM's
text model, skops for scikit-learn parts: no arbitrary pickle) and read back with
``allow_pickle=False``. ``metadata.json`` holds name, version, created_at, task, target,
data window (as-of dates, horizon), features with their kinds, dropped columns, metrics,
threshold, library versions, the training-distribution summary used for drift, ``sha256``
of ``model.npz`` and ``files``: the sha256 of every other file of the folder, all checked
on every load. A version folder is written under a temporary name and renamed, so a crash
never leaves half a model.

Folders written by releases before this one hold a joblib ``model.pkl``: they load
read-only with a :class:`LegacyArtifactWarning` (hash checked first), or, when their
classes have changed, fail with the command that rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import warnings
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import insightloop
from insightloop.errors import ConfigError, FeatureMismatchError, InputFileError, NotFoundError
from insightloop.models.artifacts import ArtifactError, decode, dumps_tree, encode
from insightloop.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ARTIFACT = "model.npz"
STRUCTURE = "model.json"
LEGACY_ARTIFACT = "model.pkl"
METADATA = "metadata.json"
EVALUATION = "evaluation.parquet"


class LegacyArtifactWarning(UserWarning):
    """A model saved by an earlier release (joblib pickle) was loaded read-only."""


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on (read without importing them)."""
    return {"python": platform.python_version(), "insightloop": insightloop.__version__,
            "numpy": np.__version__, "pandas": pd.__version__,
            "scikit-learn": metadata.version("scikit-learn"),
            "lightgbm": metadata.version("lightgbm")}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_ref(ref: str) -> tuple[str, int | None]:
    """Split ``NAME[:VERSION]`` (version as ``3`` or ``v3``)."""
    name, _, version = ref.partition(":")
    if not _NAME.fullmatch(name):
        raise ConfigError(f"invalid model name {name!r}: use letters, digits, '_', '-', '.'")
    if not version:
        return name, None
    digits = version[1:] if version.lower().startswith("v") else version
    if not digits.isdigit():
        raise ConfigError(f"model version must be a number like 3 or v3, got {version!r}")
    return name, int(digits)


def _versions(root: Path, name: str) -> list[int]:
    folder = root / name
    if not folder.is_dir():
        return []
    found = [int(p.name[1:]) for p in folder.iterdir()
             if p.is_dir() and re.fullmatch(r"v\d+", p.name) and (p / METADATA).exists()]
    return sorted(found)


def save_model(settings: Settings, name: str, model: Any, metadata: dict[str, Any],
               evaluation: pd.DataFrame | None = None) -> dict[str, Any]:
    """Register ``model`` as the next version of ``name``; returns the full metadata.

    Raises
    ------
    ArtifactError
        The model holds a value that cannot be saved as arrays + JSON (nothing is written).
    """
    parse_ref(name)
    tree, arrays = encode(model)
    root = Path(settings.models_dir)
    version = (_versions(root, name) or [0])[-1] + 1
    final = root / name / f"v{version}"
    tmp = root / name / f".v{version}.tmp-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=False)
    try:
        with (tmp / ARTIFACT).open("wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
        (tmp / STRUCTURE).write_text(dumps_tree(tree), encoding="utf-8")
        if evaluation is not None:
            evaluation.to_parquet(tmp / EVALUATION, index=False)
        meta = {
            **metadata,
            "name": name,
            "version": version,
            "created_at": datetime.now().isoformat(timespec="seconds"),
            "libraries": library_versions(),
            "format": "arrays+json",
            "sha256": sha256_file(tmp / ARTIFACT),
            "files": {p.name: sha256_file(p) for p in sorted(tmp.iterdir())},
        }
        (tmp / METADATA).write_text(json.dumps(meta, indent=2, default=_json_default),
                                    encoding="utf-8")
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _json_default(value: Any) -> Any:
    """numpy scalars become Python numbers; anything else (dates, paths) its text."""
    return value.item() if hasattr(value, "item") else str(value)


def model_dir(settings: Settings, ref: str) -> Path:
    """Folder of ``NAME[:VERSION]`` (latest version when none is given)."""
    name, version = parse_ref(ref)
    versions = _versions(Path(settings.models_dir), name)
    if not versions:
        known = sorted(m["name"] for m in list_models(settings))
        raise NotFoundError(f"no model named {name!r} in {settings.models_dir}; "
                            f"registered: {known or 'none'}. Train one with `insightloop train`")
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise NotFoundError(f"model {name!r} has no version {version}; versions: {versions}")
    return Path(settings.models_dir) / name / f"v{version}"


def read_metadata(settings: Settings, ref: str) -> dict[str, Any]:
    """Metadata of ``NAME[:VERSION]``."""
    path = model_dir(settings, ref) / METADATA
    try:
        meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(f"cannot read model metadata {path}: {exc}") from exc
    return meta


def _check_file(path: Path, expected: Any) -> None:
    if not path.exists():
        raise InputFileError(f"model file {path} is missing; retrain the model")
    actual = sha256_file(path)
    if actual != expected:
        raise InputFileError(
            f"model file {path} has sha256 {actual[:12]}… but the registry recorded "
            f"{str(expected)[:12]}…; the file changed after training. Retrain it.")


def rebuild_command(meta: dict[str, Any]) -> str:
    """The command that trains the model of ``meta`` again."""
    task = meta.get("task")
    if task == "recommend":
        return "insightloop recommend build"
    if task in ("churn", "propensity", "response"):
        dates = " ".join(f"--as-of {str(d)[:10]}" for d in meta.get("as_of_dates") or [])
        parts = [f"insightloop train {task}", f"--name {meta.get('name')}",
                 f"--horizon-days {meta.get('horizon_days', 90)}", dates]
        return " ".join(p for p in parts if p)
    return f"insightloop train {task or 'TASK'} … --name {meta.get('name')} (as it was trained)"


def load_model(settings: Settings, ref: str) -> tuple[Any, dict[str, Any]]:
    """Load a registered model after checking the sha256 of its files; ``(model, metadata)``.

    Raises
    ------
    InputFileError
        A file is missing or its hash differs from the one registered, or an artifact of an
        earlier release cannot be read by this one (the message gives the rebuild command).
    """
    folder = model_dir(settings, ref)
    meta = read_metadata(settings, ref)
    if not (folder / ARTIFACT).exists() and (folder / LEGACY_ARTIFACT).exists():
        return _load_legacy(folder, meta), meta
    _check_file(folder / ARTIFACT, meta.get("sha256"))
    files: dict[str, str] = meta.get("files") or {}
    for fname in (STRUCTURE, *(f for f in files if f not in (ARTIFACT, STRUCTURE))):
        _check_file(folder / fname, files.get(fname))
    try:
        tree = json.loads((folder / STRUCTURE).read_text(encoding="utf-8"))
        with np.load(folder / ARTIFACT, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return decode(tree, arrays), meta
    except ArtifactError as exc:
        raise InputFileError(f"model {meta.get('name')}:v{meta.get('version')}: {exc}; "
                             f"rebuild it: {rebuild_command(meta)}") from None


def _load_legacy(folder: Path, meta: dict[str, Any]) -> Any:
    """A joblib ``model.pkl`` of an earlier release: hash-checked, loaded, with a warning."""
    import joblib  # lazy: joblib, only for artifacts of earlier releases

    artifact = folder / LEGACY_ARTIFACT
    _check_file(artifact, meta.get("sha256"))
    label = f"{meta.get('name')}:v{meta.get('version')}"
    if meta.get("task") == "recommend":  # rebuilt from the warehouse in one command
        raise InputFileError(f"model {label} was saved by an earlier insightloop release; "
                             f"rebuild it: {rebuild_command(meta)}")
    try:
        model = joblib.load(artifact)
    except (AttributeError, ImportError, TypeError, ValueError, EOFError) as exc:
        raise InputFileError(
            f"model {label} was saved by an earlier insightloop release in a format this one "
            f"cannot read ({type(exc).__name__}: {exc}); rebuild it: {rebuild_command(meta)}"
        ) from None
    warnings.warn(f"model {label} was saved by an earlier release (pickle); loaded read-only. "
                  f"Rebuild it to save it safely: {rebuild_command(meta)}",
                  LegacyArtifactWarning, stacklevel=3)
    return model


def load_evaluation(settings: Settings, ref: str) -> pd.DataFrame | None:
    """The stored evaluation predictions (``y``, ``p``) of a model, if any."""
    path = model_dir(settings, ref) / EVALUATION
    if not path.exists():
        return None
    recorded = (read_metadata(settings, ref).get("files") or {}).get(EVALUATION)
    if recorded is not None:  # folders of earlier releases recorded no hash for it
        _check_file(path, recorded)
    return pd.read_parquet(path)


def list_models(settings: Settings) -> list[dict[str, Any]]:
    """One summary per registered version, sorted by name then version."""
    root = Path(settings.models_dir)
    if not root.is_dir():
        return []
    out: list[dict[str, Any]] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _NAME.fullmatch(p.name)):
        for version in _versions(root, folder.name):
            meta = json.loads((folder / f"v{version}" / METADATA).read_text(encoding="utf-8"))
            metrics = meta.get("metrics", {})
            out.append({
                "name": meta.get("name"), "version": meta.get("version"),
                "task": meta.get("task"), "model": meta.get("model"),
                "created_at": meta.get("created_at"), "rows": metrics.get("rows"),
                "auc": metrics.get("auc"), "features": len(meta.get("features", {})),
            })
    return out


def check_features(metadata: dict[str, Any], columns: list[str]) -> None:
    """Raise :class:`FeatureMismatchError` unless ``columns`` hold every model feature.

    Extra columns are allowed (ignored); the message lists both sides.
    """
    wanted = list(metadata.get("features", {}))
    have = set(columns)
    missing = [c for c in wanted if c not in have]
    if missing:
        extra = sorted(have - set(wanted) - set(metadata.get("dropped", {})))
        raise FeatureMismatchError(
            f"model {metadata.get('name')}:v{metadata.get('version')} needs features the data "
            f"lacks: {missing}; columns the model does not use: {extra}. Score data with the "
            "columns it was trained on, or retrain."
        )
