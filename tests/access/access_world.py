"""A real store with one tenant and two users, a manual clock and the access service over
them (no HTTP): the lifecycle is tested through the same objects the server uses.

`tests/access/conftest.py` turns `make_world` into the ``world`` fixture."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gateway.access import AccessService, ClientIdentity
from gateway.clock import Clock
from store import Store
from store.testing import scratch_store
from store.types import ClockRow, Tenant, User

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

IPHONE = dict(device_type="iPhone", user_agent="Apple-iPhone14C2/2104.92", protocol_version="16.1")
OUTLOOK = dict(device_type="Outlook", user_agent="Outlook-iOS/2.0", protocol_version="16.1")
GMAIL = dict(device_type="Android", user_agent="Android-Mail/2023.10.01", protocol_version="14.1")


def iphone(device_id: str = "IPHONE1", **more: str) -> ClientIdentity:
    return ClientIdentity(device_id=device_id, **{**IPHONE, **more})


def outlook(device_id: str = "OUTLOOK1", **more: str) -> ClientIdentity:
    return ClientIdentity(device_id=device_id, **{**OUTLOOK, **more})


@dataclass
class RecordingHub:
    """Stands in for the push hub's wake-up side only: it records whom the service woke."""

    woken: list[int] = field(default_factory=list)

    def wake_user(self, user_id: int) -> None:
        self.woken.append(user_id)

    def notify(self, user_id: int, folder_id: str) -> None:
        pass


@dataclass
class World:
    store: Store
    clock: Clock
    access: AccessService
    hub: RecordingHub
    alice: User
    bob: User

    async def advance_hours(self, hours: float) -> None:
        await self.clock.advance(hours * 3600)

    async def set_mode(self, mode: str, **params: int) -> Tenant:
        return await self.access.set_mode("contoso.com", mode, **params)

    async def inbox_subjects(self, user: User) -> list[str]:
        return [item.data.get("Subject", "") for item in await self.store.list_items(user.id, "2")]

    async def events(self, device_pk: int) -> list[str]:
        return [event.kind for event in await self.store.list_events(device_pk)]


class FakeConfig:
    base_url = "https://mail.contoso.test"


@contextlib.asynccontextmanager
async def make_world(tmp_path: Path, engine: str = "sqlite") -> AsyncIterator[World]:
    async with scratch_store(engine, tmp_path) as store:
        await store.put_tenant(Tenant(domain="contoso.com"))
        alice = await store.create_user("alice@contoso.com", "demo-pass", "Alice Wood")
        bob = await store.create_user("bob@contoso.com", "demo-pass", "Bob Stone")
        await store.put_clock(ClockRow(mode="manual", offset_s=0, frozen_at=START))
        clock = Clock(store)
        await clock.load()
        hub = RecordingHub()
        access = AccessService(store, clock, hub, FakeConfig())
        yield World(store, clock, access, hub, alice, bob)
