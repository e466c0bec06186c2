"""An uplift test read from a user's file: arms, outcome and features, checked.

Every refusal is one line naming the file, the column and the value, and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, SchemaError
from insightloop.models.classify.typing import TableEncoder
from insightloop.storage.user_table import read_user_table


@dataclass(frozen=True)
class UpliftData:
    """Rows of the arms asked for: features (a frame), outcome, arm labels (as given)."""

    features: pd.DataFrame
    y: np.ndarray
    arm: np.ndarray
    control: str
    treated: tuple[str, ...]
    binary: bool
    excluded: dict[str, int]


def _line(frame: pd.DataFrame, mask: np.ndarray) -> int:
    """The file line of the first row in ``mask`` (line 1 is the header)."""
    return int(np.flatnonzero(mask)[0]) + 2


def _arm_labels(path: Path, col: pd.Series, name: str) -> np.ndarray:
    missing = col.isna().to_numpy()
    if missing.any():
        raise SchemaError(f"{path}, line {_line(col.to_frame(), missing)}, column {name!r}: "
                          f"no treatment value ({int(missing.sum()):,} row(s)); fill or "
                          "remove those rows")
    if pd.api.types.is_float_dtype(col) and (col % 1 == 0).all():
        col = col.astype(np.int64)
    return col.astype(str).str.strip().to_numpy()


def _outcome(path: Path, col: pd.Series, name: str, positive: str | None) -> np.ndarray:
    missing = col.isna().to_numpy()
    if missing.any():
        raise SchemaError(f"{path}, line {_line(col.to_frame(), missing)}, column {name!r}: "
                          f"the outcome is missing ({int(missing.sum()):,} row(s)); fill or "
                          "remove those rows")
    if positive is not None:
        text = col.astype(str).str.strip()
        if not (text == positive).any():
            raise ConfigError(f"{path}, column {name!r}: no row has the --positive value "
                              f"{positive!r}; values are: {_values(text)}")
        return (text == positive).to_numpy(dtype=np.float64)
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        y = col.to_numpy(dtype=np.float64)
        if not np.isfinite(y).all():
            raise SchemaError(f"{path}, line {_line(col.to_frame(), ~np.isfinite(y))}, "
                              f"column {name!r}: the outcome is infinite")
        return y
    bad = pd.to_numeric(col, errors="coerce").isna().to_numpy()
    raise SchemaError(f"{path}, line {_line(col.to_frame(), bad)}, column {name!r}: outcome "
                      f"value {str(col[bad].iloc[0])[:40]!r} is not a number; use a numeric "
                      "or 0/1 outcome, or pass --positive VALUE for a yes/no column")


def _values(col: pd.Series, limit: int = 8) -> str:
    counts = col.value_counts()
    shown = ", ".join(f"{v!r} ({n:,})" for v, n in counts.head(limit).items())
    return shown + (f", ... ({len(counts)} values)" if len(counts) > limit else "")


def read_uplift_file(path: Path | str, treatment: str, treated: Sequence[str], control: str,
                     outcome: str, *, drop: Sequence[str] = (), positive: str | None = None,
                     drop_other: bool = False) -> UpliftData:
    """Read and check an uplift test: one row per customer, an arm column, an outcome and
    pre-treatment features (every other column not in ``drop``)."""
    p = Path(path)
    frame = read_user_table(p)
    cols = [str(c) for c in frame.columns]
    for what, name in (("treatment", treatment), ("outcome", outcome), *(
            ("--drop", d) for d in drop)):
        if name not in cols:
            raise SchemaError(f"{p}: no {what} column {name!r}; columns are: {', '.join(cols)}")
    if treatment == outcome:
        raise ConfigError(f"--treatment and --outcome name the same column {treatment!r}")
    treated_t = tuple(dict.fromkeys(str(v).strip() for v in treated))
    if not treated_t:
        raise ConfigError("give at least one --treated VALUE")
    if control in treated_t:
        raise ConfigError(f"{control!r} is given both as --control and as --treated")
    labels = _arm_labels(p, frame[treatment], treatment)
    present = pd.Series(labels).value_counts()
    for flag, value in (("--control", control), *(("--treated", v) for v in treated_t)):
        if value not in present.index:
            raise ConfigError(f"{p}, column {treatment!r}: no row has the {flag} value "
                              f"{value!r} (that arm would be empty); values are: "
                              f"{_values(pd.Series(labels))}")
    other = ~np.isin(labels, (control, *treated_t))
    excluded = {str(k): int(v) for k, v in pd.Series(labels[other]).value_counts().items()}
    if other.any() and not drop_other:
        first = next(iter(excluded))
        raise ConfigError(
            f"{p}, line {_line(frame, other)}, column {treatment!r}: value {first!r} "
            f"({excluded[first]:,} rows) is neither --treated nor --control ({len(excluded)} "
            "other value(s)); add --treated VALUE for each arm to evaluate, or --drop-other "
            "to leave those rows out")
    keep = ~other
    y = _outcome(p, frame[outcome], outcome, positive)[keep]
    if np.all(y == y[0]):
        raise ConfigError(f"{p}, column {outcome!r}: the outcome is {y[0]:g} on every row of "
                          "the arms; there is no effect to model")
    features = frame.drop(columns=[treatment, outcome, *drop])
    if features.shape[1] == 0:
        raise SchemaError(f"{p}: no feature column is left after --treatment, --outcome and "
                          "--drop")
    if other.any():
        features = features.loc[keep].reset_index(drop=True)
    return UpliftData(features=features, y=y, arm=labels[keep], control=control,
                      treated=treated_t, binary=bool(np.isin(y, (0.0, 1.0)).all()),
                      excluded=excluded)


def encode_features(train: pd.DataFrame, *others: pd.DataFrame
                    ) -> tuple[list[np.ndarray], list[str], list[int], Any]:
    """Float32 matrices of ``train`` and ``others`` with the classifier's column typing
    (:class:`~insightloop.models.classify.typing.TableEncoder`, fitted on ``train``):
    categories as integer codes (their column indices returned), identifiers, constant and
    empty columns dropped. Returns matrices, column names, categorical indices, encoder."""
    enc = TableEncoder().fit(train)
    names = list(enc.encoded_columns)
    if not names:
        raise SchemaError(f"no usable feature: every column was dropped ({enc.dropped_})")
    cats = [i for i, c in enumerate(names) if c in set(enc.categorical_columns)]
    out = []
    for frame in (train, *others):
        E = enc.transform(frame)
        M = np.empty((len(E), len(names)), dtype=np.float32)
        for j, c in enumerate(names):
            col = E[c]
            M[:, j] = col.cat.codes.to_numpy() if j in cats else col.to_numpy(np.float32)
        out.append(M)
    return out, names, cats, enc
