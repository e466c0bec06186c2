"""SQL that types and validates staged rows: ``__stage`` (all text) -> ``__typed``.

Every name in the SQL built here is a canonical column (ours) or a source column chosen
by a mapping; both reach SQL only through :func:`~insightloop.storage.sql.ident`, and
strings (timestamp formats, allowed values) through
:func:`~insightloop.storage.sql.literal`.

Timestamps written with a UTC offset (``2011-01-01 10:00:00+05:00``, ``...Z``,
``+0530``) are converted to UTC; timestamps without one are stored as written. Every
stored timestamp is naive UTC (see ``docs/data-model.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import duckdb

from insightloop.storage.ids import id_sql
from insightloop.storage.presets import Preset
from insightloop.storage.schema import ColumnSpec, TableSpec
from insightloop.storage.sql import ident, literal
from insightloop.storage.temp_sql import execute_temp

# Derived columns that apply whatever the source, when the file does not carry them.
DEFAULT_DERIVED: dict[str, dict[str, str]] = {
    "orders": {"status": "CASE WHEN quantity < 0 THEN 'returned' ELSE 'completed' END"},
}
UNTRIMMED = ("int", "float", "timestamp")  # types whose casts skip surrounding blanks
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")
MIN_TIMESTAMP = "1900-01-01"
MAX_LINE_AMOUNT = 1e12  # |quantity x unit_price| of an order line
# A date and time of day followed by a UTC offset: Z, +05, +0530, +05:30 (groups: the
# local time, the sign, hours and minutes of the offset).
ISO_START_RE = r"^\s*[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}([ T]|\s*$)"
OFFSET_RE = (r"^\s*(.*[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.][0-9]+)?)?)\s?"
             r"(?:[zZ]|([+-])([0-9]{2}):?([0-9]{2})?)\s*$")


def _utc_expr(raw: str) -> str:
    """``raw`` (text with a UTC offset) as a naive UTC timestamp; NULL when invalid.

    Plain arithmetic on the parsed offset: the session's time zone plays no part.
    """
    part = f"regexp_extract({raw}, {literal(OFFSET_RE)}, ['t', 'sign', 'hh', 'mm'])"
    minutes = (f"(coalesce(TRY_CAST(NULLIF({part}.hh, '') AS INTEGER), 0) * 60 + "
               f"coalesce(TRY_CAST(NULLIF({part}.mm, '') AS INTEGER), 0))")
    return (f"TRY_CAST({part}.t AS TIMESTAMP) - to_minutes(CASE WHEN {part}.sign = '-' "
            f"THEN -{minutes} ELSE {minutes} END)")


def iso_sql(raw: str) -> str:
    """Text ``raw`` read as an ISO 8601 timestamp; NULL when it is not one.

    With an offset: converted to UTC. Without: as written (never via the session's time
    zone, which a cast to TIMESTAMPTZ would apply).
    """
    # Only text starting with a 4-digit year: DuckDB's cast reads '02/01/24' as 0002-01-24.
    # Two cheap GLOB tests spare the regular expressions for most values: the plain
    # shapes (date, date and time, no offset: what the regexes would hand to the cast as
    # is) and text starting with one or two digits and a separator (not a 4-digit year).
    d2, d4 = "[0-9][0-9]", "[0-9][0-9][0-9][0-9]"
    plain = " OR ".join(f"{raw} GLOB {literal(shape)}" for shape in (
        f"{d4}-{d2}-{d2}[ T]{d2}:{d2}:{d2}", f"{d4}-{d2}-{d2}[ T]{d2}:{d2}", f"{d4}-{d2}-{d2}"))
    short = f"{raw} GLOB '[0-9][/.-]*' OR {raw} GLOB '[0-9][0-9][/.-]*'"
    return (f"CASE WHEN {plain} THEN TRY_CAST({raw} AS TIMESTAMP) WHEN {short} THEN NULL "
            f"WHEN NOT regexp_matches({raw}, {literal(ISO_START_RE)}) THEN NULL "
            f"WHEN regexp_matches({raw}, {literal(OFFSET_RE)}) THEN {_utc_expr(raw)} "
            f"ELSE TRY_CAST({raw} AS TIMESTAMP) END")


def strptime_sql(raw: str, formats: Sequence[str]) -> str:
    """Text ``raw`` read with the first of the strptime ``formats`` that fits; NULL if none."""
    return f"TRY_STRPTIME(trim({raw}), [{', '.join(literal(f) for f in formats)}])"


# strptime directives a fast reading can take: a regular expression per field (no field
# wider than strptime reads it), and where the field goes in the ISO text.
_FAST_FIELDS = {"%Y": ("([1-9][0-9]{3})", "Y"), "%m": ("([0-9]{1,2})", "m"),
                "%d": ("([0-9]{1,2})", "d"), "%H": ("([01]?[0-9]|2[0-3])", "H"),
                "%M": ("([0-5][0-9])", "M"), "%S": ("([0-5][0-9])", "S")}
_FAST_LITERALS = "/-. :T"


def fast_strptime_sql(raw: str, fmt: str) -> str | None:
    """``raw`` read with strptime format ``fmt`` by a regular expression and a cast, about
    eight times cheaper than ``TRY_STRPTIME``; None for a format it cannot take.

    It accepts a subset of what ``TRY_STRPTIME(raw, fmt)`` accepts (a four-digit year from
    1000, two-digit minutes and seconds, hours 0-23, no blanks around), with the same value;
    the cast refuses impossible dates (31 April, 29 February 2011). Whatever it does not
    accept gives NULL, so the caller falls back to ``TRY_STRPTIME``:
    ``COALESCE(fast, TRY_STRPTIME(...))`` equals ``TRY_STRPTIME`` alone.
    """
    pattern, order, i = "", [], 0
    while i < len(fmt):
        token = fmt[i:i + 2]
        if token in _FAST_FIELDS:
            regex, name = _FAST_FIELDS[token]
            if name in order:
                return None
            pattern += regex
            order.append(name)
            i += 2
        elif fmt[i] in _FAST_LITERALS:
            pattern += "[.]" if fmt[i] == "." else fmt[i]
            i += 1
        else:
            return None
    if not {"Y", "m", "d"} <= set(order):
        return None
    group = {name: f"\\{k + 1}" for k, name in enumerate(order)}
    iso = (f"{group['Y']}-{group['m']}-{group['d']} {group.get('H', '0')}:"
           f"{group.get('M', '00')}:{group.get('S', '00')}")
    # An anchored pattern that does not match leaves the text as it was: NULL then.
    rewritten = f"regexp_replace({raw}, {literal('^' + pattern + '$')}, {literal(iso)})"
    return f"TRY_CAST(NULLIF({rewritten}, {raw}) AS TIMESTAMP)"


def _typed_expr(col: ColumnSpec, raw: str, formats: Sequence[str] = ()) -> str:
    if col.type == "id":
        # Spreadsheet exports write numeric ids as floats ("17850.0", "17850.00"): the
        # rule of storage/ids.py, which the API applies to ids it receives. An id ending
        # in ".0+" ends in ".0" or "00"; the guard keeps the regex off all other ids.
        # The usual case, one trailing ".0" after anything but a line break, is cut
        # without the regex (the same result: it is what the regex removes).
        return (f"CASE WHEN suffix({raw}, '.0') AND NOT suffix({raw}, '.00') "
                f"AND NOT suffix({raw}, chr(10) || '.0') AND strlen({raw}) > 2 "
                f"THEN left({raw}, -2) "
                f"WHEN suffix({raw}, '.0') OR suffix({raw}, '00') THEN {id_sql(raw)} "
                f"ELSE {raw} END")
    if col.type in ("string",):
        return raw
    if col.type == "int":
        dbl = f"TRY_CAST({raw} AS DOUBLE)"
        # Not TRY_CAST(raw AS BIGINT): DuckDB rounds '2.5' to 3 instead of failing.
        return f"CASE WHEN {dbl} = round({dbl}) THEN TRY_CAST({dbl} AS BIGINT) END"
    if col.type == "float":
        dbl = f"TRY_CAST({raw} AS DOUBLE)"
        return f"CASE WHEN isfinite({dbl}) THEN {dbl} + 0.0 END"  # + 0.0: -0 becomes 0
    if col.type == "timestamp":
        if not formats:
            return iso_sql(raw)
        # Only the first format may go fast: strptime takes the first format that fits.
        fast = fast_strptime_sql(raw, formats[0])
        return (f"COALESCE({iso_sql(raw)}, {fast + ', ' if fast else ''}"
                f"{strptime_sql(raw, formats)})")
    if col.type == "bool":
        t = ", ".join(literal(w) for w in TRUE_WORDS)
        f = ", ".join(literal(w) for w in FALSE_WORDS)
        return (f"CASE WHEN lower({raw}) IN ({t}) THEN true "
                f"WHEN lower({raw}) IN ({f}) THEN false END")
    if col.type == "json":
        return f"CASE WHEN json_valid({raw}) THEN {raw} END"
    raise AssertionError(col.type)


def _error_expr(col: ColumnSpec, raw: str, fk_tables: set[str], tried: str = "") -> str:
    c = ident(col.name)
    tried_sql = f" || {literal(f' (formats tried: {tried})')}" if tried else ""
    checks = []
    if col.required:
        blank = f" OR ({c} IS NULL AND trim({raw}) = '')" if col.type in UNTRIMMED else ""
        checks.append(f"WHEN {raw} IS NULL{blank} THEN 'missing required value'")
    elif col.type in UNTRIMMED:
        checks.append(f"WHEN {c} IS NULL AND trim({raw}) = '' THEN NULL")
    checks.append(f"WHEN {raw} IS NOT NULL AND {c} IS NULL THEN "
                  f"'not a valid {col.type}: ' || {literal(chr(39))} || left({raw}, 60) || "
                  f"{literal(chr(39))}{tried_sql}")
    if col.minimum is not None:
        checks.append(f"WHEN {c} < {col.minimum} THEN 'value ' || {c} || ' is below the "
                      f"minimum {col.minimum:g}'")
    if col.maximum is not None:
        checks.append(f"WHEN {c} > {col.maximum} THEN 'value ' || {c} || ' is above the "
                      f"maximum {col.maximum:g}'")
    if col.nonzero:
        checks.append(f"WHEN {c} = 0 THEN 'zero is not allowed'")
    if col.allowed:
        allowed = ", ".join(literal(a) for a in col.allowed)
        checks.append(f"WHEN {c} NOT IN ({allowed}) THEN 'value ''' || {c} || ''' is not one "
                      f"of {', '.join(col.allowed)}'")
    if col.type == "timestamp":
        checks.append(f"WHEN {c} > now()::TIMESTAMP + INTERVAL 1 DAY THEN "
                      f"'timestamp ' || {c} || ' is in the future'")
        # Later stages hand timestamps to pandas (nanoseconds: years 1678-2261).
        checks.append(f"WHEN {c} < TIMESTAMP '{MIN_TIMESTAMP}' THEN "
                      f"'timestamp ' || {c} || ' is before {MIN_TIMESTAMP}'")
    if col.references and col.references[0] in fk_tables:
        rt, rc = col.references
        checks.append(f"WHEN {c} IS NOT NULL AND {c} NOT IN (SELECT {ident(rc)} FROM {ident(rt)}) "
                      f"THEN 'unknown {col.name} ''' || {c} || ''' (not in {rt})'")
    return "CASE " + " ".join(checks) + " END"


def _table_rules(spec: TableSpec) -> dict[str, str]:
    """Cross-column rules: column → SQL error expression (NULL when fine)."""
    if spec.name == "orders":
        return {"quantity": "CASE WHEN quantity < 0 AND status NOT IN ('cancelled', 'returned') "
                            "THEN 'negative quantity ' || quantity || ' on a ' || status || "
                            "' line (only cancelled/returned lines may be negative)' END",
                # Later stages compute the line amount in cents as a 64-bit integer.
                "unit_price": f"CASE WHEN abs(quantity * unit_price) > {MAX_LINE_AMOUNT:g} "
                              "THEN 'line amount quantity x unit_price = ' || "
                              "(quantity * unit_price) || ' is above the maximum "
                              f"{MAX_LINE_AMOUNT:g}' END"}
    return {}


def _row_hash(cols: list[str], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    parts = ", ".join(f"coalesce(CAST({prefix}{ident(c)} AS VARCHAR), chr(0))" for c in cols)
    return f"md5(concat_ws(chr(31), {parts}))"


def trim_sql(text: str) -> str:
    """``trim(text)``, computed only where it can change something (about four times
    cheaper on text without surrounding blanks). DuckDB's trim removes Unicode space
    separators only: in ASCII text that is the space, so ASCII text that neither starts
    nor ends with one is already trimmed; other text (byte length differs from the length
    in characters) is trimmed."""
    return (f"CASE WHEN prefix({text}, ' ') OR suffix({text}, ' ') OR strlen({text}) <> "
            f"length({text}) THEN trim({text}) ELSE {text} END")


def _line_numbers(con: duckdb.DuckDBPyConnection, raw: str,
                  to_id: Callable[[str], str]) -> tuple[str, str]:
    """SQL pieces (joins, expression) numbering lines 1..n within each order, in file order.

    ``raw``: the order id text of a ``__stage`` row ``s``; ``to_id``: its normalisation.
    Exports almost always write an order's lines together; for such an order the number
    is the line's offset from the order's first line, which needs only a hash aggregate
    over the orders (the id is normalised once per distinct text, not once per line). The
    few orders whose lines are interleaved with others' (or broken by a multi-line or
    rejected record) are numbered by a window over their own lines, kept in ``__ln``.
    Both give the same 1..n numbering; a window over every line costs about three times
    as much at 5M rows.
    """
    drop = "DROP TABLE IF EXISTS "
    for name in ("__orders", "__ln_groups", "__ln"):
        con.execute(drop + name)
    execute_temp(con, f"""
        CREATE TEMP TABLE __ln_groups AS
        SELECT {raw} AS __ln_raw, min(s.__line) AS f, max(s.__line) AS l, count(*) AS n
        FROM __stage s GROUP BY ALL
    """)
    execute_temp(con, f"""
        CREATE TEMP TABLE __orders AS
        SELECT {to_id('__ln_raw')} AS __ln_order, min(f) AS __ln_first,
               max(l) - min(f) + 1 = sum(n) AS __ln_contiguous
        FROM __ln_groups GROUP BY ALL
    """)
    joins = "LEFT JOIN __orders o ON o.__ln_order = t.order_id"
    if con.execute("SELECT 1 FROM __orders WHERE NOT __ln_contiguous LIMIT 1").fetchone() is None:
        return joins, "t.__line - o.__ln_first + 1"  # every order's lines are together
    execute_temp(con, f"""
        CREATE TEMP TABLE __ln AS
        SELECT s.__line AS __ln_line,
               row_number() OVER (PARTITION BY {to_id(raw)} ORDER BY s.__line) AS __ln
        FROM __stage s WHERE {raw} IN (
            SELECT __ln_raw FROM __ln_groups
            WHERE {to_id('__ln_raw')} IN (SELECT __ln_order FROM __orders
                                          WHERE NOT __ln_contiguous))
    """)
    return joins + " LEFT JOIN __ln ln ON ln.__ln_line = t.__line", (
        "CASE WHEN o.__ln_contiguous THEN t.__line - o.__ln_first + 1 ELSE ln.__ln END")


def keys_unique_by_construction(spec: TableSpec, cols: Mapping[str, str]) -> bool:
    """True when no two staged rows can share a key: the key holds ``line_no`` numbered
    from file order within each order (the file does not carry it), so repeats of a key
    within the file need not be looked for."""
    return "line_no" in spec.key and "line_no" in spec.derived_key and "line_no" not in cols


def build_typed(con: duckdb.DuckDBPyConnection, spec: TableSpec, cols: Mapping[str, str],
                pre: Preset | None, formats: Mapping[str, Sequence[str]],
                tried: Mapping[str, str] | None = None, stream: bool = False) -> list[str]:
    """Create ``__typed``: canonical typed columns, ``__reason`` and ``__column``.

    ``stream``: ``__typed`` keeps only the rows with an error (usually well under 1 %) and
    the temp view ``__typed_all`` types every row on the fly, for a load that reads the
    valid rows once (into an empty table): nothing as wide as the file is copied.

    ``formats``: per timestamp column, the strptime formats tried after ISO 8601
    (:mod:`~insightloop.storage.dates` decides them); ``tried`` describes them for the
    quarantine reason of a value that fits none.

    Returns the canonical columns the rows actually provide (mapped, derived or a
    derived key); the others are NULL placeholders.
    """
    derived = dict(DEFAULT_DERIVED.get(spec.name, {}))
    if pre:
        derived.update(pre.derived)
    # Casts to numbers and timestamps ignore surrounding blanks, so only text-like
    # columns pay for trim(); a blank-only value still reads as missing (see _error_expr).
    raw_sel = ", ".join(
        (f"NULLIF(CAST(s.{ident(src)} AS VARCHAR), '')"
         if spec.column(c).type in UNTRIMMED else
         f"NULLIF({trim_sql(f'CAST(s.{ident(src)} AS VARCHAR)')}, '')")
        + f" AS {ident('__raw_' + c)}"
        for c, src in cols.items()
    )
    typed_sel = ", ".join(
        f"{_typed_expr(spec.column(c), ident('__raw_' + c), formats.get(c, ()))}::"
        f"{spec.column(c).sql_type} AS {ident(c)}"
        for c in cols
    )
    rest = []
    placeholders: set[str] = set()
    hashed: list[str] = []
    ln_join = ""
    for col in spec.columns:
        if col.name in cols:
            continue
        if col.name in derived:
            rest.append(f"({derived[col.name]})::{col.sql_type} AS {ident(col.name)}")
        elif col.name in spec.derived_key and col.name == "line_no" and "order_id" in cols:
            source = ident(cols["order_id"])
            ln_join, line_no = _line_numbers(
                con, f"NULLIF({trim_sql(f'CAST(s.{source} AS VARCHAR)')}, '')",
                lambda raw: _typed_expr(spec.column("order_id"), raw))
            rest.append(f"{line_no} AS line_no")
        elif col.name in spec.derived_key and col.name == "line_no":
            rest.append("row_number() OVER (PARTITION BY order_id ORDER BY __line) AS line_no")
        elif col.name in spec.derived_key:
            # A content hash can only see columns defined in an earlier CTE.
            content = [c.name for c in spec.columns if c.name not in spec.key]
            hashed.append(f"{_row_hash(content)} AS {ident(col.name)}")
        else:
            rest.append(f"NULL::{col.sql_type} AS {ident(col.name)}")
            placeholders.add(col.name)
    fk_tables = {
        c.references[0] for c in spec.columns
        if c.references and c.references[0] != spec.name
        and (execute_temp(con, f"SELECT count(*) FROM {ident(c.references[0])}").fetchone()
             or [0])[0]
    }
    errs = [
        f"{_error_expr(spec.column(c), ident('__raw_' + c), fk_tables, (tried or {}).get(c, ''))}"
        f" AS {ident('__err_' + c)}"
        for c in cols
    ]
    for c, expr in _table_rules(spec).items():
        errs.append(f"{expr} AS {ident('__rule_' + c)}")
    err_names = [f"__err_{c}" for c in cols] + [f"__rule_{c}" for c in _table_rules(spec)]
    # Build reason text only for rows with an error (usually well under 1 %).
    any_error = " OR ".join(f"{ident(e)} IS NOT NULL" for e in err_names)
    reason = f"CASE WHEN {any_error} THEN concat_ws('; ', " + ", ".join(
        f"CASE WHEN {ident(e)} IS NOT NULL THEN "
        f"{literal(e.split('_', 3)[-1] + ': ')} || {ident(e)} END" for e in err_names
    ) + ") END"
    column = "COALESCE(" + ", ".join(
        f"CASE WHEN {ident(e)} IS NOT NULL THEN {literal(e.split('_', 3)[-1])} END"
        for e in err_names
    ) + ")"
    con.execute("DROP TABLE IF EXISTS __typed")
    con.execute("DROP VIEW IF EXISTS __typed_all")
    execute_temp(con, f"""
        CREATE TEMP {'VIEW __typed_all' if stream else 'TABLE __typed'} AS
        WITH r AS (SELECT s.__line, {raw_sel} FROM __stage s),
        t AS (SELECT *, {typed_sel} FROM r),
        d AS (SELECT t.*, {', '.join(rest) if rest else '1 AS __nothing'} FROM t {ln_join}),
        k AS (SELECT *{''.join(', ' + h for h in hashed)} FROM d),
        e AS (SELECT *, {', '.join(errs)} FROM k)
        SELECT __line, {', '.join(ident(c) for c in spec.names)},
               NULLIF({reason}, '') AS __reason, {column} AS __column
        FROM e
    """)
    if stream:
        con.execute("CREATE TEMP TABLE __typed AS FROM __typed_all WHERE __reason IS NOT NULL")
    return [c for c in spec.names if c not in placeholders]


