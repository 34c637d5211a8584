"""Shared steps of the fault injection tests: rules through the admin API, and a raw Sync of
the Inbox over the live gateway's HTTP port."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from lxml import etree

from protocol import wbxml
from protocol.xml import E, child, children, text

INBOX = "2"


async def add_rule(live_server: Any, **rule: Any) -> dict[str, Any]:
    status, answer = await live_server.admin("POST", "/faults", rule)
    assert status == 201, answer
    return answer


async def rules(live_server: Any) -> list[dict[str, Any]]:
    status, answer = await live_server.admin("GET", "/faults")
    assert status == 200
    return answer


async def device_pk(live_server: Any, device_id: str, user: str = "alice@contoso.com") -> int:
    owner = await live_server.store.get_user(user)
    device = await live_server.store.get_device(owner.id, device_id)
    assert device is not None
    return device.id


def sync_document(key: str, folder: str = INBOX, window: int = 100) -> etree._Element:
    return E("AirSync:Sync", E("AirSync:Collections", E(
        "AirSync:Collection", E("AirSync:SyncKey", key), E("AirSync:CollectionId", folder),
        E("AirSync:WindowSize", str(window)))))


def collection_of(document: etree._Element | None) -> etree._Element:
    assert document is not None
    found = document.find("{AirSync:}Collections/{AirSync:}Collection")
    assert found is not None, etree.tostring(document)
    return found


def added_ids(collection: etree._Element) -> list[str]:
    commands = child(collection, "AirSync:Commands")
    if commands is None:
        return []
    return [text(add, "AirSync:ServerId") for add in children(commands, "AirSync:Add")]


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


async def raw_post(live_server: Any, command: str, document: etree._Element, *,
                   device_id: str, policy_key: str) -> RawAnswer | Exception:
    """One POST on a fresh connection, the body left undecoded; the exception when the
    server hangs up instead."""
    query = {"Cmd": command, "User": "alice@contoso.com", "DeviceId": device_id,
             "DeviceType": "iPhone"}
    headers = {"Authorization": aiohttp.encode_basic_auth("alice@contoso.com", "demo-pass"),
               "MS-ASProtocolVersion": "16.1", "X-MS-PolicyKey": policy_key,
               "Content-Type": "application/vnd.ms-sync.wbxml"}
    async with aiohttp.ClientSession() as session:
        try:
            async with session.post(live_server.endpoint, params=query, headers=headers,
                                    data=wbxml.encode(document),
                                    timeout=aiohttp.ClientTimeout(total=20)) as response:
                return RawAnswer(response.status, dict(response.headers), await response.read())
        except aiohttp.ClientError as error:
            return error
