"""SendMail: local delivery through the store, Sent Items, NDRs, refusals; 14.0+ ComposeMail
documents and 12.1 raw MIME."""
from __future__ import annotations

from email.message import EmailMessage

import pytest
from commandhelp import run
from synchelp import Harness

from gateway.content.mime import parse_message
from protocol.xml import E, set_opaque, sub, text
from store.types import FolderType


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


def message(to: str = "bob@contoso.com", subject: str = "Hello Bob", bcc: str | None = None,
            sender: str | None = "Alice Wood <alice@contoso.com>") -> bytes:
    msg = EmailMessage()
    if sender:
        msg["From"] = sender
    if to:
        msg["To"] = to
    if bcc:
        msg["Bcc"] = bcc
    msg["Subject"] = subject
    msg.set_content("See you at noon.")
    return msg.as_bytes().replace(b"\n", b"\r\n")


def send_mail(mime: bytes, *, client_id: str = "c1", save: bool = True):
    root = E("ComposeMail:SendMail")
    sub(root, "ComposeMail:ClientId", client_id)
    if save:
        sub(root, "ComposeMail:SaveInSentItems")
    set_opaque(sub(root, "ComposeMail:Mime"), mime)
    return root


async def items_in(env: Harness, address: str, folder_type: FolderType):
    user = await env.store.get_user(address)
    folder = await env.store.find_folder(user.id, folder_type)
    return await env.store.list_items(user.id, folder.id)


async def test_local_recipient_gets_the_mail_and_sender_keeps_a_copy(env):
    alice = await env.client()
    before = len(await items_in(env, "bob@contoso.com", FolderType.INBOX))
    answer = await run(alice, "SendMail", send_mail(message()))
    assert (answer.http_status, answer.document) == (200, None)
    inbox = await items_in(env, "bob@contoso.com", FolderType.INBOX)
    assert len(inbox) == before + 1
    delivered = inbox[-1]
    assert delivered.data["Subject"] == "Hello Bob" and not delivered.read
    assert delivered.data["DateReceived"] == "2026-11-20T09:00:00.000Z"  # the gateway clock
    assert "See you at noon." in delivered.body_text
    sent = await items_in(env, "alice@contoso.com", FolderType.SENT_ITEMS)
    assert [s.data["Subject"] for s in sent] == ["Hello Bob"] and sent[0].read


async def test_without_save_in_sent_items_no_copy(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(message(), save=False))
    assert await items_in(env, "alice@contoso.com", FolderType.SENT_ITEMS) == []


async def test_bcc_recipient_gets_it_without_the_bcc_header(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(message(bcc="carol@contoso.com")))
    carol = (await items_in(env, "carol@contoso.com", FolderType.INBOX))[-1]
    assert carol.data["Subject"] == "Hello Bob"
    assert parse_message(carol.mime).bcc == ()


async def test_unknown_local_recipient_gets_an_ndr(env):
    alice = await env.client()
    answer = await run(alice, "SendMail", send_mail(message(to="nobody@contoso.com")))
    assert answer.http_status == 200 and answer.document is None
    ndr = (await items_in(env, "alice@contoso.com", FolderType.INBOX))[-1]
    assert ndr.data["Subject"] == "Undeliverable: Hello Bob"
    assert "nobody@contoso.com" in ndr.body_text and "5.1.1" in ndr.body_text
    assert ndr.attachments and ndr.attachments[0].content_type == "message/rfc822"


async def test_external_recipient_is_accepted_without_ndr(env):
    alice = await env.client()
    inbox_before = len(await items_in(env, "alice@contoso.com", FolderType.INBOX))
    answer = await run(alice, "SendMail", send_mail(message(to="someone@example.org")))
    assert answer.document is None
    assert len(await items_in(env, "alice@contoso.com", FolderType.INBOX)) == inbox_before


async def test_missing_from_is_filled_with_the_mailbox(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(message(sender=None)))
    delivered = (await items_in(env, "bob@contoso.com", FolderType.INBOX))[-1]
    assert "alice@contoso.com" in delivered.data["From"]


async def test_message_without_recipients_is_119(env):
    alice = await env.client()
    answer = await run(alice, "SendMail", send_mail(message(to="")))
    assert text(answer.document, "ComposeMail:Status") == "119"


async def test_garbage_mime_is_107_and_missing_mime_too(env):
    alice = await env.client()
    answer = await run(alice, "SendMail", send_mail(b"\x00\x01 not a message"))
    assert text(answer.document, "ComposeMail:Status") == "107"
    root = E("ComposeMail:SendMail", E("ComposeMail:ClientId", "x"))
    answer = await run(alice, "SendMail", root)
    assert text(answer.document, "ComposeMail:Status") == "107"


async def test_same_client_id_twice_is_118(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(message(), client_id="same"))
    answer = await run(alice, "SendMail", send_mail(message(), client_id="same"))
    assert text(answer.document, "ComposeMail:Status") == "118"


async def test_quarantined_device_gets_130_and_nothing_is_sent(env):
    alice = await env.client(state="quarantined")
    before = len(await items_in(env, "bob@contoso.com", FolderType.INBOX))
    answer = await run(alice, "SendMail", send_mail(message()))
    assert text(answer.document, "ComposeMail:Status") == "130"
    assert len(await items_in(env, "bob@contoso.com", FolderType.INBOX)) == before
    assert await items_in(env, "alice@contoso.com", FolderType.SENT_ITEMS) == []


async def test_12_1_raw_mime_with_save_in_sent_query(env):
    alice = await env.client(version="12.1")
    answer = await run(alice, "SendMail", None, body=message(subject="From 12.1"),
                       save_in_sent=True)
    assert (answer.http_status, answer.document) == (200, None)
    assert (await items_in(env, "bob@contoso.com", FolderType.INBOX))[-1].data["Subject"] == \
        "From 12.1"
    assert len(await items_in(env, "alice@contoso.com", FolderType.SENT_ITEMS)) == 1


async def test_12_1_quarantined_is_http_403(env):
    alice = await env.client(version="12.1", state="quarantined")
    answer = await run(alice, "SendMail", None, body=message())
    assert (answer.http_status, answer.document) == (403, None)
