"""The REST API (``/api/v1``) and its shared machinery; the dashboard lives in ``insightloop.web``.

Build the ASGI app with :func:`insightloop.asgi.create_app`.
"""
