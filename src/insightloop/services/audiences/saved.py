"""Saved audiences: named, versioned filters in the operational store.

Saving a name again with a filter whose canonical form differs writes the next version;
the same filter (however it is spelled) writes nothing. A filter is checked against the
live warehouse before it is saved, and the count it had then is kept with the version.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
from sqlalchemy import Connection, Row, delete, func, insert, select

from insightloop.errors import ConfigError, NotFoundError, WarehouseError
from insightloop.services.audiences.live import (
    audience_frame,
    describe_audience,
    describe_audiences,
)
from insightloop.services.context import Context
from insightloop.services.results.audiences import (
    AudienceCount,
    AudienceDeleted,
    AudienceExport,
    AudienceInfo,
    AudienceSaved,
    AudienceSummary,
    AudienceVersion,
)
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.audience_models import SavedAudience
from insightloop.storage.sql import literal

if TYPE_CHECKING:
    import pandas as pd

ExportFormat = Literal["csv", "parquet"]
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
MAX_DESCRIPTION = 2_000


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(f"audience name {str(name)[:120]!r} is not allowed: use 1-100 "
                          "letters, digits, '_', '.', ':' or '-', starting with a letter or "
                          "digit")
    return name


_TABLE = SavedAudience.__table__


def _versions(conn: Connection, name: str) -> list[Row[Any]]:
    return list(conn.execute(select(*_TABLE.c).where(_TABLE.c.name == name)
                             .order_by(_TABLE.c.version)))


def _version(row: Row[Any]) -> AudienceVersion:
    return {"version": row.version, "filter": row.filter, "canonical": row.canonical,
            "description": row.description, "created_at": row.created_at.isoformat(),
            "created_by": row.created_by, "last_count": row.last_count}


def _missing(name: str, version: int | None = None) -> NotFoundError:
    what = f"audience {name!r}" + (f" version {version}" if version is not None else "")
    return NotFoundError(f"no {what}; see `insightloop audiences list`")


def create_audience(ctx: Context, name: str, where: str, description: str = "",
                    created_by: str = "") -> AudienceSaved:
    """Save ``where`` under ``name``: version 1, the next version when the filter differs
    from the latest one, nothing new when it is the same filter."""
    _check_name(name)
    if len(description) > MAX_DESCRIPTION:
        raise ConfigError(f"an audience description holds at most {MAX_DESCRIPTION:,} "
                          f"characters, not {len(description):,}")
    live = describe_audience(ctx, where, sample=0)  # FilterError (exit 2) when it is wrong
    now = datetime.now().replace(microsecond=0)
    with open_ops(ctx.settings).write(lock=f"audience:{name}") as conn:
        rows = _versions(conn, name)
        if rows and rows[-1].canonical == live["canonical"]:
            return {"name": name, "version": rows[-1].version, "created": False,
                    "canonical": live["canonical"], "count": live["count"]}
        version = rows[-1].version + 1 if rows else 1
        conn.execute(insert(SavedAudience).values(
            name=name, version=version, filter=where, canonical=live["canonical"],
            description=description, created_at=now, created_by=created_by[:200],
            last_count=live["count"], counted_at=now))
    return {"name": name, "version": version, "created": True,
            "canonical": live["canonical"], "count": live["count"]}


def _live(ctx: Context, canonical: str, sample: int) -> tuple[int | None, list[str],
                                                               str | None]:
    try:
        now = describe_audience(ctx, canonical, sample=sample)
    except (ConfigError, WarehouseError) as exc:  # a column it uses is gone, no profiles
        return None, [], str(exc)
    return now["count"], now["sample"], None


def get_audience(ctx: Context, name: str, version: int | None = None, live: bool = True,
                 sample: int = 10) -> AudienceInfo:
    """A saved audience (latest version unless ``version``), its versions and, ``live``,
    the count now and the first ``sample`` members."""
    with open_ops(ctx.settings).read() as conn:
        rows = _versions(conn, _check_name(name))
    if not rows:
        raise _missing(name)
    chosen = rows[-1] if version is None else next(
        (r for r in rows if r.version == version), None)
    if chosen is None:
        raise _missing(name, version)
    count, members, error = _live(ctx, chosen.canonical, sample) if live else (None, [], None)
    return {"name": name, **_version(chosen), "versions": [_version(r) for r in rows],
            "count": count, "sample": members, "live_error": error}  # type: ignore[typeddict-item]


def list_audiences(ctx: Context, live: bool = True) -> list[AudienceSummary]:
    """Every saved audience (latest version) by name, with its live count when ``live``."""
    with open_ops(ctx.settings).read() as conn:
        latest = select(SavedAudience.name, func.max(SavedAudience.version).label("v")) \
            .group_by(SavedAudience.name).subquery()
        rows = list(conn.execute(
            select(*_TABLE.c).join(latest, (_TABLE.c.name == latest.c.name)
                                   & (_TABLE.c.version == latest.c.v))
            .order_by(_TABLE.c.name)))
    out: list[AudienceSummary] = []
    now: list[AudienceCount | str] = []
    if live and rows:
        try:
            now = describe_audiences(ctx, [row.canonical for row in rows])
        except WarehouseError as exc:  # no customer_360 (yet)
            now = [str(exc)] * len(rows)
    for i, row in enumerate(rows):
        found = now[i] if now else None
        count = found["count"] if isinstance(found, dict) else None
        error = found if isinstance(found, str) else None
        out.append({"name": row.name, "version": row.version, "versions": row.version,
                    "canonical": row.canonical, "description": row.description,
                    "created_at": row.created_at.isoformat(), "last_count": row.last_count,
                    "count": count, "live_error": error})
    return out


def delete_audience(ctx: Context, name: str) -> AudienceDeleted:
    """Delete every version of ``name`` (NotFoundError when there is none)."""
    with open_ops(ctx.settings).write(lock=f"audience:{_check_name(name)}") as conn:
        gone = conn.execute(delete(SavedAudience).where(SavedAudience.name == name)).rowcount
    if not gone:
        raise _missing(name)
    return {"name": name, "versions": int(gone)}


def export_audience(ctx: Context, name: str, path: str | Path, format: ExportFormat = "csv",
                    columns: Sequence[str] = (), version: int | None = None) -> AudienceExport:
    """Write the members of a saved audience (customer_id and ``columns``) to ``path`` as
    CSV or Parquet; personal columns (``email``, ...) only when named in ``columns``. The
    file appears complete or not at all (written beside it, then renamed)."""
    if format not in ("csv", "parquet"):
        raise ConfigError(f"export format {format!r} is not supported: use csv or parquet")
    info = get_audience(ctx, name, version, live=False)
    frame = audience_frame(ctx, info["canonical"], columns)
    target = write_members(frame, path, format, name)
    return {"name": name, "version": info["version"], "path": str(target), "format": format,
            "rows": len(frame), "columns": list(frame.columns)}


def write_members(frame: pd.DataFrame, path: str | Path, format: str, name: str) -> Path:
    """Write ``frame`` to ``path`` as CSV or Parquet: complete or not at all (written beside
    it, then renamed); returns the file."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise ConfigError(f"{target} is a folder; give a file name such as {target / name}."
                          f"{format}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with duckdb.connect() as mem:
            mem.register("members", frame)
            options = "FORMAT parquet" if format == "parquet" else "FORMAT csv, HEADER true"
            mem.execute(f"COPY members TO {literal(str(partial))} ({options})")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
