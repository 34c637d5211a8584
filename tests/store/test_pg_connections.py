"""Pooled PostgreSQL connections that the server dropped (a restart, a terminated backend):
one idle long enough is pinged and replaced before use; one in steady use fails the request
it serves with a one-line StoreError, and the pool is renewed for the next."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from store import engine as engine_module
from store.api import StoreError
from store.engine import create_engine, parse_url
from store.testing import pg_test_url, scratch_store


async def _drop_pooled_connection(store) -> None:  # type: ignore[no-untyped-def]
    """The server ends the backend of the connection the store's pool holds."""
    async with store.engine.connect() as pooled:
        pid = await pooled.scalar(text("SELECT pg_backend_pid()"))
    other = create_engine(parse_url(pg_test_url()))
    try:
        async with other.connect() as connection:
            assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"),
                                           {"pid": pid})
    finally:
        await other.dispose()


async def test_an_idle_dropped_connection_is_replaced_before_use(tmp_path: Path,
                                                                 monkeypatch) -> None:
    monkeypatch.setattr(engine_module, "PG_PING_AFTER_IDLE_S", 0.0)
    async with scratch_store("postgres", tmp_path) as store:
        await store.list_tenants()
        await _drop_pooled_connection(store)
        await store.list_tenants()  # pinged, found dead, replaced: no error


async def test_a_busy_dropped_connection_fails_one_read_then_the_pool_is_renewed(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(engine_module, "PG_PING_AFTER_IDLE_S", 3600.0)
    async with scratch_store("postgres", tmp_path) as store:
        await store.list_tenants()
        await _drop_pooled_connection(store)
        with pytest.raises(StoreError) as refused:
            await store.list_tenants()
        assert "\n" not in str(refused.value)
        await store.list_tenants()
