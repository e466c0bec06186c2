"""Partial periods: a month (or week) the data covers only in part, marked on time charts.

Online Retail ends on 9 December 2011: December's revenue is nine days' worth, and drawn as a
plain point it looks like a crash. :func:`partial_periods` decides, from the first and last
timestamps of the data, which periods at either end are not fully covered;
:func:`add_line` and :func:`bar_patterns` draw them differently (a dashed segment to an open
marker, hatched bars) with the note "partial month, data to 9 Dec 2011". Every time chart of
the report (and so of the dashboard, which renders the report pages) goes through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

Freq = Literal["month", "week"]


@dataclass(frozen=True)
class Partial:
    """A period the data covers only in part: its start, and the days it does cover."""

    start: pd.Timestamp
    covered_from: date
    covered_to: date
    freq: Freq

    @property
    def note(self) -> str:
        """``partial month, data to 9 Dec 2011`` (or ``data from ...`` for a first period)."""
        end = self._period_end()
        if self.covered_to < end:
            return f"partial {self.freq}, data to {_day(self.covered_to)}"
        return f"partial {self.freq}, data from {_day(self.covered_from)}"

    def _period_end(self) -> date:
        return _end(self.start, self.freq)


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def _start(moment: date, freq: Freq) -> pd.Timestamp:
    ts = pd.Timestamp(moment)
    if freq == "month":
        return ts.to_period("M").to_timestamp()
    return ts.to_period("W-SUN").to_timestamp()  # weeks start on Monday


def _end(start: pd.Timestamp, freq: Freq) -> date:
    nxt = start + (pd.offsets.MonthBegin(1) if freq == "month" else pd.Timedelta(days=7))
    return (nxt - timedelta(days=1)).date()


def partial_periods(first: datetime | date | None, last: datetime | date | None,
                    freq: Freq = "month") -> list[Partial]:
    """The periods at either end of ``[first, last]`` the data covers only in part.

    The last period is partial when the data's last day is before the period's last day;
    the first when the data's first day is after the period's first day.

    >>> [p.note for p in partial_periods(date(2010, 12, 1), date(2011, 12, 9))]
    ['partial month, data to 9 Dec 2011']
    >>> partial_periods(date(2010, 12, 1), datetime(2011, 11, 30, 17, 0))
    []
    """
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return []
    lo, hi = pd.Timestamp(first).date(), pd.Timestamp(last).date()
    out: list[Partial] = []
    head, tail = _start(lo, freq), _start(hi, freq)
    if lo > head.date():
        out.append(Partial(head, lo, min(hi, _end(head, freq)), freq))
    if hi < _end(tail, freq) and not (out and out[0].start == tail):
        out.append(Partial(tail, max(lo, tail.date()), hi, freq))
    elif out and out[0].start == tail and hi < _end(tail, freq):
        out[0] = Partial(tail, lo, hi, freq)
    return out


def _mask(x: Sequence[Any], partials: list[Partial]) -> list[bool]:
    starts = {p.start for p in partials}
    return [pd.Timestamp(v) in starts if v is not None else False for v in x]


def add_line(fig: go.Figure, x: Sequence[Any], y: Sequence[Any], partials: list[Partial], *,
             name: str, color: str, hover: str = "%{y:,.2f}", **kwargs: Any) -> None:
    """A line of complete periods, and a dashed segment to an open marker for each partial
    one, with its note as an annotation (``kwargs`` go to every trace, e.g. ``yaxis``)."""
    import plotly.graph_objects as go  # lazy: plotly (0.4-0.5 s) only when a chart is drawn

    xs, ys = list(x), list(y)
    partial = _mask(xs, partials)
    fig.add_trace(go.Scatter(
        x=[v for v, p in zip(xs, partial, strict=True) if not p],
        y=[v for v, p in zip(ys, partial, strict=True) if not p], mode="lines+markers",
        name=name, line={"color": color}, hovertemplate=f"%{{x|%b %Y}}: {hover}<extra></extra>",
        **kwargs))
    for i, is_partial in enumerate(partial):
        if not is_partial:
            continue
        note = next(p.note for p in partials if p.start == pd.Timestamp(xs[i]))
        near = [j for j in (i - 1, i + 1) if 0 <= j < len(xs) and not partial[j]]
        seg = sorted([i, *near[:1]])
        fig.add_trace(go.Scatter(
            x=[xs[j] for j in seg], y=[ys[j] for j in seg], mode="lines",
            line={"color": color, "dash": "dash"}, showlegend=False, hoverinfo="skip",
            **kwargs))
        fig.add_trace(go.Scatter(
            x=[xs[i]], y=[ys[i]], mode="markers", name=f"{name} ({note})",
            marker={"color": "white", "size": 10, "symbol": "circle-open",
                    "line": {"color": color, "width": 2}},
            hovertemplate=f"%{{x|%b %Y}}: {hover} ({note})<extra></extra>", **kwargs))
        fig.add_annotation(x=xs[i], y=ys[i], text=note, showarrow=True, arrowhead=2, ay=-40,
                           font={"size": 11, "color": "#555"},
                           **({"yref": "y2"} if kwargs.get("yaxis") == "y2" else {}))


def bar_patterns(x: Sequence[Any], partials: list[Partial]) -> list[str]:
    """Hatch (``/``) for bars of partial periods, none for the others: pass as
    ``marker={"pattern": {"shape": bar_patterns(...)}}``."""
    return ["/" if p else "" for p in _mask(list(x), partials)]


def notes(partials: list[Partial], upper: bool = False) -> str:
    """The partial periods' notes for an intro or a title ("" when none; ``upper``: the
    first letter a capital, to start a sentence)."""
    text = "; ".join(p.note for p in partials)
    return text[:1].upper() + text[1:] if upper else text
