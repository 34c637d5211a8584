"""Throw-away stores for tests and benchmarks: a SQLite file in a directory, or a fresh
PostgreSQL schema that is dropped afterwards.

The PostgreSQL server is ``EASGATE_TEST_PG_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``). When it cannot be reached,
`scratch_store` raises StoreError: callers are meant to fail, not skip.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text

from store.api import Store
from store.engine import create_engine, parse_url
from store.opening import open_store

DEFAULT_TEST_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ENGINES = ("sqlite", "postgres")


def pg_test_url() -> str:
    return os.environ.get("EASGATE_TEST_PG_URL") or DEFAULT_TEST_PG_URL


@contextlib.asynccontextmanager
async def scratch_database(engine: str, directory: Path) -> AsyncIterator[tuple[str, str | None]]:
    """(URL, PostgreSQL schema or None) of an empty database that lives for the block."""
    if engine == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / 'easgate-test.db'}", None
        return
    if engine != "postgres":
        raise ValueError(f"unknown engine {engine!r}")
    url = pg_test_url()
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(parse_url(url))
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield url, schema
    finally:
        try:
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            await admin.dispose()


@contextlib.asynccontextmanager
async def scratch_store(engine: str, directory: Path) -> AsyncIterator[Store]:
    """An open, migrated, empty store on ``engine`` ("sqlite" or "postgres")."""
    async with scratch_database(engine, directory) as (url, schema):
        store = await open_store(url, schema=schema)
        try:
            yield store
        finally:
            await store.close()
