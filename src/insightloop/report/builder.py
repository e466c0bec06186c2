"""Self-contained HTML report assembled from page modules.

Each module in :mod:`insightloop.report.pages` exposes
``build(ctx: ReportContext) -> list[Section]`` (both types live in the leaf module
:mod:`insightloop.report.base`, which the pages import); a page returns no sections when
the warehouse lacks what it needs (e.g. no model trained yet). Charts are plotly figures;
plotly.js is inlined once so the file works offline.
"""

from __future__ import annotations

import html
import importlib
import pkgutil
from datetime import datetime
from pathlib import Path

from insightloop.errors import InsightloopError
from insightloop.report import pages
from insightloop.report.base import ReportContext, Section, table_html

# Section, ReportContext and table_html live in report/base.py (the pages import them from
# there); they stay importable from here.
__all__ = ["ReportContext", "ReportWriteError", "Section", "collect_sections", "render",
           "table_html", "write_report"]


def collect_sections(ctx: ReportContext) -> list[Section]:
    """Every page's sections, pages in module-name order (each imported on first use)."""
    sections: list[Section] = []
    for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"insightloop.report.pages.{info.name}")
        sections.extend(module.build(ctx))
    return sections


def render(sections: list[Section], title: str = "insightloop report") -> str:
    """The self-contained HTML document: plotly.js inlined once, then every section."""
    # lazy: plotly (0.4-0.5 s) only when a report is rendered, not when this is imported
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;"
        "color:#222}h2{border-bottom:2px solid #4a6fa5;padding-bottom:.2em;margin-top:2em}"
        "table{border-collapse:collapse;font-size:.85em;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "th{background:#eef2f8}nav a{margin-right:1em}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Generated {datetime.now():%Y-%m-%d %H:%M}.</p><nav>",
    ]
    parts += [f"<a href='#s{i}'>{html.escape(s.title)}</a>" for i, s in enumerate(sections)]
    parts.append("</nav>")
    for i, sec in enumerate(sections):
        parts.append(f"<section id='s{i}' data-page='{html.escape(sec.page)}'>")
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        if sec.intro:
            parts.append(f"<p>{html.escape(sec.intro)}</p>")
        parts.extend(sec.tables_html)
        for fig in sec.figures:
            parts.append(pio.to_html(fig, include_plotlyjs=False, full_html=False))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


class ReportWriteError(InsightloopError):
    """The HTML report could not be written (the warehouse was only read)."""


def write_report(ctx: ReportContext, path: Path | None = None) -> Path:
    """Build every page from the warehouse and write the HTML file; returns its path.

    Raises
    ------
    ReportWriteError
        The folder cannot be created or the file written (permissions, a file in the
        way, disk full); no partial file is left behind.
    """
    out = path or ctx.settings.reports_dir / "report.html"
    html_text = render(collect_sections(ctx))
    tmp = out.with_suffix(".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(html_text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        where = exc.filename or out
        raise ReportWriteError(
            f"cannot write the HTML report {out}: {exc.strerror or exc} ({where}); set "
            "INSIGHTLOOP_REPORTS (or --output) to a writable folder") from exc
    return out
