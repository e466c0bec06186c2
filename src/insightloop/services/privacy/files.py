"""The file side of an erasure: model versions holding the customer retired, the serving
store rebuilt, the report and other files holding them removed, and a byte search of every
file under the warehouse folder (and the model and report folders), compressed ones
(gzip, zip members: ``.npz`` arrays, ``.xlsx``) decompressed.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from insightloop.services.context import Context
from insightloop.services.privacy.subject import Subject, find_in
from insightloop.services.registry import METADATA, rebuild_command

_MAX_INNER = 2 << 30  # do not inflate a member past 2 GiB (a zip bomb is not searched)


def roots(ctx: Context) -> list[Path]:
    """Folders searched: the warehouse's, the model registry's and the report's."""
    found: list[Path] = []
    for folder in (Path(ctx.settings.warehouse).parent, Path(ctx.settings.models_dir),
                   Path(ctx.settings.reports_dir)):
        folder = folder.absolute()
        if folder.is_dir() and not any(folder.is_relative_to(f) for f in found):
            found = [f for f in found if not f.is_relative_to(folder)] + [folder]
    return found


def _files(ctx: Context) -> Iterator[Path]:
    for root in roots(ctx):
        yield from (p for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink())


def _layers(data: bytes, name: str) -> Iterator[tuple[str, bytes]]:
    """The bytes of a file and of what it compresses (gzip, zip members, a zlib stream)."""
    yield name, data
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                yield from _layers(fh.read(_MAX_INNER), name + "!gunzip")
        except (OSError, EOFError):
            return
    elif data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if info.file_size <= _MAX_INNER:
                        yield from _layers(zf.read(info), f"{name}!{info.filename}")
        except (zipfile.BadZipFile, OSError):
            return
    elif data[:1] == b"\x78" and data[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
        try:
            yield name + "!inflate", zlib.decompress(data)
        except zlib.error:
            return


def file_hits(path: Path, subject: Subject) -> list[str]:
    """The kinds of identifier (``customer_id``, ``email``, ``name``) found in ``path``."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    needles = subject.byte_needles()
    kinds: set[str] = set()
    for _, layer in _layers(data, path.name):
        kinds |= find_in(layer, needles)
    return sorted(kinds)


def search_files(ctx: Context, subject: Subject, skip: tuple[Path, ...] = ()
                 ) -> list[dict[str, Any]]:
    """Every file where the subject is found: ``{"file", "found"}``."""
    skipped = {p.absolute() for p in skip}
    return [{"file": str(p), "found": hits} for p in _files(ctx)
            if p.absolute() not in skipped and (hits := file_hits(p, subject))]


def retire_models(ctx: Context, subject: Subject) -> list[dict[str, Any]]:
    """Remove every model version whose files hold the customer (a user index, factors,
    scores, cached embeddings); each with the command that trains it again."""
    root = Path(ctx.settings.models_dir)
    retired: list[dict[str, Any]] = []
    if not root.is_dir():
        return retired
    for meta_file in sorted(root.glob(f"*/v*/{METADATA}")):
        folder = meta_file.parent
        if not any(file_hits(p, subject) for p in folder.rglob("*") if p.is_file()):
            continue
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        retired.append({"model": folder.parent.name, "version": folder.name,
                        "retrain": rebuild_command(meta) if meta else
                        f"retrain {folder.parent.name}"})
        shutil.rmtree(folder)
    return retired


def remove_serving(ctx: Context) -> str:
    """Remove the serving store (``<warehouse stem>.serving.sqlite``, as
    ``services.serving.store_path`` names it): its rows are zlib-compressed per customer,
    so it is removed rather than searched, and built again by the caller."""
    path = Path(ctx.settings.warehouse)
    path = path.with_name(path.stem + ".serving.sqlite")
    if not path.exists():
        return "absent"
    path.unlink()
    return "removed"


def remove_files(ctx: Context, subject: Subject, keep: tuple[Path, ...]) -> list[str]:
    """Remove every other file holding the subject (the report, exports, copies): the
    report is written again by the caller; returns the paths removed."""
    removed = []
    for hit in search_files(ctx, subject, skip=keep):
        Path(hit["file"]).unlink(missing_ok=True)
        removed.append(hit["file"])
    return removed
