"""Hostile but authenticated EAS requests against a live gateway: mutated bodies, the wrong
document for the command, huge integers, deep nesting, invalid UTF-8, forged ids, random
query strings and versions. Every answer is a protocol answer (never a 5xx, never a
traceback, never an undecodable WBXML body: see `hostile.is_protocol_answer`), no request is logged as an unexpected failure,
and the gateway answers a normal client afterwards."""
from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from urllib.parse import urlencode

import aiohttp
import pytest
from hostile import fit_to_mailbox, hostile_body, hostile_parameters, is_protocol_answer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_fixtures import basic_auth

from protocol import versions, wbxml
from protocol.xml import E, child, children, text

# Held requests (a Ping or a waiting Sync whose damaged body is still valid) end within
# the test: Ping heartbeats are bounded to 1–2 s here; a Sync Wait is cut by the client.
SETTINGS = {"ping_min_heartbeat_s": 1, "ping_max_heartbeat_s": 2}
CLIENT_TIMEOUT_S = 4.0
DEVICES = (("FUZZ0001", "iPhone", "16.1"), ("FUZZ0002", "Android", "14.1"),
           ("FUZZ0003", "Android", "12.1"))
CONTENT_TYPES = ("application/vnd.ms-sync.wbxml", "application/vnd.ms-sync.wbxml",
                 "message/rfc822", "text/plain; charset=utf-8", "")


@pytest.fixture
async def fuzz_server(limited_server):
    async with limited_server(**SETTINGS) as server:
        server.keys = {device: await server.provision(device_id=device, device_type=kind,
                                                      version=version)
                       for device, kind, version in DEVICES}
        server.state = {device: await _sync_state(server, device, kind, version)
                        for device, kind, version in DEVICES}
        server.answers = Counter()
        yield server


async def _sync_state(server, device: str, kind: str, version: str) -> dict[str, str]:
    """The device's hierarchy SyncKey and, per mail folder, a current collection SyncKey:
    what a real client holds, so that damaged requests get past the SyncKey check."""
    common = {"device_id": device, "device_type": kind, "version": version}
    hierarchy = await server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                 E("FolderHierarchy:SyncKey", "0")), **common)
    state = {"": text(hierarchy.document, "FolderHierarchy:SyncKey")}
    changes = child(hierarchy.document, "FolderHierarchy:Changes")
    for add in children(changes, "FolderHierarchy:Add"):
        if text(add, "FolderHierarchy:Type") in ("2", "12"):  # Inbox and mail folders
            folder = text(add, "FolderHierarchy:ServerId")
            answer = await server.eas("Sync", E("AirSync:Sync", E("AirSync:Collections", E(
                "AirSync:Collection", E("AirSync:SyncKey", "0"),
                E("AirSync:CollectionId", folder)))), **common)
            state[folder] = text(answer.document.find(".//{AirSync:}Collection"),
                                 "AirSync:SyncKey")
    return state


async def _post(server, query: str, body: bytes, headers: dict[str, str]
                ) -> tuple[int, str, bytes, str]:
    """The HTTP status, the reason header, the body and its content type."""
    session = await server.session()
    async with session.post(f"{server.endpoint}?{query}", data=body, headers=headers,
                            timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)) as answer:
        return (answer.status, answer.headers.get("X-Easgate-Reason", ""), await answer.read(),
                answer.content_type)


def _request(server, seed: int, version: str | None, raw_query: str | None):
    rng = random.Random(seed)
    device, kind, device_version = rng.choice(DEVICES)
    command, body = hostile_body(rng, fit_to_mailbox(server.state[device]))
    query = {"Cmd": command, "User": "alice@contoso.com", "DeviceId": device,
             "DeviceType": kind, **hostile_parameters(rng)}
    headers = {"Authorization": basic_auth("alice@contoso.com"),
               "MS-ASProtocolVersion": version or device_version,
               "X-MS-PolicyKey": server.keys[device] if rng.random() < 0.9 else "1234",
               "User-Agent": rng.choice(["Apple-iPhone14C2/2104.92", "\u00ff" * 300, ""])}
    content_type = rng.choice(CONTENT_TYPES)
    if content_type:
        headers["Content-Type"] = content_type
    return command, raw_query if raw_query is not None else urlencode(query), body, headers


@settings(max_examples=600, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1),
       version=st.none() | st.sampled_from([*versions.SUPPORTED, "2.5", "99.9"]),
       raw_query=st.none() | st.text(max_size=80))
async def test_hostile_requests_get_protocol_answers(fuzz_server, seed, version, raw_query):
    command, query, body, headers = _request(fuzz_server, seed, version, raw_query)
    try:
        status, reason, payload, content_type = await _post(fuzz_server, query, body, headers)
    except TimeoutError:
        # Only a request that may legitimately be held can outlast the client.
        assert command in ("Ping", "Sync"), f"{command} was not answered"
        fuzz_server.answers["held"] += 1
        return
    fuzz_server.answers[status] += 1
    assert is_protocol_answer(command, status, reason), (command, status, reason)
    assert b"Traceback" not in payload and b"File \"" not in payload
    if payload and content_type == "application/vnd.ms-sync.wbxml":
        wbxml.decode(payload)


async def test_the_gateway_stays_whole_after_the_fuzzing(fuzz_server, caplog):
    with caplog.at_level(logging.ERROR):
        await test_hostile_requests_get_protocol_answers.hypothesis.inner_test(
            fuzz_server, seed=1, version=None, raw_query=None)
        rng = random.Random(2026)
        held = []
        for n in range(150):
            command, query, body, headers = _request(fuzz_server, rng.randrange(2**32), None, None)
            if command in ("Ping", "Sync"):
                held.append(asyncio.create_task(_post(fuzz_server, query, body, headers)))
                continue
            status, reason, _, _ = await _post(fuzz_server, query, body, headers)
            assert is_protocol_answer(command, status, reason), (n, command, status, reason)
        for task in held:
            try:
                status, reason, _, _ = await task
                assert is_protocol_answer("Sync", status, reason)
            except TimeoutError:
                pass
    # The request log says ERROR for any 5xx; the dispatcher and aiohttp log failures.
    unexpected = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
                  and r.name in ("easgate.http", "aiohttp.server", "aiohttp.web")]
    assert unexpected == []
    answer = await fuzz_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                   E("FolderHierarchy:SyncKey", "0")),
                                   device_id="FUZZAFTER01")
    assert answer.eas_status == 1

