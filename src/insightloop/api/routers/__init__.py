"""API routers, one module per group of resources (mounted under ``/api/v1``)."""
