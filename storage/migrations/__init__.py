"""Alembic migrations of the NEXUS schema; run them with ``nexus db upgrade`` (see ``storage.schema``)."""
