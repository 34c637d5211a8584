"""ItemOperations: Fetch of items, bodies and attachments (inline and multipart),
EmptyFolderContents, and what a quarantined device may fetch."""
from __future__ import annotations

import base64
import struct

import pytest
from commandhelp import run
from synchelp import Harness

from gateway.commands.itemoperations import MULTIPART_CONTENT_TYPE
from protocol import wbxml
from protocol.xml import E, child, sub, text
from store.types import FolderType


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


async def inbox(env, address="alice@contoso.com"):
    user = await env.store.get_user(address)
    folder = await env.store.find_folder(user.id, FolderType.INBOX)
    return await env.store.list_items(user.id, folder.id)


def fetch_item(collection_id, server_id, body_type=2, truncation=None):
    fetch = E("ItemOperations:Fetch", E("ItemOperations:Store", "Mailbox"),
              E("AirSync:CollectionId", collection_id), E("AirSync:ServerId", server_id))
    preference = sub(sub(fetch, "ItemOperations:Options"), "AirSyncBase:BodyPreference")
    sub(preference, "AirSyncBase:Type", body_type)
    if truncation is not None:
        sub(preference, "AirSyncBase:TruncationSize", truncation)
    return E("ItemOperations:ItemOperations", fetch)


def fetch_attachment(file_reference, byte_range=None):
    fetch = E("ItemOperations:Fetch", E("ItemOperations:Store", "Mailbox"),
              E("AirSyncBase:FileReference", file_reference))
    if byte_range:
        sub(sub(fetch, "ItemOperations:Options"), "ItemOperations:Range", byte_range)
    return E("ItemOperations:ItemOperations", fetch)


def fetched(document):
    return document.find("{ItemOperations:}Response/{ItemOperations:}Fetch")


async def test_fetch_an_item_with_its_html_body(env):
    alice = await env.client()
    mail = next(m for m in await inbox(env) if m.body_html)
    answer = await run(alice, "ItemOperations", fetch_item(mail.folder_id, mail.server_id))
    result = fetched(answer.document)
    assert text(result, "ItemOperations:Status") == "1"
    assert text(result, "AirSync:Class") == "Email"
    properties = child(result, "ItemOperations:Properties")
    assert text(properties, "Email:Subject") == mail.data["Subject"]
    body = child(properties, "AirSyncBase:Body")
    assert text(body, "AirSyncBase:Type") == "2"
    assert text(body, "AirSyncBase:Data") == mail.body_html


async def test_fetch_attachment_inline_and_by_range(env):
    alice = await env.client()
    mail = next(m for m in await inbox(env) if m.attachments)
    reference = mail.attachments[0].file_reference
    _, content = await env.store.get_attachment(alice.user.id, reference)
    answer = await run(alice, "ItemOperations", fetch_attachment(reference))
    properties = child(fetched(answer.document), "ItemOperations:Properties")
    assert text(properties, "AirSyncBase:ContentType") == mail.attachments[0].content_type
    assert base64.b64decode(text(properties, "ItemOperations:Data")) == content
    answer = await run(alice, "ItemOperations", fetch_attachment(reference, "0-9"))
    properties = child(fetched(answer.document), "ItemOperations:Properties")
    assert base64.b64decode(text(properties, "ItemOperations:Data")) == content[:10]
    assert text(properties, "ItemOperations:Range") == "0-9"
    assert text(properties, "ItemOperations:Total") == str(len(content))


async def test_multipart_answer_carries_the_bytes_as_parts(env):
    alice = await env.client()
    mail = next(m for m in await inbox(env) if m.attachments)
    reference = mail.attachments[0].file_reference
    _, content = await env.store.get_attachment(alice.user.id, reference)
    answer = await run(alice, "ItemOperations", fetch_attachment(reference),
                       accept_multipart=True)
    assert answer.content_type == MULTIPART_CONTENT_TYPE
    count = struct.unpack_from("<i", answer.body)[0]
    spans = [struct.unpack_from("<ii", answer.body, 4 + 8 * n) for n in range(count)]
    parts = [answer.body[offset:offset + length] for offset, length in spans]
    assert count == 2 and parts[1] == content
    document = wbxml.decode(parts[0])
    properties = child(fetched(document), "ItemOperations:Properties")
    assert text(properties, "ItemOperations:Part") == "1"
    assert child(properties, "ItemOperations:Data") is None


async def test_unknown_item_attachment_or_store(env):
    alice = await env.client()
    answer = await run(alice, "ItemOperations", fetch_item("2", "2:99999"))
    assert text(fetched(answer.document), "ItemOperations:Status") == "6"
    answer = await run(alice, "ItemOperations", fetch_attachment("2:99999:1"))
    assert text(fetched(answer.document), "ItemOperations:Status") == "6"
    root = E("ItemOperations:ItemOperations", E("ItemOperations:Fetch",
             E("ItemOperations:Store", "DocumentLibrary"), E("AirSync:ServerId", "x")))
    assert text(fetched((await run(alice, "ItemOperations", root)).document),
                "ItemOperations:Status") == "9"


async def test_quarantined_device_fetches_only_its_notice(env):
    mails = await inbox(env)
    notice = mails[-1]
    other = next(m for m in mails if m.attachments)
    alice = await env.client(state="quarantined", notice_server_id=notice.server_id)
    answer = await run(alice, "ItemOperations", fetch_item(other.folder_id, other.server_id))
    assert text(fetched(answer.document), "ItemOperations:Status") == "6"
    answer = await run(alice, "ItemOperations",
                       fetch_attachment(other.attachments[0].file_reference))
    assert text(fetched(answer.document), "ItemOperations:Status") == "6"
    answer = await run(alice, "ItemOperations", fetch_item(notice.folder_id, notice.server_id))
    assert text(fetched(answer.document), "ItemOperations:Status") == "1"


async def test_empty_folder_contents(env):
    alice = await env.client()
    user = alice.user
    deleted = await env.store.find_folder(user.id, FolderType.DELETED_ITEMS)
    for mail in (await inbox(env))[:3]:
        await env.store.move_item(user.id, mail.server_id, deleted.id)
    assert len(await env.store.list_items(user.id, deleted.id)) == 3
    root = E("ItemOperations:ItemOperations", E("ItemOperations:EmptyFolderContents",
             E("AirSync:CollectionId", deleted.id)))
    answer = await run(alice, "ItemOperations", root)
    empty = answer.document.find("{ItemOperations:}Response/{ItemOperations:}EmptyFolderContents")
    assert text(empty, "ItemOperations:Status") == "1"
    assert await env.store.list_items(user.id, deleted.id) == []
