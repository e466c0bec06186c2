"""The web dashboard: server-rendered pages (jinja2 + plotly, assets served locally)."""
