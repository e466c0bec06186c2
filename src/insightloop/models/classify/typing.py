"""Automatic column typing and encoding of any table for the classifiers.

Every column is given one *kind*:

``numeric``
    numbers, booleans, and text columns whose non-blank values parse as numbers
    (≥ 95 %, e.g. Telco's ``TotalCharges`` with blanks); blanks become missing.
``categorical``
    other text/categorical columns. The ``max_categories`` most frequent levels
    seen at least ``min_category_count`` times are kept; rarer levels and levels
    never seen in training fall into ``"__other__"``, missing values into
    ``"__missing__"``. A level never seen in training raises an
    :class:`UnseenCategoryWarning` only in a column whose training levels were all
    kept (a closed set such as a contract type: the model never learned an "other"
    there). In an open column (product ids, countries: training already had rare
    levels in ``"__other__"``) a new level is routine and scored like the rare ones;
    a shift in how many rows fall there is what the drift check
    (:mod:`insightloop.models.classify.drift`) measures.
``date``
    datetime columns and text columns that look like dates; expanded into
    ``<col>__days`` (days since 1970-01-01), ``<col>__month`` and ``<col>__dow``.
``id``
    text columns unique on (almost) every row, and integer columns holding
    consecutive distinct numbers (a saved row index): identifiers, dropped.
``constant`` / ``empty`` / ``duplicate``
    one value only / all missing / the same values as an earlier column: dropped
    (an all-missing column raises a :class:`DataQualityWarning` so the user knows
    it carried nothing).

Dropped columns are listed in :attr:`TableEncoder.dropped_` with the reason.
"""

from __future__ import annotations

import warnings
from typing import Literal

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from insightloop.errors import FeatureMismatchError, ModelFitError, NotFittedError

ColumnKind = Literal["numeric", "categorical", "date", "id", "constant", "empty", "duplicate"]
OTHER = "__other__"
MISSING = "__missing__"
_DATE_PATTERN = r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"


class DataQualityWarning(UserWarning):
    """A column was dropped or values were mapped because of their content."""


class UnseenCategoryWarning(UserWarning):
    """Scoring data holds category levels never seen in training (mapped to ``__other__``)."""


def _blank_to_na(s: pd.Series) -> pd.Series:
    """Strip text and turn empty strings into missing values."""
    text = s.astype("string").str.strip()
    return text.mask(text == "")


def _is_row_number(s: pd.Series) -> bool:
    """Consecutive distinct integers on every row (a saved index or a numeric id)."""
    if not pd.api.types.is_integer_dtype(s) or len(s) < 20 or s.isna().any():
        return False
    return bool(s.nunique() == len(s) and int(s.max()) - int(s.min()) == len(s) - 1)


def infer_kind(s: pd.Series, numeric_share: float = 0.95) -> ColumnKind:
    """Infer the kind of one column.

    Parameters
    ----------
    s : pandas.Series
        The column.
    numeric_share : float
        Share of non-blank text values that must parse as numbers for a text
        column to be typed numeric.

    Returns
    -------
    str
        One of ``numeric``, ``categorical``, ``date``, ``id``, ``constant``, ``empty``.
    """
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        if s.notna().sum() == 0:
            return "empty"
        if _is_row_number(s):
            return "id"
        return "constant" if s.nunique(dropna=False) <= 1 else "numeric"
    if pd.api.types.is_datetime64_any_dtype(s):
        if s.notna().sum() == 0:
            return "empty"
        return "constant" if s.nunique(dropna=False) <= 1 else "date"
    text = _blank_to_na(s)
    present = text.dropna()
    if present.empty:
        return "empty"
    if pd.to_numeric(present, errors="coerce").notna().mean() >= numeric_share:
        num = pd.to_numeric(text, errors="coerce")
        return "constant" if num.nunique(dropna=False) <= 1 else "numeric"
    n_unique = present.nunique()
    if n_unique <= 1 and len(present) == len(s):
        return "constant"
    if present.str.match(_DATE_PATTERN).mean() >= numeric_share:
        parsed = pd.to_datetime(present, errors="coerce", format="mixed")
        if parsed.notna().mean() >= numeric_share:
            return "date"
    if len(present) >= 20 and n_unique >= 0.95 * len(s):
        return "id"
    return "categorical"


def _to_datetime(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        out = pd.to_datetime(_blank_to_na(s), errors="coerce", format="mixed")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


class TableEncoder(TransformerMixin, BaseEstimator,  # type: ignore[misc,call-arg]
                   auto_wrap_output_keys=None):  # transform returns its own frame
    """Learn column kinds on a training table and encode tables the same way.

    Parameters
    ----------
    max_categories : int
        Most frequent levels kept per categorical column (high-cardinality guard).
    min_category_count : int
        Levels seen fewer times than this in training go to ``"__other__"``.
    """

    kinds_: dict[str, ColumnKind]
    categories_: dict[str, list[str]]
    dropped_: dict[str, str]
    columns_in_: list[str]
    source_of_: dict[str, str]
    bad_numeric_share_: dict[str, float]
    rare_: dict[str, list[str]]

    def __init__(self, max_categories: int = 50, min_category_count: int = 5) -> None:
        self.max_categories = max_categories
        self.min_category_count = min_category_count

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X: pd.DataFrame) -> TableEncoder:
        """Type every column of ``X`` and learn category levels.

        Raises
        ------
        ModelFitError
            When no usable feature column is left.
        """
        self.columns_in_ = [str(c) for c in X.columns]
        self.kinds_, self.categories_, self.dropped_ = {}, {}, {}
        self.bad_numeric_share_, self.rare_ = {}, {}
        for col in X.columns:
            name = str(col)
            kind = infer_kind(X[col])
            self.kinds_[name] = kind
            if kind == "empty":
                self.dropped_[name] = "all values missing"
            elif kind == "constant":
                self.dropped_[name] = "a single value"
            elif kind == "id":
                self.dropped_[name] = "identifier (unique per row)"
            elif kind == "categorical":
                counts = _blank_to_na(X[col]).value_counts()
                keep = counts[counts >= self.min_category_count].index[: self.max_categories]
                self.categories_[name] = sorted(str(v) for v in keep)
                kept = set(self.categories_[name])
                self.rare_[name] = sorted(str(v) for v in counts.index if str(v) not in kept)
            elif kind == "numeric" and not pd.api.types.is_numeric_dtype(X[col]):
                text = _blank_to_na(X[col])
                bad = text.notna() & pd.to_numeric(text, errors="coerce").isna()
                self.bad_numeric_share_[name] = float(bad.mean())
        self._drop_duplicates(X)
        empty = [c for c, k in self.kinds_.items() if k == "empty"]
        if empty:
            warnings.warn(
                f"dropped feature columns with no values at all: {empty}",
                DataQualityWarning,
                stacklevel=2,
            )
        if not self.feature_columns:
            raise ModelFitError(
                f"no usable feature column among {self.columns_in_}: "
                f"dropped {self.dropped_}; give the model at least one informative column"
            )
        self.source_of_ = {}
        for name in self.feature_columns:
            if self.kinds_[name] == "date":
                for part in ("days", "month", "dow"):
                    self.source_of_[f"{name}__{part}"] = name
            else:
                self.source_of_[name] = name
        return self

    def _drop_duplicates(self, X: pd.DataFrame) -> None:
        """Drop columns whose values equal an earlier kept column's (e.g. two order counts)."""
        kept = [c for c, k in self.kinds_.items() if k in ("numeric", "categorical", "date")]
        if len(kept) < 2:
            return
        hashes = X[kept].apply(lambda s: pd.util.hash_pandas_object(s, index=False).sum())
        first = hashes.groupby(hashes, sort=False).transform(lambda h: h.index[0])
        for col, origin in first.items():
            if col != origin and X[col].equals(X[origin]):
                self.kinds_[str(col)] = "duplicate"
                self.dropped_[str(col)] = f"same values as {origin!r}"

    @property
    def feature_columns(self) -> list[str]:
        """Input columns that feed the model (kept after typing)."""
        return [c for c, k in self.kinds_.items() if k in ("numeric", "categorical", "date")]

    @property
    def encoded_columns(self) -> list[str]:
        """Column names of :meth:`transform`'s output."""
        return list(self.source_of_)

    @property
    def categorical_columns(self) -> list[str]:
        return [c for c in self.feature_columns if self.kinds_[c] == "categorical"]

    # -- encoding --------------------------------------------------------------------
    def check_columns(self, X: pd.DataFrame) -> None:
        """Raise :class:`FeatureMismatchError` when feature columns are missing from ``X``."""
        if not hasattr(self, "kinds_"):
            raise NotFittedError("TableEncoder is not fitted yet; call fit(X) first")
        present = {str(c) for c in X.columns}
        missing = [c for c in self.feature_columns if c not in present]
        if missing:
            extra = sorted(present - set(self.columns_in_))
            raise FeatureMismatchError(
                f"data lacks {len(missing)} feature column(s) the model was trained on: "
                f"{missing}; extra columns not used by the model: {extra}. "
                "Score data with the same columns as the training data."
            )

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Encode ``X``: numeric floats, categoricals as pandas ``category``, dates as parts.

        Raises
        ------
        FeatureMismatchError
            When feature columns are missing or a numeric column holds mostly text.
        """
        self.check_columns(X)
        X = X.rename(columns=str)
        out: dict[str, pd.Series] = {}
        unseen: list[str] = []
        for name in self.feature_columns:
            s = X[name]
            kind = self.kinds_[name]
            if kind == "numeric":
                out[name] = self._numeric(name, s)
            elif kind == "date":
                d = _to_datetime(s)
                days = (d - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
                out[f"{name}__days"] = days.astype("float64")
                out[f"{name}__month"] = d.dt.month.astype("float64")
                out[f"{name}__dow"] = d.dt.dayofweek.astype("float64")
            else:
                levels = self.categories_[name]
                text = _blank_to_na(s)
                known = text.isin(levels) | text.isna()
                if not self.rare_.get(name):  # a closed set: the model has no "other" here
                    new_levels = text[~known]
                    if len(new_levels):
                        examples = ", ".join(repr(v) for v in new_levels.unique()[:3])
                        unseen.append(f"column {name!r}: {len(new_levels)} rows ({examples})")
                mapped = text.where(known, OTHER).fillna(MISSING)
                out[name] = pd.Categorical(mapped, categories=[*levels, OTHER, MISSING])
        if unseen:
            warnings.warn(
                "values never seen in training, scored like an unknown value: "
                + "; ".join(unseen) + ". Retrain on data that has them if they matter.",
                UnseenCategoryWarning,
                stacklevel=2,
            )
        return pd.DataFrame(out, index=X.index)

    def _numeric(self, name: str, s: pd.Series) -> pd.Series:
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            return s.astype("float64")
        text = _blank_to_na(s)
        num = pd.to_numeric(text, errors="coerce")
        bad = float((text.notna() & num.isna()).mean())
        limit = max(0.05, 2 * self.bad_numeric_share_.get(name, 0.0))
        if bad > limit:
            examples = text[text.notna() & num.isna()].unique()[:5].tolist()
            raise FeatureMismatchError(
                f"numeric feature {name!r} holds {bad:.1%} non-numeric values "
                f"(e.g. {examples}); in training it held "
                f"{self.bad_numeric_share_.get(name, 0.0):.1%}. Fix the column or retrain."
            )
        return num.astype("float64")

