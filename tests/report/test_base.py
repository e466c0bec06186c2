"""report/base.py: the table helper on known answers; the builder finds every page and
re-exports the shared types; importing the report loads neither plotly nor scikit-learn."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

from contexts import ctx_of
from insightloop.capabilities import pages as capability_pages
from insightloop.report import base, builder, pages
from insightloop.report.base import ReportContext, Section, table_html


def test_table_html_escapes_formats_and_caps_rows() -> None:
    rows = [{"name": "<b>&", "value": 0.123456, "big": 12345.678, "none": None, "n": 7}]
    assert table_html(rows) == (
        "<table><thead><tr><th>name</th><th>value</th><th>big</th><th>none</th><th>n</th>"
        "</tr></thead><tbody><tr><td>&lt;b&gt;&amp;</td><td>0.1235</td><td>12,346</td>"
        "<td></td><td>7</td></tr></tbody></table>")
    many = [{"i": i} for i in range(5)]
    assert table_html(many, max_rows=2).count("<tr>") == 3  # header + 2 rows
    assert table_html([]) == "<p><em>no rows</em></p>"


def test_builder_reexports_the_shared_types() -> None:
    assert (builder.Section, builder.ReportContext, builder.table_html) == (
        base.Section, base.ReportContext, base.table_html)


def test_collect_sections_runs_every_page(tmp_path: Path) -> None:
    """Every page module is found and answers [] on a warehouse that does not exist."""
    names = sorted(m.name for m in pkgutil.iter_modules(pages.__path__))
    declared = {r for p in capability_pages() for r in p.reports}
    assert declared <= set(names) and names[0] == "a_overview"  # every declared page exists
    path = tmp_path / "missing.duckdb"
    ctx: ReportContext = ctx_of(path)
    assert builder.collect_sections(ctx) == []
    assert {f"insightloop.report.pages.{n}" for n in names} <= set(sys.modules)
    assert isinstance(Section(title="t", page="p"), Section)


def test_importing_the_report_loads_no_heavy_library() -> None:
    """The dashboard and the CLI import the builder and the pages; plotly and scikit-learn
    load only when a page is built (lazy imports in the functions)."""
    code = ("import pkgutil, sys\n"
            "import insightloop.report.builder as b\n"
            "from insightloop.report import pages\n"
            "for m in pkgutil.iter_modules(pages.__path__):\n"
            "    __import__(f'insightloop.report.pages.{m.name}')\n"
            "print(sorted({n.split('.')[0] for n in sys.modules} & {'plotly', 'sklearn'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"
