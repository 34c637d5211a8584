"""SmartReply and SmartForward: the server adds the original (quoted text on reply; text and
attachments on forward), ReplaceMime sends the client's message alone, 12.1 names the
source in the query, unknown sources are 150 and a quarantined device sends nothing."""
from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage

import pytest
from commandhelp import run
from synchelp import Harness

from gateway.content.compose import message_id_of
from protocol.xml import E, set_opaque, sub, text
from store.types import FolderType


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


def message(to, subject, body="My answer."):
    msg = EmailMessage()
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg.as_bytes().replace(b"\n", b"\r\n")


def smart(command, item, mime, *, replace=False, client_id="c1"):
    root = E(f"ComposeMail:{command}", E("ComposeMail:ClientId", client_id))
    source = sub(root, "ComposeMail:Source")
    sub(source, "ComposeMail:FolderId", item.folder_id)
    sub(source, "ComposeMail:ItemId", item.server_id)
    if replace:
        sub(root, "ComposeMail:ReplaceMime")
    set_opaque(sub(root, "ComposeMail:Mime"), mime)
    return root


async def setup(env):
    user = await env.store.get_user("alice@contoso.com")
    inbox = await env.store.find_folder(user.id, FolderType.INBOX)
    items = await env.store.list_items(user.id, inbox.id)
    return user, next(i for i in items if i.attachments)


async def last_in(env, address):
    user = await env.store.get_user(address)
    inbox = await env.store.find_folder(user.id, FolderType.INBOX)
    return (await env.store.list_items(user.id, inbox.id))[-1]


async def test_reply_quotes_the_original_and_threads(env):
    user, original = await setup(env)
    alice = await env.client()
    answer = await run(alice, "SmartReply", smart("SmartReply", original,
                                                  message("bob@contoso.com", "Re: x")))
    assert answer.document is None
    reply = await last_in(env, "bob@contoso.com")
    assert reply.body_text.startswith("My answer.")
    first_line = original.body_text.splitlines()[0]
    assert f"> {first_line}" in reply.body_text
    assert reply.attachments == ()
    assert f"In-Reply-To: {message_id_of(original)}".encode() in reply.mime
    source = await env.store.get_item(user.id, original.server_id)
    assert source.data["LastVerbExecuted"] == 1


async def test_forward_carries_the_attachments(env):
    _, original = await setup(env)
    alice = await env.client()
    await run(alice, "SmartForward", smart("SmartForward", original,
                                           message("carol@contoso.com", "Fw: x")))
    forward = await last_in(env, "carol@contoso.com")
    assert [a.name for a in forward.attachments] == [a.name for a in original.attachments]
    assert "Forwarded message" in forward.body_text


async def test_replace_mime_sends_the_message_as_it_is(env):
    _, original = await setup(env)
    alice = await env.client()
    await run(alice, "SmartForward", smart("SmartForward", original,
                                           message("carol@contoso.com", "Fw: edited"),
                                           replace=True))
    forward = await last_in(env, "carol@contoso.com")
    assert forward.body_text.strip() == "My answer." and forward.attachments == ()


async def test_12_1_names_the_source_in_the_query(env):
    _, original = await setup(env)
    legacy = await env.client(version="12.1")
    answer = await run(legacy, "SmartReply", None, body=message("bob@contoso.com", "Re: old"),
                       item_id=original.server_id, collection_id=original.folder_id,
                       save_in_sent=True)
    assert (answer.http_status, answer.document) == (200, None)
    assert (await last_in(env, "bob@contoso.com")).data["Subject"] == "Re: old"


async def test_unknown_source_is_150_and_quarantine_is_130(env):
    _, original = await setup(env)
    alice = await env.client()
    missing = replace(original, server_id="2:99999")
    answer = await run(alice, "SmartReply", smart("SmartReply", missing,
                                                  message("bob@contoso.com", "Re: x")))
    assert text(answer.document, "ComposeMail:Status") == "150"
    quarantined = await env.client(device_id="Q", state="quarantined")
    answer = await run(quarantined, "SmartForward", smart("SmartForward", original,
                                                          message("bob@contoso.com", "Fw")))
    assert text(answer.document, "ComposeMail:Status") == "130"
