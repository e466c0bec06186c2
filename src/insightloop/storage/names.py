"""Column names read from a file, made safe and unique for the staging table.

DuckDB compares identifiers case-insensitively, so ``Email`` and ``email`` would be
one column; the staging table also has our own ``__line`` column and DuckDB's
``rowid`` pseudo-column. :func:`clean_names` gives every file column a distinct name
(``email_2``), says so in a note, and never changes a name it does not have to.

Examples
--------
>>> clean_names("f.csv", ["Email", "email", "", "__line", " id "])[0]
['Email', 'email_2', 'column3', '__line_2', 'id']
"""

from __future__ import annotations

from os import PathLike

from insightloop.errors import InputFileError

MAX_NAME_CHARS = 1_000
MAX_COLUMNS = 4_096
RESERVED = ("__line", "rowid")


def clean_names(path: str | PathLike[str], names: list[str]) -> tuple[list[str], list[str]]:
    """Unique (case-insensitively), non-blank, NUL-free names of at most 1,000 characters.

    Returns ``(names, notes)``; a file with more than :data:`MAX_COLUMNS` columns is
    refused with :class:`InputFileError`.
    """
    if len(names) > MAX_COLUMNS:
        raise InputFileError(
            f"{path}, line 1: the file has {len(names):,} columns; at most {MAX_COLUMNS:,} "
            "are supported. Keep only the columns you need, or check the delimiter")
    notes: list[str] = []
    seen: set[str] = {r.lower() for r in RESERVED}
    counts: dict[str, int] = {}
    out: list[str] = []
    renamed: list[str] = []
    for i, original in enumerate(names):
        name = original.replace("\x00", "").strip()
        if len(name) > MAX_NAME_CHARS:
            notes.append(f"column {i + 1}'s name was {len(name):,} characters long and was "
                         f"cut to its first {MAX_NAME_CHARS:,}")
            name = name[:MAX_NAME_CHARS]
        if "\x00" in original:
            notes.append(f"column {i + 1}'s name contained NUL characters; they were removed")
        name = name or f"column{i + 1}"
        base = name
        while name.lower() in seen:
            counts[base.lower()] = counts.get(base.lower(), 1) + 1
            name = f"{base}_{counts[base.lower()]}"
        if name != base:
            renamed.append(f"{base!r} -> {name!r} (column {i + 1})")
        seen.add(name.lower())
        out.append(name)
    if renamed:
        notes.append("column names must be unique ignoring case and must not be __line or "
                     "rowid; renamed: " + ", ".join(renamed[:10])
                     + (f" and {len(renamed) - 10} more" if len(renamed) > 10 else ""))
    return out, notes
