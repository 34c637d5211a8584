"""Bringing a database's schema to the current revision with Alembic, programmatically.

`upgrade` is what `easgate db upgrade` and `open_store(url)` run: on an empty database it
creates every table, on a current one it does nothing. `current_revision` / `head_revision`
let callers check before they touch the tables.
"""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from store.engine import WRITE_OPTION

# Any constant will do: it keeps two processes starting at once from migrating together.
_PG_MIGRATION_LOCK = 0x6561_7367  # "easg"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "store:migrations")
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None for an empty database."""
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate to ``revision`` in one transaction (SQLite and PostgreSQL both have
    transactional DDL, so a failed migration leaves the previous schema)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{WRITE_OPTION: True})
        async with conn.begin():
            if conn.dialect.name == "postgresql":
                await conn.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
            await conn.run_sync(_upgrade_sync, revision)


def _upgrade_sync(conn: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)
