"""The mail commands driven by pyactivesync (an EAS 16.1 client we did not write) over HTTPS
against the live gateway: fetch of items and attachments, send, move, recipients, search,
find, out of office; reply, forward and meeting response (which pyactivesync has no call
for) with WBXML documents this test builds, sent as the same device."""
from __future__ import annotations

from email.message import EmailMessage

import pytest
from pyactivesync import BodyType, FolderType, OofState
from server_fixtures import pyactivesync_client

from protocol.xml import E, child, set_opaque, sub, text
from store.types import FolderType as StoreFolderType

DEVICE = {"device_id": "PYACTIVESYNC0001", "device_type": "iPhone",
          "user_agent": "Apple-iPhone14C2/2104.92"}


@pytest.fixture
async def client(live_server):
    eas = pyactivesync_client(live_server)
    yield eas
    await eas.close()


async def folder_items(live_server, address, folder_type):
    user = await live_server.store.get_user(address)
    folder = await live_server.store.find_folder(user.id, folder_type)
    return folder, await live_server.store.list_items(user.id, folder.id)


def mail(to, subject, body="Hello from the test."):
    message = EmailMessage()
    message["From"] = "Alice Wood <alice@contoso.com>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


async def test_fetch_item_and_attachment(live_server, client):
    inbox, items = await folder_items(live_server, "alice@contoso.com", StoreFolderType.INBOX)
    with_attachment = next(i for i in items if i.attachments)
    fetched = await client.fetch_item(inbox.id, with_attachment.server_id,
                                      body_type=BodyType.PLAIN_TEXT)
    assert fetched.fields["Email.Subject"] == with_attachment.data["Subject"]
    assert fetched.body.type == BodyType.PLAIN_TEXT
    assert fetched.body.data == with_attachment.body_text
    reference = fetched.attachments[0].file_reference
    _, content = await live_server.store.get_attachment(
        (await live_server.store.get_user("alice@contoso.com")).id, reference)
    assert await client.fetch_attachment(reference) == content
    mime = await client.fetch_item(inbox.id, with_attachment.server_id, body_type=BodyType.MIME)
    assert mime.body.type == BodyType.MIME and b"Subject:" in mime.body.data


async def test_send_mail_reaches_bob_and_sent_items(live_server, client):
    await client.send_mail(mail("Bob Kelly <bob@contoso.com>", "Lunch at noon?"))
    _, bob_inbox = await folder_items(live_server, "bob@contoso.com", StoreFolderType.INBOX)
    assert bob_inbox[-1].data["Subject"] == "Lunch at noon?"
    _, sent = await folder_items(live_server, "alice@contoso.com", StoreFolderType.SENT_ITEMS)
    assert [s.data["Subject"] for s in sent] == ["Lunch at noon?"]


async def test_move_item(live_server, client):
    folders = await client.list_folders()
    inbox = next(f for f in folders if f.type == FolderType.INBOX)
    deleted = next(f for f in folders if f.type == FolderType.DELETED_ITEMS)
    _, items = await folder_items(live_server, "alice@contoso.com", StoreFolderType.INBOX)
    new_id = await client.move_item(items[0].server_id, inbox.id, deleted.id)
    user = await live_server.store.get_user("alice@contoso.com")
    moved = await live_server.store.get_item(user.id, new_id)
    assert moved.folder_id == deleted.id and moved.data["Subject"] == items[0].data["Subject"]


async def test_resolve_recipients_and_gal(client):
    recipients = await client.resolve_recipients("bob@contoso.com")
    assert [(r.display_name, r.email_address) for r in recipients] == \
        [("Bob Kelly", "bob@contoso.com")]
    entries = await client.search_gal("carol")
    assert [e.email_address for e in entries] == ["carol@contoso.com"]
    found = await client.find_gal("carol")
    assert found.items[0].fields["GAL.EmailAddress"] == "carol@contoso.com"


async def test_search_and_find_mailbox(client):
    inbox = next(f for f in await client.list_folders() if f.type == FolderType.INBOX)
    recent = await client.search_mailbox(inbox.id, date_received_after="2026-11-19T00:00:00.000Z",
                                         max_results=50)
    assert recent and all(r["Email.DateReceived"] > "2026-11-19" for r in recent)
    by_text = await client.search_mailbox(inbox.id, free_text="budget")
    assert by_text and all("budget" in r["Email.Subject"].lower() for r in by_text)
    found = await client.find_mailbox("budget", folder_id=inbox.id)
    assert found.total == len(by_text)


async def test_out_of_office(client):
    await client.set_oof(OofState.ENABLED, reply_message="Back on Monday.")
    settings = await client.get_oof()
    assert settings.state == OofState.ENABLED
    assert any(m.reply_message == "Back on Monday." for m in settings.messages)


async def test_smart_reply_and_forward(live_server, client):
    await client.provision()  # the same device (and policy key) as pyactivesync's
    inbox, items = await folder_items(live_server, "alice@contoso.com", StoreFolderType.INBOX)
    original = next(i for i in items if i.attachments)

    def smart(command, to, subject, client_id):
        root = E(f"ComposeMail:{command}")
        sub(root, "ComposeMail:ClientId", client_id)
        source = sub(root, "ComposeMail:Source")
        sub(source, "ComposeMail:FolderId", inbox.id)
        sub(source, "ComposeMail:ItemId", original.server_id)
        sub(root, "ComposeMail:SaveInSentItems")
        set_opaque(sub(root, "ComposeMail:Mime"),
                   mail(to, subject, "My answer.").as_bytes().replace(b"\n", b"\r\n"))
        return root

    key = client.sync._transport.policy_key
    answer = await live_server.eas("SmartReply", smart("SmartReply", "bob@contoso.com",
                                                       "Re: " + original.data["Subject"], "r1"),
                                   policy_key=key, **DEVICE)
    assert answer.status == 200 and answer.document is None
    answer = await live_server.eas("SmartForward", smart("SmartForward", "carol@contoso.com",
                                                         "Fw: " + original.data["Subject"], "f1"),
                                   policy_key=key, **DEVICE)
    assert answer.status == 200 and answer.document is None
    _, bob_inbox = await folder_items(live_server, "bob@contoso.com", StoreFolderType.INBOX)
    reply = bob_inbox[-1]
    assert "My answer." in reply.body_text and "> " in reply.body_text
    _, carol_inbox = await folder_items(live_server, "carol@contoso.com", StoreFolderType.INBOX)
    forward = carol_inbox[-1]
    assert [a.name for a in forward.attachments] == [a.name for a in original.attachments]
    assert "Forwarded message" in forward.body_text


async def test_meeting_response(live_server, client):
    await client.provision()
    folders = await client.list_folders()
    calendar = next(f for f in folders if f.type == FolderType.CALENDAR)
    _, events = await folder_items(live_server, "alice@contoso.com", StoreFolderType.CALENDAR)
    event = next(e for e in events if not e.data.get("Recurrence"))
    request = E("MeetingResponse:MeetingResponse", E("MeetingResponse:Request",
                E("MeetingResponse:UserResponse", 1),
                E("MeetingResponse:CollectionId", calendar.id),
                E("MeetingResponse:RequestId", event.server_id)))
    answer = await live_server.eas("MeetingResponse", request,
                                   policy_key=client.sync._transport.policy_key, **DEVICE)
    result = child(answer.document, "MeetingResponse:Result")
    assert text(result, "MeetingResponse:Status") == "1"
    assert text(result, "MeetingResponse:CalendarId") == event.server_id
    user = await live_server.store.get_user("alice@contoso.com")
    accepted = await live_server.store.get_item(user.id, event.server_id)
    assert (accepted.data["ResponseType"], accepted.data["BusyStatus"]) == (3, 2)
    sync = await client.sync_folder(calendar.id)
    changes = await client.sync_folder(calendar.id, sync.sync_key, window_size=100)
    assert event.server_id in {i.server_id for i in changes.added}
