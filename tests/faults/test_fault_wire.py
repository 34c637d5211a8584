"""Each fault action over the live gateway's real sockets, with a raw client: what reaches
the wire, what the store holds afterwards, and how the fault is recorded (trace, audit,
metrics)."""
from __future__ import annotations

import time

from faults_helpers import (
    INBOX,
    add_rule,
    added_ids,
    collection_of,
    device_pk,
    raw_post,
    rules,
    sync_document,
)

from gateway.observe import OBSERVE
from protocol.xml import E, text

DEVICE = "TESTDEVICE0001"


async def primed_inbox(live_server) -> str:
    """The Inbox's first SyncKey (the answer to SyncKey 0)."""
    answer = await live_server.eas("Sync", sync_document("0"))
    return text(collection_of(answer.document), "AirSync:SyncKey")


async def test_http_503_carries_retry_after_and_throttle_then_the_rule_retires(live_server):
    await add_rule(live_server, command="sync", action="http", status=503, retry_after=7,
                   throttle="CommandFrequency", count=1)
    first = await live_server.eas("Sync", sync_document("0"))
    assert first.status == 503 and first.document is None
    assert first.headers["Retry-After"] == "7"
    assert first.headers["X-MS-ASThrottle"] == "CommandFrequency"
    assert first.headers["X-Easgate-Fault"]
    second = await live_server.eas("Sync", sync_document("0"))
    assert second.status == 200 and second.eas_status is None
    [rule] = await rules(live_server)
    assert (rule["seen"], rule["fired"], rule["active"]) == (1, 1, False)


async def test_http_451_and_401_send_the_headers_a_real_server_sends(live_server):
    await add_rule(live_server, command="FolderSync", action="http", status=451,
                   location="https://mail2.contoso.com/Microsoft-Server-ActiveSync", count=1)
    await add_rule(live_server, command="FolderSync", action="http", status=401, count=1)
    moved = await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                  E("FolderHierarchy:SyncKey", "0")))
    assert moved.status == 451
    assert moved.headers["X-MS-Location"].startswith("https://mail2.contoso.com/")
    refused = await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                    E("FolderHierarchy:SyncKey", "0")))
    assert refused.status == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")


async def test_status_fault_answers_the_commands_own_status(live_server):
    await add_rule(live_server, command="Sync", action="status", status=12, count=1)
    answer = await live_server.eas("Sync", sync_document("0"))
    assert answer.status == 200 and answer.eas_status == 12
    assert answer.document.tag == "{AirSync:}Sync"


async def test_status_142_on_12_1_is_http_449(live_server):
    await add_rule(live_server, command="FolderSync", action="status", status=142, count=1)
    answer = await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                   E("FolderHierarchy:SyncKey", "0")),
                                   version="12.1", device_id="LEGACY1")
    assert answer.status == 449


async def test_delay_holds_the_answer(live_server):
    await add_rule(live_server, command="Sync", action="delay", ms=400, count=1)
    started = time.perf_counter()
    answer = await live_server.eas("Sync", sync_document("0"))
    assert answer.status == 200 and time.perf_counter() - started >= 0.4


async def test_slow_sends_at_the_given_rate(live_server):
    key = await primed_inbox(live_server)
    await add_rule(live_server, command="Sync", action="slow", bytes_per_s=20000, count=1)
    started = time.perf_counter()
    answer = await live_server.eas("Sync", sync_document(key, window=5))
    elapsed = time.perf_counter() - started
    assert answer.status == 200 and len(added_ids(collection_of(answer.document))) == 5
    assert elapsed >= len(answer.body) / 20000 * 0.8


async def test_truncate_and_corrupt_alter_the_body(live_server):
    key = await primed_inbox(live_server)
    policy_key = await live_server.provision()
    await add_rule(live_server, command="Sync", action="truncate", bytes=10, count=1)
    cut = await raw_post(live_server, "Sync", sync_document(key, window=5), device_id=DEVICE,
                         policy_key=policy_key)
    assert cut.status == 200 and len(cut.body) == 10
    whole = await raw_post(live_server, "Sync", sync_document(key, window=5),  # the resend
                           device_id=DEVICE, policy_key=policy_key)
    await add_rule(live_server, command="Sync", action="corrupt", bytes=4, seed=3, count=1)
    broken = await raw_post(live_server, "Sync", sync_document(key, window=5),
                            device_id=DEVICE, policy_key=policy_key)
    assert len(broken.body) == len(whole.body)
    assert sum(a != b for a, b in zip(broken.body, whole.body, strict=True)) == 4


async def test_drop_before_runs_nothing_and_drop_after_commits(live_server):
    key = await primed_inbox(live_server)
    policy_key = await live_server.provision()
    pk = await device_pk(live_server, DEVICE)
    await add_rule(live_server, command="Sync", action="drop-before", count=1)
    dropped = await raw_post(live_server, "Sync", sync_document(key, window=5),
                             device_id=DEVICE, policy_key=policy_key)
    assert isinstance(dropped, Exception)
    assert (await live_server.store.get_sync_state(pk, INBOX)).sync_key == 1  # not run
    await add_rule(live_server, command="Sync", action="drop-after", count=1)
    dropped = await raw_post(live_server, "Sync", sync_document(key, window=5),
                             device_id=DEVICE, policy_key=policy_key)
    assert isinstance(dropped, Exception)
    assert (await live_server.store.get_sync_state(pk, INBOX)).sync_key == 2  # committed
    resent = await live_server.eas("Sync", sync_document(key, window=5))
    replay = collection_of(resent.document)
    assert len(added_ids(replay)) == 5
    assert (await live_server.store.get_sync_state(pk, INBOX)).sync_key == 2  # same answer


async def test_reset_state_forgets_the_sync_state(live_server):
    key = await primed_inbox(live_server)
    await add_rule(live_server, command="Sync", action="reset-state", count=1)
    answer = await live_server.eas("Sync", sync_document(key))
    assert text(collection_of(answer.document), "AirSync:Status") == "3"
    again = await live_server.eas("Sync", sync_document("0"))
    assert text(collection_of(again.document), "AirSync:Status") == "1"


async def test_injected_faults_are_marked_in_trace_audit_and_metrics(live_server):
    await add_rule(live_server, command="Sync", action="http", status=500, count=1)
    await live_server.eas("Sync", sync_document("0"))
    pk = await device_pk(live_server, DEVICE)
    trace = live_server.app[OBSERVE].traces.entries(pk)
    assert "http 500" in trace[-1].notes["injected-fault"]
    events = await live_server.store.list_events(pk)
    assert events[-1].kind == "fault-injected" and events[-1].detail["injected"] is True
    session = await live_server.session()
    async with session.get(f"{live_server.http_url}/metrics") as response:
        metrics = await response.text()
    assert 'easgate_faults_injected_total{action="http"} 1.0' in metrics


async def test_a_blocked_device_still_gets_its_block(live_server):
    await live_server.provision()
    await add_rule(live_server, action="http", status=503)
    await live_server.services.access.set_mode("contoso.com", "outlook-only")
    answer = await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                   E("FolderHierarchy:SyncKey", "0")))
    assert answer.status == 200 and answer.eas_status == 129
    [rule] = await rules(live_server)
    assert rule["seen"] == 0
