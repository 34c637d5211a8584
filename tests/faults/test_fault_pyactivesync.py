"""Issue 13's acceptance with pyactivesync (an EAS client we did not write) over HTTPS: 503 +
Retry-After, 142 then Provision, a dropped Sync resent, a lost sync state, the seeded
probability, ``after``/``count``, a rule that survives a restart, and a remote wipe reaching
the client at its next request."""
from __future__ import annotations

import shutil

import pytest
import requests
from faults_helpers import add_rule, device_pk, rules
from pyactivesync.exceptions import EASError, StatusError
from server_fixtures import ADMIN_TOKEN, DB_NAME, provision_request, pyactivesync_client, running

from gateway.config import Address, Config
from gateway.observe import OBSERVE
from protocol.xml import E, child

DEVICE = "PYACTIVESYNC0001"
INBOX = "2"


@pytest.fixture
async def client(live_server):
    eas = pyactivesync_client(live_server, device_id=DEVICE)
    yield eas
    await eas.close()


async def full_sync(client, folder_id=INBOX, key="0"):
    """Sync until nothing more: the server ids the client holds, and the last key."""
    if key == "0":
        key = (await client.sync_folder(folder_id)).sync_key
    held: set[str] = set()
    while True:
        result = await client.sync_folder(folder_id, key, window_size=25)
        key = result.sync_key
        held |= {item.server_id for item in result.added}
        held -= set(result.deleted)
        if not result.more_available:
            return held, key


async def inbox_ids(live_server) -> set[str]:
    owner = await live_server.store.get_user("alice@contoso.com")
    return {item.server_id for item in await live_server.store.list_items(owner.id, INBOX)}


async def deliver(live_server, count: int) -> None:
    for n in range(count):
        status, _ = await live_server.admin("POST", "/users/alice@contoso.com/messages",
                                            {"subject": f"pyactivesync fault {n}"})
        assert status == 201


async def test_503_with_retry_after_then_the_sync_succeeds(live_server, client):
    await add_rule(live_server, device_id=DEVICE, command="Sync", action="http", status=503,
                   retry_after=1, count=1)
    held, _ = await full_sync(client)  # pyactivesync retries a Sync after a 5xx
    assert held == await inbox_ids(live_server)
    pk = await device_pk(live_server, DEVICE)
    refused = [e for e in live_server.app[OBSERVE].traces.entries(pk) if e.response_status == 503]
    assert len(refused) == 1 and ("Retry-After", "1") in refused[0].response_headers


async def test_status_142_then_provision_and_go_on(live_server, client):
    await client.provision()
    await add_rule(live_server, device_id=DEVICE, command="FolderSync", action="status",
                   status=142, count=1)
    with pytest.raises(StatusError) as refused:
        await client.list_folders()
    assert refused.value.code == "142"
    await client.provision()
    assert any(folder.name == "Inbox" for folder in await client.list_folders())


async def test_drop_after_sync_resent_with_the_same_key(live_server, client):
    held, key = await full_sync(client)
    await deliver(live_server, 3)
    await add_rule(live_server, device_id=DEVICE, command="Sync", action="drop-after", count=1)
    with pytest.raises(requests.ConnectionError):
        await client.sync_folder(INBOX, key, window_size=25)
    again = await client.sync_folder(INBOX, key, window_size=25)  # the client's resend
    new = [item.server_id for item in again.added]
    assert len(new) == len(set(new)) == 3
    assert held | set(new) == await inbox_ids(live_server)
    after = await client.sync_folder(INBOX, again.sync_key, window_size=25)
    assert after.added == [] and after.changed == []


async def test_reset_state_then_resync_from_zero(live_server, client):
    held, key = await full_sync(client)
    await add_rule(live_server, device_id=DEVICE, command="Sync", action="reset-state", count=1)
    with pytest.raises(StatusError) as stale:
        await client.sync_folder(INBOX, key, window_size=25)
    assert stale.value.code == "3"
    again, _ = await full_sync(client)
    assert again == held == await inbox_ids(live_server)


async def outcomes(client, calls: int) -> list[str]:
    seen = []
    for _ in range(calls):
        try:
            await client.list_folders()
            seen.append("ok")
        except requests.HTTPError as error:
            seen.append(str(error.response.status_code))
    return seen


async def test_seeded_probability_gives_the_same_sequence_twice(live_server):
    runs = []
    for device_id in ("PYAS-RUN-ONE", "PYAS-RUN-TWO"):
        client = pyactivesync_client(live_server, device_id=device_id)
        await client.provision()
        await live_server.admin("DELETE", "/faults")
        await add_rule(live_server, device_id=device_id, command="FolderSync", action="http",
                       status=507, probability=0.2, seed=2026)
        runs.append(await outcomes(client, 20))
        await client.close()
    assert runs[0] == runs[1]
    assert 0 < runs[0].count("507") < 20


async def test_after_and_count(live_server, client):
    await client.provision()
    await add_rule(live_server, device_id=DEVICE, command="FolderSync", action="http",
                   status=507, after=1, count=2)
    assert await outcomes(client, 5) == ["ok", "507", "507", "ok", "ok"]
    [rule] = await rules(live_server)
    assert rule["active"] is False and rule["fired"] == 2


async def test_remote_wipe_reaches_pyactivesync_at_its_next_request(live_server, client):
    await client.provision()
    await client.list_folders()
    pk = await device_pk(live_server, DEVICE)
    await live_server.admin("POST", f"/devices/{pk}/wipe", {})
    with pytest.raises(StatusError) as told:
        await client.list_folders()
    assert told.value.code == "140"
    with pytest.raises(EASError):  # its Provision gets the wipe order, not a policy key
        await client.provision()
    order = await live_server.eas("Provision", provision_request(), device_id=DEVICE,
                                  provision=False)
    assert child(order.document, "Provision:RemoteWipe") is not None
    ack = E("Provision:Provision", E("Provision:RemoteWipe", E("Provision:Status", "1")))
    await live_server.eas("Provision", ack, device_id=DEVICE, provision=False)
    status, device = await live_server.admin("GET", f"/devices/{pk}")
    assert device["state"] == "wiped"


async def test_a_rule_survives_a_restart(demo_database_template, tmp_path):
    server_dir = tmp_path / "restart"
    shutil.copytree(demo_database_template, server_dir)
    config = Config(db_url=f"sqlite+aiosqlite:///{server_dir / DB_NAME}",
                    http=Address("127.0.0.1", 0), https=Address("127.0.0.1", 0),
                    var_dir=server_dir / "var", admin_token=ADMIN_TOKEN, clock_mode="manual")
    async with running(config) as server:
        await add_rule(server, device_id=DEVICE, command="FolderSync", action="http",
                       status=507, count=1)
    async with running(config) as server:
        [rule] = await rules(server)
        assert rule["fired"] == 0 and rule["active"]
        client = pyactivesync_client(server, device_id=DEVICE)
        await client.provision()
        assert await outcomes(client, 2) == ["507", "ok"]
        await client.close()
