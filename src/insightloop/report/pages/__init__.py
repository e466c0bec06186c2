"""Report pages: each module exposes ``build(ctx) -> list[Section]``."""
