"""get_tenant is remembered per store; put_tenant and forget_tenants make changes seen."""
from __future__ import annotations

import dataclasses

from store import Tenant
from store.engine import create_engine, parse_url
from store.sql import SqlStore


async def test_a_tenant_read_twice_is_read_once_and_a_put_is_seen_at_once(store):
    await store.put_tenant(Tenant(domain="cache.example", mode="off"))
    first = await store.get_tenant("cache.example")
    assert await store.get_tenant("CACHE.example") is first
    await store.put_tenant(dataclasses.replace(first, mode="outlook-only"))
    assert (await store.get_tenant("cache.example")).mode == "outlook-only"


async def test_a_change_by_another_process_is_seen_after_forget_tenants(sqlite_store, tmp_path):
    await sqlite_store.put_tenant(Tenant(domain="cache.example", mode="off"))
    assert (await sqlite_store.get_tenant("cache.example")).mode == "off"
    other = SqlStore(create_engine(parse_url(str(sqlite_store.engine.url))))
    told = []
    other.add_tenant_listener(lambda: told.append(True))
    try:
        await other.put_tenant(Tenant(domain="cache.example", mode="outlook-only"))
    finally:
        await other.close()
    assert told == [True]  # what gateway/crossprocess.py sends to the other processes
    assert (await sqlite_store.get_tenant("cache.example")).mode == "off"  # still remembered
    sqlite_store.forget_tenants()
    assert (await sqlite_store.get_tenant("cache.example")).mode == "outlook-only"
