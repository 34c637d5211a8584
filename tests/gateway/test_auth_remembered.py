"""Basic logins remembered without hashing again (gateway/auth.py): one check per header at
a time, and a password verified before that still holds is confirmed with one read. Over the
real store; a counting wrapper only tells how often the password was hashed."""
from __future__ import annotations

import asyncio

import pytest
from server_fixtures import basic_auth

from gateway.auth import Authenticator
from store.fixtures import load_demo_tenant

ALICE = "alice@contoso.com"


class CountingStore:
    """The real store, counting the password checks that hash."""

    def __init__(self, store):
        self._store = store
        self.hashed = 0

    async def authenticate(self, login, password):
        self.hashed += 1
        return await self._store.authenticate(login, password)

    def __getattr__(self, name):
        return getattr(self._store, name)


@pytest.fixture
async def counted(sqlite_store):
    await load_demo_tenant(sqlite_store)
    return CountingStore(sqlite_store)


async def test_requests_arriving_together_share_one_check(counted):
    auth = Authenticator(counted, cache_seconds=60)
    users = await asyncio.gather(*(auth.authenticate(basic_auth(ALICE)) for _ in range(20)))
    assert {u.address for u in users} == {ALICE}
    assert counted.hashed == 1


async def test_a_remembered_password_still_stored_is_not_hashed_again(counted):
    auth = Authenticator(counted, cache_seconds=0.05)
    assert (await auth.authenticate(basic_auth(ALICE))).address == ALICE
    await asyncio.sleep(0.1)  # past the time a login is taken as it is
    assert (await auth.authenticate(basic_auth(ALICE))).address == ALICE
    assert counted.hashed == 1


async def test_a_changed_password_is_checked_again_and_the_old_one_refused(counted):
    auth = Authenticator(counted, cache_seconds=0.05)
    assert await auth.authenticate(basic_auth(ALICE)) is not None
    user = await counted.get_user(ALICE)
    await counted.update_user(user.id, password="a-new-pass")
    await asyncio.sleep(0.1)
    assert await auth.authenticate(basic_auth(ALICE)) is None
    assert (await auth.authenticate(basic_auth(ALICE, "a-new-pass"))).address == ALICE
    assert counted.hashed == 3


async def test_a_wrong_password_is_never_remembered(counted):
    auth = Authenticator(counted, cache_seconds=60)
    for _ in range(2):
        assert await auth.authenticate(basic_auth(ALICE, "wrong")) is None
    assert counted.hashed == 2
