"""Alembic migrations of the NEXUS schema; apply them with ``nexus db upgrade`` (``storage.schema.upgrade``).

To write the next revision, upgrade a scratch database, change ``storage/orm.py``, then let Alembic draft
the difference and review it by hand (PostgreSQL-only parts go behind a dialect check, as in 0001)::

    from alembic import command
    from storage.schema import alembic_config

    command.revision(alembic_config("sqlite+aiosqlite:///scratch.db"), "what changes", autogenerate=True,
                     rev_id="0002")
"""
