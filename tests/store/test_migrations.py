"""Schema life cycle on both engines: upgrade from empty, twice is a no-op, the migrated
schema equals the models, an out-of-date database is refused without ``create``, and bad
URLs give one clear StoreError."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store import StoreError, open_store, upgrade_database
from store.engine import create_engine, parse_url
from store.models import Base
from store.schema import head_revision
from store.testing import scratch_database


async def _schema_diff(url: str, schema: str | None) -> list:
    engine = create_engine(parse_url(url), schema=schema)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    finally:
        await engine.dispose()


async def test_upgrade_from_empty_then_no_op(store_engine: str, tmp_path: Path):
    async with scratch_database(store_engine, tmp_path) as (url, schema):
        assert await upgrade_database(url, schema=schema) == (None, head_revision())
        assert await upgrade_database(url, schema=schema) == (head_revision(), head_revision())
        assert await _schema_diff(url, schema) == []
        store = await open_store(url, create=False, schema=schema)
        try:
            assert await store.ping()
        finally:
            await store.close()


async def test_open_store_refuses_an_empty_database_without_create(store_engine: str,
                                                                   tmp_path: Path):
    async with scratch_database(store_engine, tmp_path) as (url, schema):
        with pytest.raises(StoreError, match="easgate db upgrade"):
            await open_store(url, create=False, schema=schema)


async def test_default_sqlite_directory_is_created(tmp_path: Path):
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/var/deeper/easgate.db")
    await store.close()
    assert (tmp_path / "var" / "deeper" / "easgate.db").exists()


@pytest.mark.parametrize("url, message", [
    ("not a url", "not a database URL"),
    ("mysql://root@localhost/x", "unsupported database"),
    ("postgresql+asyncpg://postgres@127.0.0.1:1/test", "cannot open database"),
    ("postgresql+asyncpg://postgres:hunter2@127.0.0.1:1/test", "cannot open database"),
])
async def test_bad_urls_give_one_clear_line(url: str, message: str):
    with pytest.raises(StoreError, match=message) as caught:
        await open_store(url)
    text = str(caught.value)
    assert "\n" not in text and "hunter2" not in text
