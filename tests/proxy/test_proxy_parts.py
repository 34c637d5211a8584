"""The proxy's parts on their own: settings checked at start, which headers cross, and the
handover of gateway-issued SyncKeys after a quarantine (over a real store)."""
from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Config, ConfigError
from gateway.proxy import handover
from gateway.proxy.headers import to_client, to_upstream
from gateway.proxy.service import held_seconds
from gateway.proxy.settings import UpstreamSettings, check, endpoint_url
from gateway.sync.hierarchy import HIERARCHY
from gateway.synckeys import SyncKey
from protocol.xml import E, child, text
from store.types import Device, SyncState, Tenant


# --- how long the upstream may hold a request --------------------------------------------
@pytest.mark.parametrize(("command", "document", "seconds"), [
    ("Ping", E("Ping:Ping", E("Ping:HeartbeatInterval", "480")), 480.0),
    ("Ping", E("Ping:Ping"), 900.0),  # none stated: the longest
    ("Ping", None, 900.0),
    ("Ping", E("Ping:Ping", E("Ping:HeartbeatInterval", "99999")), 3540.0),
    ("Ping", E("Ping:Ping", E("Ping:HeartbeatInterval", "inf")), 900.0),
    ("Ping", E("Ping:Ping", E("Ping:HeartbeatInterval", "nan")), 900.0),
    ("Sync", E("AirSync:Sync", E("AirSync:Wait", "5")), 300.0),
    ("Sync", E("AirSync:Sync", E("AirSync:Wait", "1e9")), 0.0),
    ("Sync", E("AirSync:Sync", E("AirSync:Wait", "600")), 3540.0),
    ("Sync", E("AirSync:Sync", E("AirSync:HeartbeatInterval", "²")), 0.0),
    ("FolderSync", E("FolderHierarchy:FolderSync"), 0.0),
])
def test_held_seconds_are_bounded_whole_numbers(command, document, seconds) -> None:
    assert held_seconds(command, document, 900.0) == seconds


# --- settings ---------------------------------------------------------------------------
def test_endpoint_urls() -> None:
    assert str(endpoint_url("https://mail.example.com")) == \
        "https://mail.example.com/Microsoft-Server-ActiveSync"
    assert str(endpoint_url(" http://10.0.0.5:8080/eas ")) == "http://10.0.0.5:8080/eas"
    for bad in ("ftp://x", "mail.example.com", "https://x/eas?Cmd=Sync", "https://"):
        with pytest.raises(ConfigError, match="upstream"):
            endpoint_url(bad)


def test_settings_are_checked_before_serving(tmp_path: Path) -> None:
    check(Config())  # store mode: nothing to check
    with pytest.raises(ConfigError, match="need an upstream"):
        check(Config(upstream_insecure=True))
    with pytest.raises(ConfigError, match="exclude each other"):
        check(Config(upstream="https://x", upstream_insecure=True,
                     upstream_ca=tmp_path / "ca.pem"))
    with pytest.raises(ConfigError, match="cannot load"):
        check(Config(upstream="https://x", upstream_ca=tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="upstream_timeout_s"):
        check(Config(upstream="https://x", upstream_timeout_s=0))
    assert UpstreamSettings.from_config(Config(upstream="https://x",
                                               upstream_insecure=True)).ssl is False
    loaded = Config.load(env={"EASGATE_UPSTREAM": "https://x", "EASGATE_UPSTREAM_INSECURE": "1"})
    assert loaded.upstream == "https://x" and loaded.upstream_insecure is True


# --- headers ----------------------------------------------------------------------------
def test_hop_by_hop_headers_stop_end_to_end_ones_cross() -> None:
    sent = to_upstream([
        ("Host", "gateway"), ("Content-Length", "10"), ("Authorization", "Basic eA=="),
        ("Connection", "keep-alive, X-Secret-Hop"), ("X-Secret-Hop", "1"), ("TE", "trailers"),
        ("Keep-Alive", "timeout=5"), ("Proxy-Authorization", "Basic eQ=="),
        ("X-Forwarded-For", "10.1.1.1"), ("X-MS-PolicyKey", "7"), ("Cookie", "a=1"),
    ], "127.0.0.1")
    assert list(sent.items()) == [("Authorization", "Basic eA=="), ("X-MS-PolicyKey", "7"),
                                  ("Cookie", "a=1"), ("X-Forwarded-For", "10.1.1.1, 127.0.0.1")]
    answered = to_client([("Transfer-Encoding", "chunked"), ("Set-Cookie", "a=1"),
                          ("Set-Cookie", "b=2"), ("Upgrade", "h2c"), ("Content-Length", "3"),
                          ("MS-Server-ActiveSync", "15.1")])
    assert list(answered.items()) == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                      ("MS-Server-ActiveSync", "15.1")]


# --- the handover of gateway keys -------------------------------------------------------
@pytest.fixture
async def served_device(sqlite_store):  # type: ignore[no-untyped-def]
    """A device the gateway served itself: its hierarchy and Inbox states are local."""
    store = sqlite_store
    await store.put_tenant(Tenant(domain="contoso.com"))
    user = await store.create_user("alice@contoso.com", None, "alice")
    device = await store.create_device(Device(id=0, user_id=user.id,
                                              user_address=user.address, device_id="PHONE1",
                                              device_type="iPhone"))
    for collection in (HIERARCHY, "2"):
        key = SyncKey.first()
        await store.put_sync_state(SyncState(device_pk=device.id, collection_id=collection,
                                             sync_key=key.counter, position=0,
                                             data={"chain": key.chain}))
    await handover.mark_served_locally(store, device)
    return store, await store.get_device_by_pk(device.id)


async def _key(store, device, collection: str) -> str:  # type: ignore[no-untyped-def]
    state = await store.get_sync_state(device.id, collection)
    return str(SyncKey(state.data["chain"], state.sync_key))


async def test_gateway_keys_are_answered_as_invalid(served_device) -> None:  # type: ignore[no-untyped-def]
    store, device = served_device
    hierarchy_key, inbox_key = await _key(store, device, HIERARCHY), await _key(store, device, "2")
    folder_sync = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", hierarchy_key))
    answer = await handover.answer_gateway_keys(store, device, "FolderSync", folder_sync)
    assert text(answer.document, "FolderHierarchy:Status") == "9"
    ping = await handover.answer_gateway_keys(store, device, "Ping", None)
    assert text(ping.document, "Ping:Status") == "7"
    estimate = E("GetItemEstimate:GetItemEstimate", E("GetItemEstimate:Collections", E(
        "GetItemEstimate:Collection", E("AirSync:SyncKey", inbox_key),
        E("GetItemEstimate:CollectionId", "2"))))
    answer = await handover.answer_gateway_keys(store, device, "GetItemEstimate", estimate)
    assert text(child(answer.document, "GetItemEstimate:Response"),
                "GetItemEstimate:Status") == "4"
    # A Sync showing the gateway's Inbox key and an upstream key for another folder.
    sync = E("AirSync:Sync", E("AirSync:Collections",
             E("AirSync:Collection", E("AirSync:SyncKey", inbox_key),
               E("AirSync:CollectionId", "2")),
             E("AirSync:Collection", E("AirSync:SyncKey", str(SyncKey.first())),
               E("AirSync:CollectionId", "5"))))
    answer = await handover.answer_gateway_keys(store, device, "Sync", sync)
    (collection,) = child(answer.document, "AirSync:Collections")
    assert (text(collection, "AirSync:CollectionId"), text(collection, "AirSync:Status")) \
        == ("2", "3")
    assert await store.get_sync_state(device.id, "2") is None  # its next key is 0
    assert await handover.answer_gateway_keys(store, device, "Sync", sync) is None


async def test_folder_sync_zero_ends_the_handover(served_device) -> None:  # type: ignore[no-untyped-def]
    store, device = served_device
    other_key = str(SyncKey.first())  # one the upstream gave: passed on
    unknown = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", other_key))
    assert await handover.answer_gateway_keys(store, device, "FolderSync", unknown) is None
    restart = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))
    assert await handover.answer_gateway_keys(store, device, "FolderSync", restart) is None
    device = await store.get_device_by_pk(device.id)
    assert not device.extra[handover.SERVED_LOCALLY]
    assert await store.get_sync_state(device.id, HIERARCHY) is None
    assert await handover.answer_gateway_keys(store, device, "Ping", None) is None
