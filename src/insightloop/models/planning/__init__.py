"""Inventory planning (safety stock, reorder points, order quantities) and market-trend
statistics."""
