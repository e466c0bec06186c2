"""What report pages share with the builder: :class:`Section`, :class:`ReportContext` and
:func:`table_html`.

A leaf module: the pages (:mod:`insightloop.report.pages`) import it, and the builder
(:mod:`insightloop.report.builder`) imports both, so nothing in the report imports in a
circle.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from insightloop.report.format import Formatter
from insightloop.services.context import Context

if TYPE_CHECKING:
    import plotly.graph_objects as go


@dataclass
class Section:
    """One titled block of the report: prose, tables and figures, in order."""

    title: str
    page: str
    intro: str = ""
    figures: list[go.Figure] = field(default_factory=list)
    tables_html: list[str] = field(default_factory=list)


#: What every page's ``build(ctx)`` reads: the services' context (its settings and warehouse;
#: pages call services with it).
ReportContext = Context


def table_html(rows: list[dict[str, Any]], max_rows: int = 50) -> str:
    """Render the first ``max_rows`` records as an HTML table (cells escaped, numbers
    formatted by :func:`_fmt`); a "no rows" note when there are none."""
    if not rows:
        return "<p><em>no rows</em></p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in rows[:max_rows]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    """Cell text: empty for None, 4 significant digits below 10,000, else whole numbers.

    >>> [_fmt(None), _fmt(0.123456), _fmt(12345.678), _fmt(7)]
    ['', '0.1235', '12,346', '7']
    """
    return Formatter().cell(value)
