"""What a capability declares: its tables, jobs, dashboard pages, ``customer_360`` columns
and demo stages, as frozen dataclasses (see ``docs/architecture.md``, "Capability registry").

This package sits at the base of the layers (above ``settings`` and ``errors`` only), so
every layer may read the declarations. It names the code that runs a job or a demo stage as
a string, ``"insightloop.services.clv:build_clv"``, which the consumer (the job runner, the
demo) turns into the function with :func:`resolve`: the declarations import nothing above
them. Every such function takes the context first (``fn(ctx, **params)``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from insightloop.errors import ConfigError

#: What a table's rows are keyed by: one customer, product, order, review, event
#: (behaviour events, sends), campaign, or none (aggregates, logs).
Key = Literal["customer", "product", "order", "review", "event", "campaign", "none"]


class Params(BaseModel):
    """Parameters of a job kind: unknown names are refused, values are frozen. A job with
    parameters subclasses this; its field names are the runner's keyword arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def member(value: str, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``, else a ``ValueError`` listing them (pydantic
    turns it into the parameter's validation error)."""
    names = tuple(allowed)
    if value not in names:
        raise ValueError(f"{value[:80]!r} is not allowed; use one of: {', '.join(names)}")
    return value


@dataclass(frozen=True)
class Table:
    """A warehouse table (or view) a capability writes and owns.

    ``customer`` names the column holding the customer id (how erasure finds one customer's
    rows), None when no row belongs to one customer. ``personal`` lists the other columns
    that hold personal data: direct identifiers (e-mail, name, address) and free text or raw
    input that may contain them.
    """

    name: str
    key: Key
    customer: str | None = None
    personal: tuple[str, ...] = ()
    view: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Job:
    """A background job kind of the API (``POST /api/v1/jobs``).

    ``run`` is called as ``resolve(run)(ctx, **params.model_dump())``; ``check`` (optional)
    the same way when the job is submitted, raising :class:`ConfigError` (422) for values
    only the warehouse or the model store can refuse. ``files`` names parameters holding a
    path inside the server's ingest root (resolved and confined there before ``run`` sees
    it). ``keep`` trims a dict result to those keys (all when empty).
    """

    kind: str
    run: str
    summary: str
    params: type[Params] = Params
    check: str | None = None
    files: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page:
    """A dashboard page: its path, navigation label and title, the report page modules
    (``insightloop.report.pages.<name>``) it renders, and what it says while its tables are
    not built (naming the command that builds them). ``order`` places it in the navigation.
    ``custom``: the route is written by hand in ``insightloop.web`` (forms, look-ups); the
    others are served by the generic report page."""

    path: str
    label: str
    title: str
    reports: tuple[str, ...] = ()
    missing: str = ""
    order: int = 100
    custom: bool = False


@dataclass(frozen=True)
class Columns360:
    """Columns a table adds to the ``customer_360`` view, joined on ``key``.

    ``columns`` are names or glob patterns (``expected_purchases_*``), shown in that order
    (a pattern's matches in the table's order); ``prefix`` is put before each (a column
    named as the prefix itself, like ``clv`` for ``clv_``, keeps its name). With ``pivot``,
    the table holds one row per key and ``pivot`` value, and the view gets
    ``<value>_<column>`` for each (one ``churn_score``, ``churn_version``... per scored
    model). The first declaration of the registry is the
    view's spine (the profiles): the others are LEFT JOINed to it when their table exists.
    """

    table: str
    columns: tuple[str, ...] = ("*",)
    key: str = "customer_id"
    prefix: str = ""
    pivot: str | None = None


@dataclass(frozen=True)
class Product360:
    """A ``customer_360`` column computed from others of the view: the product of
    ``factors`` (column names as the view shows them), present when every factor is. Value
    at risk is ``Product360("value_at_risk", ("churn_score", "clv"))``: churn probability
    times predicted CLV."""

    name: str
    factors: tuple[str, ...]
    doc: str = ""


@dataclass(frozen=True)
class Stage:
    """A stage of ``insightloop demo``: ``resolve(run)(ctx, **dict(args))``, announced with
    ``label`` and reported under ``key`` (default: the label), a dict result trimmed to
    ``keep`` (when given) and without ``omit``."""

    label: str
    run: str
    args: tuple[tuple[str, Any], ...] = ()
    key: str | None = None
    keep: tuple[str, ...] = ()
    omit: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.key or self.label


@dataclass(frozen=True)
class Capability:
    """Everything one capability owns, declared in one place (its module in this package)."""

    name: str
    summary: str
    tables: tuple[Table, ...] = ()
    jobs: tuple[Job, ...] = ()
    pages: tuple[Page, ...] = ()
    customer_360: tuple[Columns360, ...] = ()
    demo: tuple[Stage, ...] = ()
    derived_360: tuple[Product360, ...] = ()


def resolve(ref: str) -> Callable[..., Any]:
    """The function a ``"package.module:function"`` reference names (imported now)."""
    module, sep, name = ref.partition(":")
    if not sep or not module or not name:
        raise ConfigError(f"{ref!r} is not a reference: write 'package.module:function'")
    try:
        found = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ConfigError(f"{ref!r}: module {module!r} cannot be imported ({exc})") from exc
    except AttributeError:
        raise ConfigError(f"{ref!r}: module {module!r} has no {name!r}") from None
    if not callable(found):
        raise ConfigError(f"{ref!r} is not callable")
    return found  # type: ignore[no-any-return]


def trim(result: Any, keep: tuple[str, ...] = (), omit: tuple[str, ...] = ()) -> Any:
    """A dict result cut to the keys of ``keep`` it has (in ``keep``'s order; all keys when
    empty), less ``omit``; any other result as it is."""
    if not isinstance(result, Mapping):
        return result
    names = [k for k in keep if k in result] if keep else list(result)
    return {k: result[k] for k in names if k not in omit}
