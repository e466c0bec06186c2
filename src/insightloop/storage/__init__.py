"""Storage layer: the DuckDB warehouse, the canonical schema, ingestion."""

from insightloop.storage.schema import TABLES, ColumnSpec, TableSpec, table_spec
from insightloop.storage.warehouse import Warehouse, has_table, write_frame

__all__ = ["TABLES", "ColumnSpec", "TableSpec", "Warehouse", "has_table", "table_spec",
           "write_frame"]
