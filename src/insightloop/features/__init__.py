"""Features: engine-neutral table-in/table-out transforms."""
