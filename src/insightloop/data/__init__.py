"""Bundled sample data (see ATTRIBUTION.md)."""
