"""EAS 12.1 and 14.1 devices whose WBXML is Debian's libwbxml (``xml2wbxml`` encodes every
request, ``wbxml2xml -l ACTIVESYNC`` decodes every answer) against the live gateway on real
sockets: provisioning, the folder hierarchy, paged Sync of every class, the client's own
changes, estimates, fetches, sending, replying, moving, push, search, settings, recipients
and meeting responses, each in the shapes of its version."""
from __future__ import annotations

import asyncio
import base64
from email.message import EmailMessage

import pytest
from conformance.libwbxml import WBXML2XML, XML2WBXML
from libwbxml_device import MIME, LibwbxmlDevice, pretty, server_commands
from lxml import etree

from protocol.xml import E, child, set_opaque, sub, text
from store.types import FolderType

pytestmark = pytest.mark.skipif(not (WBXML2XML and XML2WBXML),
                                reason="libwbxml2-utils is not installed (scripts/sysdeps.sh)")

# Two real clients of those versions: stock Android 4.4 Email (12.1), Windows Phone 8 (14.1).
PROFILES = {
    "12.1": {"device_id": "ANDROIDEAS44001", "device_type": "Android",
             "user_agent": "Android/4.4.2-EAS-1.3"},
    "14.1": {"device_id": "WP8DEVICE000001", "device_type": "WP8",
             "user_agent": "MSFT-WP/8.0.10521"},
}
VERSIONS = sorted(PROFILES)
CLASSES = {FolderType.INBOX: "Email", FolderType.CALENDAR: "Calendar",
           FolderType.CONTACTS: "Contacts", FolderType.TASKS: "Tasks"}


@pytest.fixture(params=VERSIONS)
def device(request, live_server) -> LibwbxmlDevice:
    return LibwbxmlDevice(live_server, request.param, **PROFILES[request.param])


@pytest.fixture
async def ready(device) -> LibwbxmlDevice:
    """The device provisioned, with its hierarchy fetched."""
    await device.provision(device_information(device) if not device.legacy else None)
    await device.folder_sync()
    return device


async def folder_of(live_server, folder_type, address="alice@contoso.com"):
    user = await live_server.store.get_user(address)
    return await live_server.store.find_folder(user.id, folder_type)


async def items_of(live_server, folder_type, address="alice@contoso.com"):
    user = await live_server.store.get_user(address)
    folder = await live_server.store.find_folder(user.id, folder_type)
    return await live_server.store.list_items(user.id, folder.id)


def device_information(device) -> etree._Element:
    return E("Settings:DeviceInformation", E("Settings:Set",
             E("Settings:Model", "Lumia 920"), E("Settings:IMEI", "356938035643809"),
             E("Settings:FriendlyName", "Alice's Lumia"), E("Settings:OS", "Windows Phone 8.0"),
             E("Settings:OSLanguage", "English"), E("Settings:PhoneNumber", "+15555550100"),
             E("Settings:UserAgent", device.user_agent),
             E("Settings:MobileOperator", "Contoso Mobile")))


# --- provisioning ---------------------------------------------------------------------------
FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))


async def test_provisioning_in_the_shapes_of_each_version(device, live_server):
    before = await device.send("FolderSync", FOLDER_SYNC)
    if device.legacy:
        assert (before.status, before.document) == (449, None)
    else:
        assert before.status == 200 and before.status_of() == "142"
    first = await device.provision(None if device.legacy else device_information(device))
    policy = first.document.find("{Provision:}Policies/{Provision:}Policy")
    document = policy.find("{Provision:}Data/{Provision:}EASProvisionDoc")
    assert document is not None, pretty(first.document)
    assert text(document, "Provision:DevicePasswordEnabled") is not None
    info = child(first.document, "Settings:DeviceInformation")
    stored = await live_server.store.get_device(
        (await live_server.store.get_user(device.user)).id, device.device_id)
    if device.legacy:
        assert info is None  # 12.1 has no DeviceInformation in Provision
    else:
        assert text(info, "Settings:Status") == "1"
        assert (stored.model, stored.friendly_name, stored.os) == \
            ("Lumia 920", "Alice's Lumia", "Windows Phone 8.0")
    assert stored.policy_key == device.policy_key and stored.protocol_version == device.version
    wrong = await device.send("FolderSync", FOLDER_SYNC, policy_key="31337")
    if device.legacy:
        assert (wrong.status, wrong.document) == (449, None)
    else:
        assert wrong.status_of() == "144"
    folders = await device.folder_sync()
    names = {text(f, "FolderHierarchy:DisplayName"): int(text(f, "FolderHierarchy:Type"))
             for f in folders.values()}
    assert {"Inbox": 2, "Calendar": 8, "Contacts": 9, "Tasks": 7}.items() <= names.items()


# --- Sync -----------------------------------------------------------------------------------
def text_body_options(truncation=200) -> etree._Element:
    return E("AirSync:Options", E("AirSync:FilterType", "0"), E(
        "AirSyncBase:BodyPreference", E("AirSyncBase:Type", "1"),
        E("AirSyncBase:TruncationSize", str(truncation))))


WINDOW = 3  # every demo collection holds more than one page


async def sync_everything(device, folder_id, item_class, window=WINDOW):
    """Key 0, then pages of ``window`` until MoreAvailable stops; the Adds, and how many
    pages it took."""
    await device.sync(folder_id, item_class)
    adds, pages = [], 0
    while True:
        answer = await device.sync(folder_id, item_class, window=window,
                                   options=text_body_options())
        pages += 1
        found = server_commands(answer)
        assert len(found["Add"]) <= window and not found["Change"] and not found["Delete"]
        assert (child(answer, "AirSync:Class") is not None) == device.legacy
        adds += found["Add"]
        if child(answer, "AirSync:MoreAvailable") is None:
            return adds, pages


@pytest.mark.parametrize("folder_type", list(CLASSES), ids=[c for c in CLASSES.values()])
async def test_sync_pages_every_class_through_window_size(ready, live_server, folder_type):
    folder = await folder_of(live_server, folder_type)
    stored = {i.server_id: i for i in await items_of(live_server, folder_type)}
    adds, pages = await sync_everything(ready, folder.id, CLASSES[folder_type])
    assert pages == -(-len(stored) // WINDOW) and len(stored) > WINDOW
    assert sorted(text(a, "AirSync:ServerId") for a in adds) == sorted(stored)
    for add in adds:
        item = stored[text(add, "AirSync:ServerId")]
        data = child(add, "AirSync:ApplicationData")
        if folder_type is FolderType.CONTACTS:
            assert text(data, "Contacts:FileAs") == item.data.get("FileAs"), pretty(add)
        else:
            tag = "Email:Subject" if folder_type is FolderType.INBOX else \
                f"{CLASSES[folder_type]}:Subject"
            assert text(data, tag) == item.data["Subject"], pretty(add)
        body = child(data, "AirSyncBase:Body")
        if item.body_text:
            assert text(body, "AirSyncBase:Type") == "1"
            assert len(text(body, "AirSyncBase:Data") or "") <= 200
    idle = await ready.sync(folder.id, CLASSES[folder_type], window=WINDOW)
    assert server_commands(idle) == {"Add": [], "Change": [], "Delete": []}


# --- the client's own changes, and estimates ------------------------------------------------
async def deliver(live_server, subject, address="alice@contoso.com", body="Pushed to you."):
    status, added = await live_server.admin("POST", f"/users/{address}/messages", {
        "from": "Dave Lee <dave@example.com>", "subject": subject, "body": body})
    assert status == 201, added
    return added["server_id"]


async def synced(device, live_server, folder_type):
    """The folder synced to its end; returns its id."""
    folder = await folder_of(live_server, folder_type)
    await sync_everything(device, folder.id, CLASSES[folder_type], window=100)
    return folder.id


async def test_client_add_change_and_delete_reach_the_store(ready, live_server):
    contacts = await synced(ready, live_server, FolderType.CONTACTS)
    add = E("AirSync:Add", E("AirSync:ClientId", "new-contact-1"), E(
        "AirSync:ApplicationData", E("Contacts:Email1Address", "erin@example.com"),
        E("Contacts:FileAs", "Young, Erin"), E("Contacts:FirstName", "Erin"),
        E("Contacts:LastName", "Young")))
    answer = await ready.sync(contacts, "Contacts", commands=[add])
    response = answer.find("{AirSync:}Responses/{AirSync:}Add")
    assert text(response, "AirSync:ClientId") == "new-contact-1", pretty(answer)
    assert text(response, "AirSync:Status") == "1"
    new_id = text(response, "AirSync:ServerId")
    user = await live_server.store.get_user(ready.user)
    assert (await live_server.store.get_item(user.id, new_id)).data["FileAs"] == "Young, Erin"

    change = E("AirSync:Change", E("AirSync:ServerId", new_id), E(
        "AirSync:ApplicationData", E("Contacts:Email1Address", "erin@example.com"),
        E("Contacts:FileAs", "Young, Erin"), E("Contacts:FirstName", "Erin"),
        E("Contacts:LastName", "Young"), E("Contacts:JobTitle", "Buyer")))
    answer = await ready.sync(contacts, "Contacts", commands=[change])
    assert child(answer, "AirSync:Responses") is None, pretty(answer)  # a Change that worked
    assert (await live_server.store.get_item(user.id, new_id)).data["JobTitle"] == "Buyer"

    inbox = await synced(ready, live_server, FolderType.INBOX)
    unread = next(i for i in await items_of(live_server, FolderType.INBOX) if not i.read)
    read = E("AirSync:Change", E("AirSync:ServerId", unread.server_id),
             E("AirSync:ApplicationData", E("Email:Read", "1")))
    await ready.sync(inbox, "Email", commands=[read])
    assert (await live_server.store.get_item(user.id, unread.server_id)).read

    tasks = await synced(ready, live_server, FolderType.TASKS)
    doomed = (await items_of(live_server, FolderType.TASKS))[0]
    answer = await ready.sync(tasks, "Tasks",
                              commands=[E("AirSync:Delete", E("AirSync:ServerId", doomed.server_id))])
    assert child(answer, "AirSync:Responses") is None, pretty(answer)
    assert doomed.server_id not in {i.server_id for i in await items_of(live_server,
                                                                         FolderType.TASKS)}
    # None of the device's own changes comes back to it.
    for folder_id, item_class in ((contacts, "Contacts"), (inbox, "Email"), (tasks, "Tasks")):
        echo = await ready.sync(folder_id, item_class)
        assert server_commands(echo) == {"Add": [], "Change": [], "Delete": []}, pretty(echo)


def estimate_request(device, folder_id, item_class) -> etree._Element:
    """GetItemEstimate for one collection: 12.1 names the Class and puts FilterType on the
    collection, 14.1 puts it in Options."""
    collection = E("GetItemEstimate:Collection")
    if device.legacy:
        sub(collection, "GetItemEstimate:Class", item_class)
        sub(collection, "GetItemEstimate:CollectionId", folder_id)
        sub(collection, "AirSync:FilterType", "0")
        sub(collection, "AirSync:SyncKey", device.sync_keys[folder_id])
    else:
        sub(collection, "AirSync:SyncKey", device.sync_keys[folder_id])
        sub(collection, "GetItemEstimate:CollectionId", folder_id)
        collection.append(E("AirSync:Options", E("AirSync:FilterType", "0")))
    return E("GetItemEstimate:GetItemEstimate", E("GetItemEstimate:Collections", collection))


async def test_get_item_estimate_counts_what_the_next_sync_brings(ready, live_server):
    inbox = await synced(ready, live_server, FolderType.INBOX)
    for subject in ("First of two", "Second of two"):
        await deliver(live_server, subject)
    reply = await ready.send("GetItemEstimate", estimate_request(ready, inbox, "Email"))
    response = child(reply.document, "GetItemEstimate:Response")
    assert text(response, "GetItemEstimate:Status") == "1", pretty(reply.document)
    counted = response.find("{GetItemEstimate:}Collection")
    assert text(counted, "GetItemEstimate:CollectionId") == inbox
    assert text(counted, "GetItemEstimate:Estimate") == "2"
    answer = await ready.sync(inbox, "Email", window=10)
    subjects = [text(child(a, "AirSync:ApplicationData"), "Email:Subject")
                for a in server_commands(answer)["Add"]]
    assert subjects == ["First of two", "Second of two"]


# --- fetching -------------------------------------------------------------------------------
async def attachment_from_sync(device, live_server):
    """The Inbox synced; the first mail that has an attachment, and the attachment's
    FileReference as the Sync answer gave it."""
    inbox = await folder_of(live_server, FolderType.INBOX)
    adds, _ = await sync_everything(device, inbox.id, "Email", window=100)
    for add in adds:
        reference = add.find(".//{AirSyncBase:}Attachment/{AirSyncBase:}FileReference")
        if reference is not None:
            user = await live_server.store.get_user(device.user)
            return await live_server.store.get_item(user.id, text(add, "AirSync:ServerId")), \
                reference.text
    raise AssertionError("no mail with an attachment in the Inbox")


async def test_attachments_by_get_attachment_or_item_operations(ready, live_server):
    mail, reference = await attachment_from_sync(ready, live_server)
    user = await live_server.store.get_user(ready.user)
    _, content = await live_server.store.get_attachment(user.id, reference)
    if ready.legacy:
        reply = await ready.send("GetAttachment", params={"AttachmentName": reference})
        assert reply.status == 200 and reply.body == content
        assert reply.headers["Content-Type"].startswith(mail.attachments[0].content_type)
        return
    request = E("ItemOperations:ItemOperations", E(
        "ItemOperations:Fetch", E("ItemOperations:Store", "Mailbox"),
        E("AirSync:CollectionId", mail.folder_id), E("AirSync:ServerId", mail.server_id),
        E("ItemOperations:Options", E("AirSyncBase:BodyPreference",
                                      E("AirSyncBase:Type", "1")))), E(
        "ItemOperations:Fetch", E("ItemOperations:Store", "Mailbox"),
        E("AirSyncBase:FileReference", reference)))
    reply = await ready.send("ItemOperations", request)
    assert reply.status_of() == "1", pretty(reply.document)
    item, attachment = reply.document.findall("{ItemOperations:}Response/{ItemOperations:}Fetch")
    assert text(item, "ItemOperations:Status") == "1"
    assert text(item, "AirSync:ServerId") == mail.server_id
    properties = child(item, "ItemOperations:Properties")
    assert text(properties, "Email:Subject") == mail.data["Subject"]
    assert text(child(properties, "AirSyncBase:Body"), "AirSyncBase:Data") == mail.body_text
    assert text(attachment, "ItemOperations:Status") == "1"
    assert text(attachment, "AirSyncBase:FileReference") == reference
    data = text(child(attachment, "ItemOperations:Properties"), "ItemOperations:Data")
    assert base64.b64decode(data) == content


# --- sending --------------------------------------------------------------------------------
def message(to, subject, body="Sent through libwbxml.") -> bytes:
    mail = EmailMessage()
    mail["From"] = "Alice Wood <alice@contoso.com>"
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(body)
    return mail.as_bytes().replace(b"\n", b"\r\n")


def compose(command, mime, client_id, source=None) -> etree._Element:
    """A 14.1 ComposeMail document; ``source`` is (folder id, item id) for a reply."""
    root = E(f"ComposeMail:{command}", E("ComposeMail:ClientId", client_id))
    if source is not None:
        root.append(E("ComposeMail:Source", E("ComposeMail:FolderId", source[0]),
                      E("ComposeMail:ItemId", source[1])))
    sub(root, "ComposeMail:SaveInSentItems")
    set_opaque(sub(root, "ComposeMail:Mime"), mime)
    return root


async def test_send_mail_reaches_bob_and_sent_items(ready, live_server):
    mime = message("Bob Kelly <bob@contoso.com>", f"Hello from {ready.version}")
    if ready.legacy:
        reply = await ready.send("SendMail", raw=mime, content_type=MIME,
                                 params={"SaveInSent": "T"})
    else:
        reply = await ready.send("SendMail", compose("SendMail", mime, "send-1"))
    assert (reply.status, reply.document) == (200, None), pretty(reply.document)
    received = (await items_of(live_server, FolderType.INBOX, "bob@contoso.com"))[-1]
    assert received.data["Subject"] == f"Hello from {ready.version}"
    assert "Sent through libwbxml." in received.body_text
    sent = await items_of(live_server, FolderType.SENT_ITEMS)
    assert [s.data["Subject"] for s in sent] == [f"Hello from {ready.version}"]


async def test_smart_reply_quotes_the_original(ready, live_server):
    original = (await items_of(live_server, FolderType.INBOX))[0]
    mime = message("Bob Kelly <bob@contoso.com>", "Re: " + original.data["Subject"],
                   "My answer.")
    if ready.legacy:
        reply = await ready.send("SmartReply", raw=mime, content_type=MIME,
                                 params={"ItemId": original.server_id,
                                         "CollectionId": original.folder_id,
                                         "SaveInSent": "T"})
    else:
        reply = await ready.send("SmartReply", compose(
            "SmartReply", mime, "reply-1", (original.folder_id, original.server_id)))
    assert (reply.status, reply.document) == (200, None), pretty(reply.document)
    answer = (await items_of(live_server, FolderType.INBOX, "bob@contoso.com"))[-1]
    assert answer.data["Subject"] == "Re: " + original.data["Subject"]
    assert "My answer." in answer.body_text and "> " in answer.body_text
    assert len(await items_of(live_server, FolderType.SENT_ITEMS)) == 1


async def test_move_items_to_deleted_items(ready, live_server):
    inbox = await folder_of(live_server, FolderType.INBOX)
    deleted = await folder_of(live_server, FolderType.DELETED_ITEMS)
    moving = (await items_of(live_server, FolderType.INBOX))[:2]
    request = E("Move:MoveItems", *(E("Move:Move", E("Move:SrcMsgId", m.server_id),
                                      E("Move:SrcFldId", inbox.id), E("Move:DstFldId", deleted.id))
                                    for m in moving))
    reply = await ready.send("MoveItems", request)
    responses = reply.document.findall("{Move:}Response")
    assert [text(r, "Move:SrcMsgId") for r in responses] == [m.server_id for m in moving]
    assert all(text(r, "Move:Status") == "3" for r in responses), pretty(reply.document)
    there = {i.server_id: i for i in await items_of(live_server, FolderType.DELETED_ITEMS)}
    assert [there[text(r, "Move:DstMsgId")].data["Subject"] for r in responses] == \
        [m.data["Subject"] for m in moving]


# --- push -----------------------------------------------------------------------------------
def ping_request(heartbeat, *folder_ids) -> etree._Element:
    return E("Ping:Ping", E("Ping:HeartbeatInterval", str(heartbeat)), E("Ping:Folders", *(
        E("Ping:Folder", E("Ping:Id", f), E("Ping:Class", "Email")) for f in folder_ids)))


async def held_ping(device, live_server, *folder_ids):
    """A Ping sent and held by the server (its answer is the task's result)."""
    task = asyncio.create_task(device.send("Ping", ping_request(600, *folder_ids), timeout=20))
    for _ in range(100):
        if live_server.services.pushhub.waiting_count():
            return task
        assert not task.done(), pretty((await task).document)
        await asyncio.sleep(0.05)
    raise AssertionError("the Ping was not held")


async def test_ping_is_woken_by_a_mail_delivered_through_the_admin_api(ready, live_server):
    inbox = await synced(ready, live_server, FolderType.INBOX)
    ping = await held_ping(ready, live_server, inbox)
    await deliver(live_server, "Wake up")
    reply = await asyncio.wait_for(ping, 10)
    assert reply.status_of() == "2"
    assert [f.text for f in reply.document.find("{Ping:}Folders")] == [inbox]
    adds = server_commands(await ready.sync(inbox, "Email", window=10))["Add"]
    assert [text(child(a, "AirSync:ApplicationData"), "Email:Subject") for a in adds] == \
        ["Wake up"]


async def test_a_folder_made_on_the_server_wakes_the_ping_with_status_7(ready, live_server):
    inbox = await synced(ready, live_server, FolderType.INBOX)
    ping = await held_ping(ready, live_server, inbox)
    user = await live_server.store.get_user(ready.user)
    made = await live_server.store.create_folder(user.id, "0", "Receipts", FolderType.USER_MAIL)
    assert (await asyncio.wait_for(ping, 10)).status_of() == "7"
    assert list(await ready.folder_sync()) == [made.id]


# --- search, settings, recipients, meetings -------------------------------------------------
def search(store_name, query, *options) -> etree._Element:
    return E("Search:Search", E("Search:Store", E("Search:Name", store_name),
                                E("Search:Query", query),
                                E("Search:Options", E("Search:Range", "0-9"), *options)))


async def test_search_the_mailbox_and_the_gal(ready, live_server):
    inbox = await folder_of(live_server, FolderType.INBOX)
    query = E("Search:And", E("AirSync:Class", "Email"), E("AirSync:CollectionId", inbox.id),
              E("Search:FreeText", "budget"))
    reply = await ready.send("Search", search("Mailbox", query, E("Search:RebuildResults"),
                                              E("AirSyncBase:BodyPreference",
                                                E("AirSyncBase:Type", "1"),
                                                E("AirSyncBase:TruncationSize", "100"))))
    assert reply.status_of() == "1" and reply.status_of("Response/Store") == "1"
    store = reply.document.find("{Search:}Response/{Search:}Store")
    results = store.findall("{Search:}Result")
    subjects = [text(child(r, "Search:Properties"), "Email:Subject") for r in results]
    assert subjects and all("budget" in s.lower() for s in subjects), pretty(reply.document)
    assert int(text(store, "Search:Total")) == len(results)
    assert {text(r, "AirSync:CollectionId") for r in results} == {inbox.id}

    reply = await ready.send("Search", search("GAL", "carol"))
    store = reply.document.find("{Search:}Response/{Search:}Store")
    assert text(store, "Search:Status") == "1", pretty(reply.document)
    found = [child(r, "Search:Properties") for r in store.findall("{Search:}Result")]
    assert [(text(p, "GAL:DisplayName"), text(p, "GAL:EmailAddress")) for p in found] == \
        [("Carol Martinez", "carol@contoso.com")]


async def test_settings_oof_user_information_and_device_information(ready, live_server):
    oof = E("Settings:Oof", E("Settings:Set", E("Settings:OofState", "1"), E(
        "Settings:OofMessage", E("Settings:AppliesToInternal"), E("Settings:Enabled", "1"),
        E("Settings:ReplyMessage", "Back on Monday."), E("Settings:BodyType", "Text"))))
    requests = [oof, E("Settings:UserInformation", E("Settings:Get"))]
    if ready.legacy:  # 12.1 sends DeviceInformation here, not in Provision
        requests.append(device_information(ready))
    reply = await ready.send("Settings", E("Settings:Settings", *requests))
    assert reply.status_of() == "1" and reply.status_of("Oof") == "1", pretty(reply.document)
    got = child(child(reply.document, "Settings:UserInformation"), "Settings:Get")
    if ready.legacy:
        assert text(child(got, "Settings:EmailAddresses"), "Settings:SmtpAddress") == ready.user
        assert reply.status_of("DeviceInformation") == "1"
    else:
        account = got.find("{Settings:}Accounts/{Settings:}Account")
        assert text(account, "Settings:UserDisplayName") == "Alice Wood"
        assert text(child(account, "Settings:EmailAddresses"),
                    "Settings:PrimarySmtpAddress") == ready.user
    stored = await live_server.store.get_device(
        (await live_server.store.get_user(ready.user)).id, ready.device_id)
    assert stored.model == "Lumia 920"  # from Provision (14.1) or Settings (12.1)

    reply = await ready.send("Settings", E("Settings:Settings", E(
        "Settings:Oof", E("Settings:Get", E("Settings:BodyType", "Text")))))
    got = reply.document.find("{Settings:}Oof/{Settings:}Get")
    assert text(got, "Settings:OofState") == "1", pretty(reply.document)
    assert "Back on Monday." in [text(m, "Settings:ReplyMessage")
                                 for m in got.findall("{Settings:}OofMessage")]


async def test_resolve_recipients_with_availability_from_14_0(ready):
    request = E("ResolveRecipients:ResolveRecipients", E("ResolveRecipients:To", "bob@contoso.com"))
    if not ready.legacy:  # Availability came with 14.0
        request.append(E("ResolveRecipients:Options", E(
            "ResolveRecipients:Availability",
            E("ResolveRecipients:StartTime", "2026-11-20T08:00:00.000Z"),
            E("ResolveRecipients:EndTime", "2026-11-20T12:00:00.000Z"))))
    reply = await ready.send("ResolveRecipients", request)
    assert reply.status_of() == "1", pretty(reply.document)
    response = child(reply.document, "ResolveRecipients:Response")
    assert text(response, "ResolveRecipients:To") == "bob@contoso.com"
    assert text(response, "ResolveRecipients:Status") == "1"
    recipient = child(response, "ResolveRecipients:Recipient")
    assert (text(recipient, "ResolveRecipients:DisplayName"),
            text(recipient, "ResolveRecipients:EmailAddress")) == ("Bob Kelly", "bob@contoso.com")
    availability = child(recipient, "ResolveRecipients:Availability")
    if ready.legacy:
        assert availability is None
    else:
        assert text(availability, "ResolveRecipients:Status") == "1"
        busy = text(availability, "ResolveRecipients:MergedFreeBusy")
        assert len(busy) == 8 and set(busy) <= set("01234"), busy


async def test_meeting_response_accepts_a_calendar_event(ready, live_server):
    calendar = await synced(ready, live_server, FolderType.CALENDAR)
    event = next(e for e in await items_of(live_server, FolderType.CALENDAR)
                 if not e.data.get("Recurrence"))
    reply = await ready.send("MeetingResponse", E(
        "MeetingResponse:MeetingResponse", E(
            "MeetingResponse:Request", E("MeetingResponse:UserResponse", "1"),
            E("MeetingResponse:CollectionId", calendar),
            E("MeetingResponse:RequestId", event.server_id))))
    result = child(reply.document, "MeetingResponse:Result")
    assert text(result, "MeetingResponse:Status") == "1", pretty(reply.document)
    assert text(result, "MeetingResponse:RequestId") == event.server_id
    user = await live_server.store.get_user(ready.user)
    accepted = await live_server.store.get_item(user.id, event.server_id)
    assert (accepted.data["ResponseType"], accepted.data["BusyStatus"]) == (3, 2)
    changed = server_commands(await ready.sync(calendar, "Calendar", window=10))
    assert event.server_id in {text(c, "AirSync:ServerId")
                               for c in changed["Add"] + changed["Change"]}


# --- what each generation of client asks for besides ----------------------------------------
async def test_mime_bodies_for_clients_that_render_mime_themselves(ready, live_server):
    """Android's 12.1 Email (and many 14.1 clients) ask for the whole message as MIME."""
    inbox = await folder_of(live_server, FolderType.INBOX)
    await ready.sync(inbox.id, "Email")
    options = E("AirSync:Options", E("AirSync:FilterType", "0"), E("AirSync:MIMESupport", "2"),
                E("AirSyncBase:BodyPreference", E("AirSyncBase:Type", "4"),
                  E("AirSyncBase:TruncationSize", "200000")))
    answer = await ready.sync(inbox.id, "Email", window=100, options=options)
    stored = {i.server_id: i for i in await items_of(live_server, FolderType.INBOX)}
    for add in server_commands(answer)["Add"]:
        body = child(child(add, "AirSync:ApplicationData"), "AirSyncBase:Body")
        assert text(body, "AirSyncBase:Type") == "4", pretty(add)
        mime = text(body, "AirSyncBase:Data")
        subject = stored[text(add, "AirSync:ServerId")].data["Subject"]
        assert "MIME-Version" in mime and subject.split()[0] in mime


async def test_calendar_and_task_made_on_the_device(ready, live_server):
    calendar = await synced(ready, live_server, FolderType.CALENDAR)
    event = E("AirSync:Add", E("AirSync:ClientId", "event-1"), E(
        "AirSync:ApplicationData", E("Calendar:Timezone", base64.b64encode(bytes(172)).decode()),
        E("Calendar:AllDayEvent", "0"), E("Calendar:BusyStatus", "2"),
        E("Calendar:DtStamp", "20261120T080000Z"), E("Calendar:EndTime", "20261124T110000Z"),
        E("Calendar:Location", "Room 4"), E("Calendar:MeetingStatus", "0"),
        E("Calendar:Sensitivity", "0"), E("Calendar:Subject", "Dentist"),
        E("Calendar:StartTime", "20261124T100000Z"), E("Calendar:UID", "dentist-1"),
        E("Calendar:Reminder", "15")))
    answer = await ready.sync(calendar, "Calendar", commands=[event])
    response = answer.find("{AirSync:}Responses/{AirSync:}Add")
    assert text(response, "AirSync:Status") == "1", pretty(answer)
    user = await live_server.store.get_user(ready.user)
    made = await live_server.store.get_item(user.id, text(response, "AirSync:ServerId"))
    assert (made.data["Subject"], made.data["StartTime"], made.data["Location"]) == \
        ("Dentist", "20261124T100000Z", "Room 4")

    tasks = await synced(ready, live_server, FolderType.TASKS)
    task = E("AirSync:Add", E("AirSync:ClientId", "task-1"), E(
        "AirSync:ApplicationData", E("Tasks:Complete", "0"),
        E("Tasks:DueDate", "2026-11-27T00:00:00.000Z"),
        E("Tasks:UtcDueDate", "2026-11-27T00:00:00.000Z"), E("Tasks:Importance", "2"),
        E("Tasks:Subject", "Book flights")))
    answer = await ready.sync(tasks, "Tasks", commands=[task])
    response = answer.find("{AirSync:}Responses/{AirSync:}Add")
    assert text(response, "AirSync:Status") == "1", pretty(answer)
    made = await live_server.store.get_item(user.id, text(response, "AirSync:ServerId"))
    assert (made.data["Subject"], made.data["UtcDueDate"]) == \
        ("Book flights", "2026-11-27T00:00:00.000Z")


async def test_folder_commands_from_the_device(ready, live_server):
    def folder_request(command, *elements):
        return E(f"FolderHierarchy:{command}",
                 E("FolderHierarchy:SyncKey", ready.folder_key), *elements)

    async def run(command, *elements):
        reply = await ready.send(command, folder_request(command, *elements))
        assert reply.status_of() == "1", pretty(reply.document)
        ready.folder_key = text(reply.document, "FolderHierarchy:SyncKey")
        return reply

    made = await run("FolderCreate", E("FolderHierarchy:ParentId", "0"),
                     E("FolderHierarchy:DisplayName", "Travel"), E("FolderHierarchy:Type", "12"))
    folder_id = text(made.document, "FolderHierarchy:ServerId")
    await run("FolderUpdate", E("FolderHierarchy:ServerId", folder_id),
              E("FolderHierarchy:ParentId", "0"), E("FolderHierarchy:DisplayName", "Trips"))
    user = await live_server.store.get_user(ready.user)
    assert (await live_server.store.get_folder(user.id, folder_id)).name == "Trips"
    assert await ready.folder_sync() == {}  # its own changes are not echoed
    await run("FolderDelete", E("FolderHierarchy:ServerId", folder_id))
    assert folder_id not in {f.id for f in await live_server.store.list_folders(user.id)}


async def test_empty_sync_and_ping_reuse_the_last_request(ready, live_server):
    inbox = await synced(ready, live_server, FolderType.INBOX)
    await deliver(live_server, "While you were away")
    reply = await ready.send("Sync")  # an empty body: the last request again
    answer = reply.document.find("{AirSync:}Collections/{AirSync:}Collection")
    adds = server_commands(answer)["Add"]
    assert [text(child(a, "AirSync:ApplicationData"), "Email:Subject") for a in adds] == \
        ["While you were away"]
    ready.sync_keys[inbox] = text(answer, "AirSync:SyncKey")
    first = await held_ping(ready, live_server, inbox)
    second = asyncio.create_task(ready.send("Ping", timeout=20))  # empty: the same Ping
    assert (await asyncio.wait_for(first, 10)).status_of() == "1"  # ended by the second
    await asyncio.sleep(0.2)
    await deliver(live_server, "For the second Ping")
    reply = await asyncio.wait_for(second, 10)
    assert reply.status_of() == "2" and \
        [f.text for f in reply.document.find("{Ping:}Folders")] == [inbox]


async def test_a_waiting_sync_is_woken_by_mail_and_told_12_for_a_new_folder(ready, live_server):
    """12.1 waits in minutes (Wait), 14.1 in seconds (HeartbeatInterval)."""
    inbox = await synced(ready, live_server, FolderType.INBOX)

    async def waiting_sync():
        request = E("AirSync:Sync", E("AirSync:Collections", ready.collection(inbox, "Email")))
        sub(request, *(("AirSync:Wait", "5") if ready.legacy
                       else ("AirSync:HeartbeatInterval", "300")))
        task = asyncio.create_task(ready.send("Sync", request, timeout=20))
        for _ in range(100):
            if live_server.services.pushhub.waiting_count():
                return task
            await asyncio.sleep(0.05)
        raise AssertionError(f"the Sync was not held: {pretty((await task).document)}")

    held = await waiting_sync()
    await deliver(live_server, "Worth the wait")
    answer = (await asyncio.wait_for(held, 10)).document.find(
        "{AirSync:}Collections/{AirSync:}Collection")
    assert [text(child(a, "AirSync:ApplicationData"), "Email:Subject")
            for a in server_commands(answer)["Add"]] == ["Worth the wait"]
    ready.sync_keys[inbox] = text(answer, "AirSync:SyncKey")

    held = await waiting_sync()
    user = await live_server.store.get_user(ready.user)
    await live_server.store.create_folder(user.id, "0", "Later", FolderType.USER_MAIL)
    reply = await asyncio.wait_for(held, 10)
    assert reply.status_of() == "12", pretty(reply.document)
