"""Error hierarchy of insightloop.

::

    InsightloopError                      root; the CLI prints "Type: message" and exits 1
    ├── ConfigError(ValueError)           bad settings or options
    │   └── InputError                    a value typed by the user (a filter) is invalid
    ├── InputFileError(ValueError)        a file cannot be read as the table asked for
    ├── SchemaError(ValueError)           required columns missing / wrong mapping
    ├── WarehouseError(RuntimeError)      warehouse missing a table or in a bad state
    ├── NotFoundError(KeyError)           a customer, model or table that is not there
    ├── ModelFitError(ValueError)         the data cannot support a model fit
    ├── IngestRefusedError(ValueError)    a file read, but too many of its rows refused
    ├── NotFittedError(ValueError, AttributeError)
    └── FeatureMismatchError(ValueError)  scoring data does not match a registered model

Messages say what failed with the actual values and what to do next.
"""

from __future__ import annotations


class InsightloopError(Exception):
    """Root of every error insightloop raises on purpose."""


class ConfigError(InsightloopError, ValueError):
    """Settings, options or a config file are invalid."""


class InputError(ConfigError):
    """A value the user typed (an audience filter, an expression) is invalid; exit 2."""


class InputFileError(InsightloopError, ValueError):
    """An input file cannot be read (missing, empty, undecodable, wrong format)."""


class SchemaError(InsightloopError, ValueError):
    """Columns required by the canonical data model are missing or mis-mapped."""


class WarehouseError(InsightloopError, RuntimeError):
    """The warehouse lacks a table or is in a state the command cannot use."""


class NotFoundError(InsightloopError, KeyError):
    """A customer, model or table that was asked for does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ModelFitError(InsightloopError, ValueError):
    """The data cannot support fitting the model (too few, degenerate, no signal)."""


class IngestRefusedError(InsightloopError, ValueError):
    """A file was read but loads nothing, or more of its rows are quarantined than allowed;
    the load was rolled back."""


class NotFittedError(InsightloopError, ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class FeatureMismatchError(InsightloopError, ValueError):
    """Data given for scoring does not have the features a model was trained on."""
