"""Timestamp formats decided from the data, for each text timestamp column of a file.

A value written in ISO 8601 (``2011-01-04 10:00:00``, with or without a UTC offset) is
always read as such. For the other values, every candidate *reading* (day-first
``DD/MM/YYYY``, month-first ``MM/DD/YYYY``, each with ``/``, ``-`` or ``.`` between, a
2- or 4-digit year and an optional time; a preset's own formats) is tested on **all** of
the column's values in one DuckDB pass (``try_strptime`` over the staged column, no loop
over rows):

* the reading that fits every value wins (when several fit every value but read none of
  them differently, as with ``01/01/2011``, it does not matter which);
* when several readings fit every value and read some value differently (``04/01/2011``:
  4 January or 1 April?), the file is refused with one line naming the file, the column,
  a sample value, both readings and the option to pass (``--date-format day-first``; job
  parameter ``date_format``);
* when no reading fits every value, the one fitting the most is used; if two tie and read
  some value differently, neither is used and the non-ISO values are quarantined;
* values no reading used fits are quarantined; the reason names the value and the
  formats tried.

A preset's formats are a hint (tried first, so they win when readings agree), never an
override that loads a date wrong. ``--date-format`` (named readings ``iso``,
``day-first``, ``month-first``, or strptime formats) decides instead of the data.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from insightloop.errors import ConfigError, InputFileError
from insightloop.storage.ingest_sql import build_typed, iso_sql, strptime_sql
from insightloop.storage.presets import Preset
from insightloop.storage.schema import TableSpec
from insightloop.storage.sql import ident
from insightloop.storage.temp_sql import execute_temp

ISO = "ISO 8601 (2011-01-31 08:26:00[+01:00])"
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")


def _family(first: str, second: str) -> tuple[str, ...]:
    # A 2-digit year is tried before a 4-digit one: %Y would read "10" as the year 10.
    return tuple(f"{first}{sep}{second}{sep}{year}{time}"
                 for sep, year, time in itertools.product("/-.", ("%y", "%Y"), _TIMES))


@dataclass(frozen=True)
class Reading:
    """A way to read dates: a name (what ``--date-format`` takes), a label, its formats."""

    name: str
    label: str
    formats: tuple[str, ...]


DAY_FIRST = Reading("day-first", "DD/MM/YYYY [HH:MM[:SS]]", _family("%d", "%m"))
MONTH_FIRST = Reading("month-first", "MM/DD/YYYY [HH:MM[:SS]]", _family("%m", "%d"))
READINGS = (DAY_FIRST, MONTH_FIRST)
#: Names ``--date-format`` accepts besides strptime formats.
NAMED = {"iso": (), DAY_FIRST.name: DAY_FIRST.formats, MONTH_FIRST.name: MONTH_FIRST.formats}


@dataclass
class DateDecision:
    """Per canonical timestamp column: the strptime formats tried after ISO 8601, and
    what was tried (for quarantine reasons); ``notes`` say what was decided."""

    formats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tried: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def explicit_formats(values: Sequence[str]) -> tuple[str, ...]:
    """``--date-format`` values as strptime formats: a named reading (``iso``,
    ``day-first``, ``month-first``) or a strptime format DuckDB accepts."""
    out: list[str] = []
    con = duckdb.connect()
    try:
        for value in values:
            if value.lower() in NAMED:
                out.extend(NAMED[value.lower()])
                continue
            if "%" not in value:
                raise ConfigError(f"--date-format {value!r} is neither one of "
                                  f"{', '.join(NAMED)} nor a strptime format like "
                                  "'%d/%m/%Y %H:%M'")
            try:
                con.execute("SELECT TRY_STRPTIME('2000-01-01', ?)", [value])
            except duckdb.Error as exc:
                raise ConfigError(
                    f"--date-format {value!r} is not a valid strptime format "
                    f"({str(exc).splitlines()[0]}); e.g. '%d/%m/%Y %H:%M' or day-first"
                ) from exc
            out.append(value)
    finally:
        con.close()
    return tuple(dict.fromkeys(out))


def _candidates(hint: Preset | None) -> list[Reading]:
    readings = list(READINGS)
    if hint and hint.timestamp_formats:
        own = [r for r in readings if set(hint.timestamp_formats) <= set(r.formats)]
        if own:  # the preset's reading is tried first: it wins where readings agree
            readings.remove(own[0])
            readings.insert(0, own[0])
        else:
            readings.insert(0, Reading(f"preset {hint.name}", ", ".join(
                hint.timestamp_formats), hint.timestamp_formats))
    return readings


def _describe(readings: Sequence[Reading]) -> str:
    return ", ".join([ISO, *(f"{r.name} {r.label}" for r in readings)])


def decide_formats(con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec,
                   cols: Mapping[str, str], given: Sequence[str] = (),
                   hint: Preset | None = None) -> DateDecision:
    """Decide how each mapped timestamp column of ``__stage`` is read (module docstring).

    ``given``: the ``--date-format`` values (named readings or strptime formats); when
    there are any, they decide instead of the data.
    """
    explicit = explicit_formats(given)
    decision = DateDecision()
    for canonical, source in cols.items():
        if spec.column(canonical).type != "timestamp":
            continue
        if explicit:
            decision.formats[canonical] = explicit
            decision.tried[canonical] = ", ".join([ISO, *given])
            continue
        readings = _candidates(hint)
        decision.tried[canonical] = _describe(readings)
        _decide_column(con, path, canonical, source, readings, decision)
    return decision


def typed_with_dates(con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec,
                     cols: Mapping[str, str], given: Sequence[str] = (),
                     hint: Preset | None = None, stream: bool = False
                     ) -> tuple[DateDecision, list[str]]:
    """Decide the timestamp formats (:func:`decide_formats`) and build ``__typed`` with
    them (:func:`~insightloop.storage.ingest_sql.build_typed`); returns the decision and
    the columns the rows provide.

    Without ``--date-format``, ``__typed`` is first built reading ISO 8601 only: when no
    timestamp value fails that reading (the usual export), that build has verified the
    whole column and is the same as the one the decision would lead to, so the separate
    decision pass over every value (a quarter of the typing cost) is skipped. Otherwise
    the data decides as :func:`decide_formats` describes and ``__typed`` is rebuilt when
    the decision reads dates another way. ``stream``: see ``build_typed``.
    """
    stamps = [c for c in cols if spec.column(c).type == "timestamp"]
    if given or not stamps:
        decision = decide_formats(con, path, spec, cols, given, hint)
        return decision, build_typed(con, spec, cols, hint, decision.formats, decision.tried,
                                     stream)
    tried = _describe(_candidates(hint))
    iso = DateDecision(formats={c: () for c in stamps}, tried={c: tried for c in stamps})
    provided = build_typed(con, spec, cols, hint, iso.formats, iso.tried, stream)
    failed = " OR ".join(f"{ident(c)} IS NULL" for c in stamps)
    if execute_temp(con, f"SELECT 1 FROM __typed WHERE __reason IS NOT NULL AND ({failed}) "
                         "LIMIT 1").fetchone() is None:
        return iso, provided
    decision = decide_formats(con, path, spec, cols, given, hint)
    if (decision.formats, decision.tried) != (iso.formats, iso.tried):
        provided = build_typed(con, spec, cols, hint, decision.formats, decision.tried,
                               stream)
    return decision, provided


def reading_of(values: Sequence[str], path: Path, column: str) -> Reading | None:
    """The reading of text dates ``values`` (a user file's column read outside ingest),
    decided by the same rules as :func:`decide_formats`: None when they are ISO 8601 or
    fit no reading; :class:`~insightloop.errors.InputFileError` when ambiguous."""
    con = duckdb.connect()
    try:
        con.execute("CREATE TEMP TABLE __stage AS SELECT unnest(?::VARCHAR[]) AS v",
                    [list(values)])
        decision = DateDecision()
        _decide_column(con, path, column, "v", READINGS, decision)
    finally:
        con.close()
    return next((r for r in READINGS if r.formats == decision.formats.get(column)), None)


def _decide_column(con: duckdb.DuckDBPyConnection, path: Path, canonical: str, source: str,
                   readings: Sequence[Reading], decision: DateDecision) -> None:
    raw = "raw"
    parsed = ", ".join(f"CASE WHEN iso IS NULL THEN {strptime_sql(raw, r.formats)} END AS r{i}"
                       for i, r in enumerate(readings))
    pairs = list(itertools.combinations(range(len(readings)), 2))
    fails = ", ".join(f"count(*) FILTER (WHERE iso IS NULL AND r{i} IS NULL)"
                      for i in range(len(readings)))
    none_fit = " AND ".join(f"r{i} IS NULL" for i in range(len(readings)))
    differ = "".join(f", count(*) FILTER (WHERE r{i} <> r{j}), "
                     f"any_value(raw) FILTER (WHERE r{i} <> r{j})" for i, j in pairs)
    row = execute_temp(con, f"""
        SELECT count(*) FILTER (WHERE iso IS NULL),
               any_value(raw) FILTER (WHERE iso IS NULL AND {none_fit}), {fails}{differ}
        FROM (SELECT raw, iso, {parsed} FROM (
            SELECT raw, {iso_sql(raw)} AS iso FROM (
                SELECT NULLIF(trim(CAST(s.{ident(source)} AS VARCHAR)), '') AS raw
                FROM __stage s) WHERE raw IS NOT NULL))
    """).fetchone()
    assert row is not None
    not_iso, bad_sample = int(row[0]), row[1]
    if not not_iso:
        decision.formats[canonical] = ()
        return
    n = len(readings)
    fail = [int(x) for x in row[2:2 + n]]
    differs = {pair: (int(row[2 + n + 2 * k]), row[3 + n + 2 * k])
               for k, pair in enumerate(pairs)}
    fewest = min(fail)
    best = [i for i in range(n) if fail[i] == fewest]
    where = f"{path.name}: column {source!r} ({canonical})"
    for i, j in itertools.combinations(best, 2):
        count, sample = differs[(i, j)]
        if count and not fewest:
            raise _ambiguous(con, path, canonical, source, readings[i], readings[j],
                             str(sample), count)
        if count:  # a messy column: no reading is used, the values it leaves quarantined
            decision.formats[canonical] = ()
            decision.tried[canonical] = (
                f"{ISO}; {readings[i].name} and {readings[j].name} fit as many values and "
                f"read some differently, so neither is used: pass --date-format "
                f"{readings[i].name} or {readings[j].name}")
            decision.notes.append(
                f"{where}: {not_iso:,} values are not ISO 8601 and the file does not decide "
                f"between {readings[i].name} and {readings[j].name} (e.g. {str(sample)!r}); "
                "they are quarantined; pass --date-format to read them")
            return
    if fewest == not_iso:  # no reading reads any value ISO 8601 does not
        decision.formats[canonical] = ()
        decision.notes.append(
            f"{where}: {not_iso:,} values are not dates in any format tried (e.g. "
            f"{bad_sample!r}); tried {decision.tried.get(canonical, _describe(readings))}; "
            "if they are dates, pass "
            "--date-format with their strptime format")
        return
    chosen = readings[best[0]]
    decision.formats[canonical] = chosen.formats
    decision.notes.append(
        f"{where}: dates read as {chosen.name} ({chosen.label}), the reading that fits "
        + ("every value" if not fewest else
           f"the most values; {fewest:,} fit no format tried (e.g. {bad_sample!r})"))


def _ambiguous(con: duckdb.DuckDBPyConnection, path: Path, canonical: str, source: str,
               a: Reading, b: Reading, sample: str, count: int) -> InputFileError:
    got = con.execute(f"SELECT {strptime_sql('?', a.formats)}::VARCHAR, "
                      f"{strptime_sql('?', b.formats)}::VARCHAR", [sample, sample]).fetchone()
    first, second = got if got else ("?", "?")
    return InputFileError(
        f"{path}: column {source!r} ({canonical}): dates are ambiguous: {sample!r} reads as "
        f"{first} {a.name} ({a.label}) and as {second} {b.name} ({b.label}), and the "
        f"file's values do not decide ({count:,} values read differently); pass "
        f"--date-format {a.name} or --date-format {b.name} (job parameter date_format); "
        "nothing was loaded")
