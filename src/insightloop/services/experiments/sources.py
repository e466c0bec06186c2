"""Where an experiment's units come from: a user's file (read with the one reader,
checked, registered in an in-memory DuckDB) or a campaign's sends in the warehouse (joined
with ``customer_360`` for CUPAC covariates and with ``events`` for unsubscribes).

Both end as a ``SELECT`` with the columns :mod:`.data` aggregates; bad input is refused
here with a one-line message naming the file, column and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, InputFileError, WarehouseError
from insightloop.storage.sql import ident
from insightloop.storage.user_table import read_user_table
from insightloop.storage.warehouse import has_table

SELECT_ALL = "SELECT * FROM __data"
#: Outcomes of table ``sends`` (booleans count as 0/1) and the guardrail from ``events``.
SEND_METRICS = ("converted", "revenue", "clicked", "opened", "unsubscribed")
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "BOOLEAN")


def choose_arms(where: str, column: str, counts: dict[str, int], control: str,
                treatments: Sequence[str], drop_others: bool) -> list[str]:
    """The variants to compare with ``control``, checked against the arms found."""
    values = sorted(counts)
    shown = ", ".join(repr(v) for v in values[:20]) + (" ..." if len(values) > 20 else "")
    for value, option in [(control, "--control"), *((t, "--treatment") for t in treatments)]:
        if counts.get(value, 0) == 0:
            raise ConfigError(f"{where}, column {column!r}: no row has the {option} value "
                              f"{value!r} (an empty arm); its values are: {shown}")
    if treatments:
        chosen = list(dict.fromkeys(treatments))
        others = [v for v in values if v != control and v not in chosen]
        if others and not drop_others:
            raise ConfigError(
                f"{where}, column {column!r} holds {len(values)} values ({shown}) but "
                f"{1 + len(chosen)} were asked for; add --treatment {others[0]!r} or pass "
                "--drop-others to leave its rows out")
    else:
        chosen = [v for v in values if v != control]
    if not chosen:
        raise ConfigError(f"{where}, column {column!r}: every row has the control value "
                          f"{control!r}; there is no variant to compare")
    if control in chosen:
        raise ConfigError(f"{where}: {control!r} is both the control and a treatment")
    for arm in [control, *chosen]:
        if counts[arm] < 2:
            raise ConfigError(f"{where}, column {column!r}: arm {arm!r} has {counts[arm]} row; "
                              "each arm needs at least 2")
    return chosen


def _numeric(where: str, frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64 (booleans as 0/1), or an error naming the first bad row."""
    col = frame[column]
    if col.dtype == bool:
        return np.asarray(col.to_numpy(dtype=np.float64))
    if col.dtype == object:  # text, or True/False with missing values
        is_bool = col.isin([True, False]).to_numpy()
        bad = col.notna().to_numpy() & ~is_bool
        values = np.where(is_bool, col.eq(True).to_numpy(), np.nan).astype(np.float64)
    else:
        bad = np.zeros(len(col), dtype=bool)
        values = col.to_numpy(dtype=np.float64)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ConfigError(f"{where}, column {column!r} is not numeric: data row {row + 1} holds "
                          f"{str(col.iloc[row])[:60]!r}; give a numeric or 0/1 column")
    missing = np.isnan(values)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputFileError(f"{where}, column {column!r}, data row {row + 1}: missing value "
                             f"({int(missing.sum()):,} in all); fill it (0 for none) or drop "
                             "the row")
    return np.asarray(values)


def file_source(path: Path | str, variant: str, control: str, metrics: Sequence[str],
                covariates: Sequence[str], ratios: Sequence[tuple[str, str]],
                treatments: Sequence[str], drop_others: bool, time: str | None
                ) -> tuple[duckdb.DuckDBPyConnection, list[str], int]:
    """An in-memory DuckDB holding ``__data`` (arm, ``m*``, ``x*``, ``r*``, ``__day``) of
    the file's rows in the compared arms; returns it, the variants and the row count."""
    where = str(path)
    parts = [p for pair in ratios for p in pair]
    wanted = list(dict.fromkeys([variant, *metrics, *covariates, *parts,
                                 *([time] if time else [])]))
    frame = read_user_table(path, columns=wanted, text_columns=[variant, *([time] if time
                                                                           else [])])
    arm = frame[variant]
    if arm.isna().any():
        row = int(np.flatnonzero(arm.isna().to_numpy())[0])
        raise InputFileError(f"{where}, column {variant!r}, data row {row + 1}: no arm value; "
                             "fill it or drop the row")
    arm = arm.astype(str)
    counts = {str(k): int(v) for k, v in arm.value_counts().items()}
    chosen = choose_arms(where, variant, counts, control, treatments, drop_others)
    keep = arm.isin([control, *chosen]).to_numpy()
    frame = frame.loc[keep].reset_index(drop=True)
    data: dict[str, np.ndarray] = {"__arm": arm[keep].to_numpy()}
    for i, m in enumerate(metrics):
        data[f"m{i}"] = _numeric(where, frame, m)
        if not np.any(data[f"m{i}"]):
            raise ConfigError(f"{where}, column {m!r}: every value is 0 in every arm; there is "
                              "nothing to compare (is it the outcome column?)")
    for j, x in enumerate(covariates):
        data[f"x{j}"] = _numeric(where, frame, x)
    for r, (a, b) in enumerate(ratios):
        data[f"r{r}n"], data[f"r{r}d"] = _numeric(where, frame, a), _numeric(where, frame, b)
        if not np.any(data[f"r{r}d"]):
            raise ConfigError(f"{where}, column {b!r}: every value is 0; a ratio metric needs "
                              "a denominator that is not always 0")
    if time:
        day = pd.to_datetime(frame[time], errors="coerce")
        if day.isna().any():
            row = int(np.flatnonzero(day.isna().to_numpy())[0])
            raise InputFileError(f"{where}, column {time!r}, data row {row + 1}: "
                                 f"{str(frame[time].iloc[row])[:40]!r} is not a date")
        data["__day"] = day.dt.date.to_numpy()
    con = duckdb.connect()
    con.register("__data", pd.DataFrame(data))
    return con, chosen, int(keep.sum())


def campaign_source(con: duckdb.DuckDBPyConnection, campaign: str, control: str,
                    metrics: Sequence[str], covariates: Sequence[str],
                    treatments: Sequence[str], drop_others: bool, window_days: int
                    ) -> tuple[str, list[object], list[str], int]:
    """The ``SELECT`` over one campaign's sends; returns it, its parameters, the variants
    and the number of sends compared."""
    where = f"campaign {campaign!r} (table sends)"
    if not has_table(con, "sends"):
        raise WarehouseError("the warehouse has no table sends; ingest campaign sends with "
                             "`insightloop ingest sends FILE`")
    counts = {str(a): int(n) for a, n in con.execute(
        "SELECT coalesce(variant, ''), count(*) FROM sends WHERE campaign_id = ? GROUP BY 1",
        [campaign]).fetchall()}
    if not counts:
        raise ConfigError(f"no sends of campaign {campaign!r}; check the id (table sends, "
                          "column campaign_id)")
    chosen = choose_arms(where, "variant", counts, control, treatments, drop_others)
    unknown = [m for m in metrics if m not in SEND_METRICS]
    if unknown:
        raise ConfigError(f"{where}: unknown metric {unknown[0]!r}; a campaign's metrics are: "
                          f"{', '.join(SEND_METRICS)}")
    cols = ["coalesce(s.variant, '') AS __arm"]
    for i, m in enumerate(metrics):
        if m == "unsubscribed":
            events = has_table(con, "events")
            cols.append(
                ("CAST(EXISTS (SELECT 1 FROM events e WHERE e.customer_id = s.customer_id "
                 "AND e.event_type = 'unsubscribe' AND e.event_time >= s.send_time AND "
                 f"e.event_time < s.send_time + INTERVAL {int(window_days)} DAY) AS DOUBLE)"
                 if events else "0.0") + f" AS m{i}")
        else:
            cols.append(f"CAST(coalesce(s.{ident(m)}, 0) AS DOUBLE) AS m{i}")
    join = ""
    if covariates:
        if not has_table(con, "customer_360"):
            raise WarehouseError("covariates come from customer_360, which is not built; run "
                                 "`insightloop profiles build`")
        types = dict(con.execute("SELECT column_name, data_type FROM "
                                 "information_schema.columns WHERE table_name = "
                                 "'customer_360'").fetchall())
        for j, x in enumerate(covariates):
            if x not in types:
                raise ConfigError(f"customer_360 has no column {x!r}; pre-period columns such "
                                  "as monetary, frequency, clv or churn_score can be covariates")
            if not str(types[x]).startswith(NUMERIC_TYPES) and not \
                    str(types[x]).startswith("DECIMAL"):
                raise ConfigError(f"customer_360 column {x!r} is {types[x]}, not numeric; "
                                  "choose a numeric covariate")
            cols.append(f"CAST(coalesce(c.{ident(x)}, 0) AS DOUBLE) AS x{j}")
        join = "LEFT JOIN customer_360 c ON c.customer_id = s.customer_id"
    cols.append("CAST(s.send_time AS DATE) AS __day")
    arms = [control, *chosen]
    marks = ", ".join("?" for _ in arms)
    sql = (f"SELECT {', '.join(cols)} FROM sends s {join} WHERE s.campaign_id = ? "
           f"AND coalesce(s.variant, '') IN ({marks})")
    return sql, [campaign, *arms], chosen, sum(counts[a] for a in arms)
