"""Shared by the emulator's end-to-end tests: play a profile's first sync on the live server."""
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from emulator.client import Account, EASClient
from emulator.profiles import get_profile
from emulator.session import Event, Session

ALICE = Account("alice@contoso.com", "demo-pass")


@pytest.fixture
async def play(live_server) -> Callable[..., Awaitable[Session]]:
    """``await play("iphone-mail")``: a fresh device of that profile runs its scripted first
    sync against the live server; the session keeps the events it reported in ``.events``."""
    http = aiohttp.ClientSession()

    async def run(profile_name: str, *, account: Account = ALICE,
                  device_seed: str = "first-sync") -> Session:
        profile = get_profile(profile_name)
        events: list[Event] = []
        client = EASClient(http, live_server.http_url, account, profile,
                           profile.device_id(device_seed, account.address))
        session = Session(client, on_event=events.append)
        session.events = events  # type: ignore[attr-defined]
        await session.first_sync()
        return session

    yield run
    await http.close()

