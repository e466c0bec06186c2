"""Alembic scripts of the operational store (run by :mod:`..schema`, no ``alembic.ini``)."""
