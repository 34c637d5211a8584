"""Fixtures of the store suite: a mailbox (tenant contoso.com, user alice) on each engine."""
from __future__ import annotations

import pytest

from store import Store, Tenant, User


@pytest.fixture
async def alice(store: Store) -> User:
    await store.put_tenant(Tenant(domain="contoso.com"))
    return await store.create_user("alice@contoso.com", "secret", "Alice Wood")
