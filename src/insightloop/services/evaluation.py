"""Evaluate the tabular classifier on any file: ``insightloop evaluate classify``.

Reads a CSV (delimiter sniffed: ``,`` ``;`` tab ``|``), Parquet or JSON-lines file
through the one reader of user files
(:func:`~insightloop.storage.user_table.read_user_table`), drops the columns asked
for (e.g. bank marketing's leaking ``duration``) and runs stratified K-fold
cross-validation of the whole pipeline
(:func:`insightloop.models.classify.pipeline.cross_validate`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from insightloop.errors import InputFileError, SchemaError
from insightloop.services.results import ClassifyEvaluation
from insightloop.storage.user_table import read_user_table


def read_table_file(path: Path | str) -> pd.DataFrame:
    """Read a user's table (CSV/TSV, JSON lines, Parquet; see
    :func:`~insightloop.storage.user_table.read_user_table`) with at least two columns.

    Raises
    ------
    InputFileError
        The file is missing, empty, cannot be parsed, or has fewer than two columns.
    """
    frame = read_user_table(path)
    if frame.shape[1] < 2:
        raise InputFileError(f"{path}: has {frame.shape[0]} rows and {frame.shape[1]} column; "
                             "need a header, a target and at least one feature column "
                             "(check the delimiter)")
    return frame


def split_target(frame: pd.DataFrame, target: str, drop: Sequence[str] = ()
                 ) -> tuple[pd.DataFrame, pd.Series]:
    """Separate the target column and drop the listed columns, with clear errors."""
    cols = [str(c) for c in frame.columns]
    if target not in cols:
        raise SchemaError(f"target column {target!r} is not in the data; columns are {cols}")
    unknown = [c for c in drop if c not in cols]
    if unknown:
        raise SchemaError(f"cannot drop {unknown}: not in the data; columns are {cols}")
    if target in drop:
        raise SchemaError(f"target column {target!r} cannot also be dropped")
    y = frame[target]
    X = frame.drop(columns=[target, *drop])
    return X, y


_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})


def resolve_positive(y: pd.Series, positive: Any) -> Any:
    """The target's own spelling of ``positive``: exact, else case-insensitive, else, on a
    target whose every value is a boolean word (True/False, TRUE/FALSE, yes/no, 1/0), the
    value with the same truth (``--positive TRUE`` on a 1/0 or True/False target).

    Unmatched values are returned as given (the classifier then names the target's
    values). Looks at the distinct values only.
    """
    if positive is None:
        return None
    text = [str(v).strip() for v in pd.unique(y.dropna())]
    pos = str(positive).strip()
    if pos in text:
        return pos
    folded = [t for t in text if t.casefold() == pos.casefold()]
    if len(folded) == 1:
        return folded[0]
    truth = {t: t.casefold() in _TRUE for t in text if t.casefold() in _TRUE | _FALSE}
    if pos.casefold() in _TRUE | _FALSE and len(truth) == len(text):
        same = [t for t, flag in truth.items() if flag == (pos.casefold() in _TRUE)]
        if len(same) == 1:
            return same[0]
    return pos


def evaluate_classify_file(path: Path | str, target: str, positive: Any = None, folds: int = 5,
                           drop: Sequence[str] = (), model: str = "auto",
                           random_state: int = 0,
                           on_fold: Callable[[int, int], None] | None = None
                           ) -> ClassifyEvaluation:
    """Cross-validate the tabular classifier on a file.

    Parameters
    ----------
    path : Path or str
        CSV / Parquet / JSON-lines file.
    target : str
        Binary target column.
    positive : object, optional
        Value of ``target`` meaning positive (needed unless 0/1 or boolean); matched
        case-insensitively, and by truth on a boolean target (:func:`resolve_positive`).
    folds : int
        Outer stratified folds.
    drop : sequence of str
        Columns left out of the features.
    model : {"auto", "lightgbm", "logistic", "blend"}
        Model family.

    Returns
    -------
    ClassifyEvaluation
        ``rows, auc, pr_auc, logloss, model`` plus ``precision, recall, f1,
        lift_top_decile, models, folds, dropped``.
    """
    # lazy: the classifier pipeline loads scikit-learn and LightGBM; reading files does not
    from insightloop.models.classify.pipeline import cross_validate

    frame = read_table_file(path)
    X, y = split_target(frame, target, drop)
    result = cross_validate(X, y, positive=resolve_positive(y, positive), folds=folds,
                            model=model,
                            random_state=random_state, on_fold=on_fold)
    result.pop("oof")
    result["dropped"] = list(drop)
    return cast(ClassifyEvaluation, result)
