"""Issue 13's acceptance with our own emulator as the client, against the live gateway:
503 + Retry-After waited out, 142 answered by provisioning again, a Sync dropped after it
committed resent without loss or double, a lost sync state resynced from 0, the seeded
probability repeating, ``after``/``count``, and remote wipe (whole device, account only,
cancelled)."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from faults_helpers import add_rule, device_pk, rules

from emulator.client import Account, EASClient
from emulator.profiles import get_profile
from emulator.session import Event, Session

ALICE = Account("alice@contoso.com", "demo-pass")


@pytest.fixture
async def device(live_server):
    """``await device("iphone-mail", "seed")``: an emulated device (not yet synced) with
    its reported events in ``.events``."""
    http = aiohttp.ClientSession()

    async def make(profile_name: str = "iphone-mail", seed: str = "faults") -> Session:
        profile = get_profile(profile_name)
        events: list[Event] = []
        client = EASClient(http, live_server.http_url, ALICE, profile,
                           profile.device_id(seed, ALICE.address))
        session = Session(client, on_event=events.append)
        session.events = events  # type: ignore[attr-defined]
        return session

    yield make
    await http.close()


def steps(session: Session) -> list[tuple[str, int, int | None]]:
    return [(e.step, e.http_status, e.status) for e in session.events if e.kind == "exchange"]


async def inbox_ids(live_server) -> set[str]:
    owner = await live_server.store.get_user("alice@contoso.com")
    return {item.server_id for item in await live_server.store.list_items(owner.id, "2")}


async def deliver(live_server, count: int) -> None:
    for n in range(count):
        status, _ = await live_server.admin("POST", "/users/alice@contoso.com/messages",
                                            {"subject": f"fault test {n}", "body": "hello"})
        assert status == 201


async def test_503_with_retry_after_is_waited_out(live_server, device):
    session = await device()
    await add_rule(live_server, device_id=session.client.device_id, command="Sync",
                   action="http", status=503, retry_after=1, count=1)
    started = time.perf_counter()
    assert await session.first_sync() == "synced"
    assert time.perf_counter() - started >= 1.0
    answered = [(step, http) for step, http, _ in steps(session) if step.startswith("Sync")]
    assert answered[0][1] == 503 and answered[1][1] == 200
    assert {i for i in session.inbox.items} == await inbox_ids(live_server)


async def test_status_142_makes_the_client_provision_again(live_server, device):
    session = await device()
    assert await session.first_sync() == "synced"
    before = session.client.policy_key
    await add_rule(live_server, device_id=session.client.device_id, command="Sync",
                   action="status", status=142, count=1)
    await deliver(live_server, 1)
    result = await session.sync(session.inbox.folder)
    assert result.added == 1
    assert session.client.policy_key != before
    assert [s for s, _, _ in steps(session)][-4:-1] == [
        "Sync Inbox", "Provision (policy)", "Provision (acknowledge)"]


async def test_drop_after_a_delivering_sync_loses_and_doubles_nothing(live_server, device):
    session = await device()
    assert await session.first_sync() == "synced"
    await deliver(live_server, 3)
    await add_rule(live_server, device_id=session.client.device_id, command="Sync",
                   action="drop-after", count=1)
    result = await session.sync(session.inbox.folder)
    assert result.added == 3  # each new mail once, from the resent request's answer
    assert set(session.inbox.items) == await inbox_ids(live_server)
    notes = [e.detail for e in session.events if e.kind == "note"]
    assert any("sending it again" in note for note in notes)
    assert await session.sync(session.inbox.folder) == type(result)()  # nothing more


async def test_reset_state_resyncs_from_zero_to_the_same_items(live_server, device):
    session = await device()
    assert await session.first_sync() == "synced"
    held = set(session.inbox.items)
    await add_rule(live_server, device_id=session.client.device_id, command="Sync",
                   action="reset-state", count=1)
    await session.sync(session.inbox.folder)
    assert any("starting the folder over" in e.detail for e in session.events)
    assert set(session.inbox.items) == held == await inbox_ids(live_server)


async def test_seeded_probability_repeats_its_fault_sequence(live_server, device):
    async def run(seed_name: str) -> list[int]:
        session = await device(seed=seed_name)
        assert await session.first_sync() == "synced"
        await live_server.admin("DELETE", "/faults")
        await add_rule(live_server, device_id=session.client.device_id, command="Sync",
                       action="http", status=500, probability=0.2, seed=42)
        pattern = []
        for _ in range(25):
            answer = await session.client.command("Sync", None)
            pattern.append(answer.http_status)
        return pattern

    first, second = await run("one"), await run("two")
    assert first == second
    assert 0 < first.count(500) < 25


async def test_after_lets_requests_through_then_count_retires(live_server, device):
    session = await device()
    assert await session.first_sync() == "synced"
    await add_rule(live_server, device_id=session.client.device_id, command="Sync",
                   action="http", status=500, after=2, count=2)
    codes = [(await session.client.command("Sync", None)).http_status for _ in range(6)]
    assert codes == [200, 200, 500, 500, 200, 200]
    [rule] = await rules(live_server)
    assert (rule["seen"], rule["fired"], rule["active"]) == (4, 2, False)


# --- remote wipe ---------------------------------------------------------------------------
async def test_remote_wipe_reaches_a_pinging_device_and_is_acknowledged(live_server, device):
    session = await device()
    assert await session.first_sync() == "synced"
    pk = await device_pk(live_server, session.client.device_id)
    pinging = asyncio.create_task(session.ping_rounds(2, heartbeat=300))
    await asyncio.sleep(0.3)  # the first Ping is held
    status, ordered = await live_server.admin("POST", f"/devices/{pk}/wipe", {})
    assert status == 200 and ordered["state"] == "wipe-pending"
    assert await asyncio.wait_for(pinging, 20) == "wiped"
    status, wiped = await live_server.admin("GET", f"/devices/{pk}")
    assert wiped["state"] == "wiped"
    kinds = [e.kind for e in await live_server.store.list_events(pk)]
    assert kinds[-2:] == ["wipe-requested", "wiped"]
    assert ("Provision (wipe acknowledged)", 200, 1) in steps(session)


async def test_account_only_wipe_on_16_1(live_server, device):
    session = await device("outlook-ios")
    assert await session.first_sync() == "synced"
    pk = await device_pk(live_server, session.client.device_id)
    status, _ = await live_server.admin("POST", f"/devices/{pk}/wipe", {"account_only": True})
    assert status == 200
    await session.ping_rounds(1, heartbeat=300)
    assert session.wiped
    events = await live_server.store.list_events(pk)
    assert events[-1].kind == "wiped" and events[-1].detail["account_only"] is True
    assert any("account wipe" in e.detail for e in session.events)


async def test_account_only_wipe_needs_16_1(live_server, device):
    session = await device("android-gmail")  # EAS 14.1
    assert await session.first_sync() == "synced"
    pk = await device_pk(live_server, session.client.device_id)
    status, error = await live_server.admin("POST", f"/devices/{pk}/wipe",
                                            {"account_only": True})
    assert status == 409 and "16.1" in error["detail"]


async def test_a_cancelled_wipe_is_not_sent(live_server, device):
    session = await device()
    assert await session.first_sync() == "synced"
    pk = await device_pk(live_server, session.client.device_id)
    await live_server.admin("POST", f"/devices/{pk}/wipe", {})
    status, restored = await live_server.admin("DELETE", f"/devices/{pk}/wipe")
    assert status == 200 and restored["state"] == "allowed" and restored["wipe"] == "none"
    await deliver(live_server, 1)
    assert (await session.sync(session.inbox.folder)).added == 1
    assert not session.wiped
    kinds = [e.kind for e in await live_server.store.list_events(pk)]
    assert kinds[-2:] == ["wipe-requested", "wipe-cancelled"]
