"""Alembic environment: migrations run on the async engine through ``run_sync``.

`store.schema.upgrade` passes an open connection in ``config.attributes["connection"]``;
when Alembic is run from its own command line, an engine is made from EASGATE_DB.
"""
from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from store.engine import create_engine, default_url, parse_url
from store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs by table copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_engine() -> None:
    engine = create_engine(parse_url(config.get_main_option("sqlalchemy.url") or default_url()))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_with_engine())


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; give a database URL")
run_migrations_online()
