"""Persistence: SQLAlchemy (SQLite / PostgreSQL), Alembic migrations, hold stores (Redis / in-process)."""
