"""A user can never read, change, move, fetch or search another user's items, whatever ids
the client forges, command by command; and one user's credentials never touch another's
device records. See world.py for how a leak would show."""
from __future__ import annotations

import asyncio
import base64

import pytest
from world import (
    ALICE,
    ALICE_PHONE,
    BOB,
    BOB_PHONE,
    CAROL,
    MARKER,
    bobs_phone_syncs,
    collection_key,
    collection_status,
    folder_sync,
    mailbox_snapshot,
    plant_secrets,
    reveals,
    sync_request,
)

from protocol.xml import E, set_opaque, text


@pytest.fixture
async def world(limited_server):
    async with limited_server(ping_min_heartbeat_s=1) as server:
        server.secrets = await plant_secrets(server)
        await bobs_phone_syncs(server, server.secrets)
        server.bob_before = await mailbox_snapshot(server, BOB)

        async def alice(command, document=None, **options):
            options.setdefault("device_id", ALICE_PHONE)
            answer = await server.eas(command, document, user=ALICE, **options)
            assert answer.status < 500 or command == "GetAttachment", (command, answer.status)
            assert not reveals(answer), f"{command} showed Alice one of Bob's secrets"
            return answer

        server.alice = alice
        yield server
        assert await mailbox_snapshot(server, BOB) == server.bob_before, "Bob's mailbox changed"


def every_id(secrets) -> list[str]:
    return sorted(set(secrets.folder_ids + secrets.server_ids + secrets.file_references))


async def test_foldersync_and_folder_commands(world):
    secrets = world.secrets
    answer = await world.alice("FolderSync", folder_sync("0"))
    key = text(answer.document, "FolderHierarchy:SyncKey")
    for folder_id in (secrets.private_folder, *secrets.folder_ids):
        update = E("FolderHierarchy:FolderUpdate", E("FolderHierarchy:SyncKey", key),
                   E("FolderHierarchy:ServerId", secrets.private_folder),
                   E("FolderHierarchy:ParentId", "0"),
                   E("FolderHierarchy:DisplayName", f"taken {folder_id}"))
        answer = await world.alice("FolderUpdate", update)
        key = text(answer.document, "FolderHierarchy:SyncKey") or key
    delete = E("FolderHierarchy:FolderDelete", E("FolderHierarchy:SyncKey", key),
               E("FolderHierarchy:ServerId", secrets.private_folder))
    assert (await world.alice("FolderDelete", delete)).eas_status != 1
    create = E("FolderHierarchy:FolderCreate", E("FolderHierarchy:SyncKey", key),
               E("FolderHierarchy:ParentId", secrets.private_folder),
               E("FolderHierarchy:DisplayName", "inside Bob's"), E("FolderHierarchy:Type", "12"))
    assert (await world.alice("FolderCreate", create)).eas_status != 1


async def test_sync_of_forged_collections_and_items(world):
    secrets = world.secrets
    await world.alice("FolderSync", folder_sync("0"))
    for folder_id in secrets.folder_ids:  # Alice's own folders of those ids, fully synced
        first = await world.alice("Sync", sync_request(folder_id, "0"))
        if first.eas_status in (None, 1) and first.document is not None:
            await world.alice("Sync", sync_request(folder_id, collection_key(first)))
    private = await world.alice("Sync", sync_request(secrets.private_folder, "0"))
    assert collection_status(private) == 8  # Alice has no folder of that id: not found
    # Fetches of every id Bob has, in Alice's Inbox.
    key = collection_key(await world.alice("Sync", sync_request("2", "0")))
    key = collection_key(await world.alice("Sync", sync_request("2", key)))
    fetches = [E("AirSync:Fetch", E("AirSync:ServerId", s)) for s in secrets.server_ids]
    await world.alice("Sync", sync_request("2", key, *fetches))


async def test_sync_writes_with_bobs_ids_stay_in_alices_mailbox(world):
    secrets = world.secrets
    private = await world.alice("Sync", sync_request(secrets.private_folder, "0"))
    assert collection_status(private) == 8
    key = collection_key(await world.alice("Sync", sync_request("2", "0")))
    for folder_id in ("2", secrets.private_folder):
        changes = [E("AirSync:Change", E("AirSync:ServerId", s),
                     E("AirSync:ApplicationData", E("Email:Read", "1")))
                   for s in secrets.secret_items]
        deletes = [E("AirSync:Delete", E("AirSync:ServerId", s)) for s in secrets.secret_items]
        await world.alice("Sync", sync_request(folder_id, key, *changes, *deletes))


async def test_getitemestimate_of_bobs_folders(world):
    secrets = world.secrets
    collections = E("GetItemEstimate:Collections", *[
        E("GetItemEstimate:Collection", E("AirSync:SyncKey", "1"),
          E("GetItemEstimate:CollectionId", f)) for f in secrets.folder_ids])
    await world.alice("GetItemEstimate", E("GetItemEstimate:GetItemEstimate", collections))


async def test_itemoperations_fetch_by_every_forged_reference(world):
    secrets = world.secrets
    fetches = []
    for forged in every_id(secrets):
        fetches.append(E("ItemOperations:Fetch", E("ItemOperations:Store", "Mailbox"),
                         E("AirSync:CollectionId", forged.split(":")[0]),
                         E("AirSync:ServerId", forged)))
        fetches.append(E("ItemOperations:Fetch", E("ItemOperations:Store", "Mailbox"),
                         E("Search:LongId", forged)))
        fetches.append(E("ItemOperations:Fetch", E("ItemOperations:Store", "Mailbox"),
                         E("AirSyncBase:FileReference", forged)))
    for at in range(0, len(fetches), 50):
        await world.alice("ItemOperations", E("ItemOperations:ItemOperations", *fetches[at:at + 50]))
    empty = E("ItemOperations:EmptyFolderContents", E("AirSync:CollectionId", secrets.private_folder))
    await world.alice("ItemOperations", E("ItemOperations:ItemOperations", empty))


async def test_getattachment_of_bobs_file_references(world):
    for reference in world.secrets.file_references:
        answer = await world.alice("GetAttachment", None, version="14.1",
                                   params={"AttachmentName": reference})
        assert answer.status in (200, 500)


async def test_moveitems_out_of_and_into_bobs_folders(world):
    secrets = world.secrets
    moves = [E("Move:Move", E("Move:SrcMsgId", s), E("Move:SrcFldId", s.split(":")[0]),
               E("Move:DstFldId", secrets.private_folder)) for s in secrets.server_ids]
    await world.alice("MoveItems", E("Move:MoveItems", *moves[:200]))


@pytest.mark.parametrize("query", [MARKER, "Salary", "Only Bob"])
async def test_search_the_mailbox_with_any_range_or_folder(world, query):
    secrets = world.secrets
    for range_, folder in (("0-999", None), ("0-0", secrets.private_folder),
                           ("5-99999999", "2"), ("0-9", secrets.private_folder)):
        clauses = [E("AirSync:Class", "Email"), E("Search:FreeText", query)]
        if folder:
            clauses.insert(1, E("AirSync:CollectionId", folder))
        search = E("Search:Search", E("Search:Store", E("Search:Name", "Mailbox"),
                   E("Search:Query", E("Search:And", *clauses)),
                   E("Search:Options", E("Search:Range", range_), E("Search:DeepTraversal"))))
        answer = await world.alice("Search", search)
        if query == MARKER:
            assert b"Search:Result" not in answer.body
            assert text(answer.document.find(".//{Search:}Store"), "Search:Total") in (None, "0")


async def test_find_in_the_mailbox(world):
    find = E("Find:Find", E("Find:SearchId", "1"), E("Find:ExecuteSearch", E(
        "Find:MailBoxSearchCriterion", E("Find:Query", E("AirSync:Class", "Email"),
                                         E("Find:FreeText", MARKER)),
        E("Find:Options", E("Find:Range", "0-99"), E("Find:DeepTraversal")))))
    await world.alice("Find", find)


async def test_smartreply_and_forward_of_bobs_items_send_nothing_of_his(world):
    secrets = world.secrets
    mime = (f"From: {ALICE}\r\nTo: {CAROL}\r\nSubject: fwd\r\n\r\nsee below\r\n").encode()
    for command in ("SmartForward", "SmartReply"):
        for item in secrets.secret_items:
            folder = item.split(":")[0]
            for source in (E("ComposeMail:Source", E("ComposeMail:FolderId", folder),
                             E("ComposeMail:ItemId", item)),
                           E("ComposeMail:Source", E("ComposeMail:LongId", item))):
                await world.alice(command, E(f"ComposeMail:{command}",
                                             E("ComposeMail:ClientId", f"{command}{item}"), source,
                                             E("ComposeMail:SaveInSentItems"),
                                             opaque("ComposeMail:Mime", mime)))
            # The 14.1 query form names the source in the URL.
            await world.alice(command, E(f"ComposeMail:{command}",
                                         E("ComposeMail:ClientId", f"q{command}{item}"),
                                         opaque("ComposeMail:Mime", mime)), version="14.1",
                              params={"ItemId": item, "CollectionId": folder})
    await _assert_no_mailbox_holds_the_marker(world, (ALICE, CAROL))


async def test_sendmail_cannot_send_as_bob(world):
    mime = (f"From: {BOB}\r\nSender: {BOB}\r\nTo: {CAROL}\r\nSubject: from bob?\r\n\r\n"
            "hello\r\n").encode()
    await world.alice("SendMail", E("ComposeMail:SendMail", E("ComposeMail:ClientId", "spoof1"),
                                    opaque("ComposeMail:Mime", mime)))
    store = world.store
    carol = await store.get_user(CAROL)
    inbox = await store.find_folder(carol.id, 2)
    delivered = [i for i in await store.list_items(carol.id, inbox.id)
                 if i.data.get("Subject") == "from bob?"]
    assert delivered, "the mail was not delivered at all"
    for item in delivered:
        assert BOB not in str(item.data.get("From", "")).lower(), item.data.get("From")


async def test_meetingresponse_to_bobs_requests(world):
    responses = [E("MeetingResponse:Request", E("MeetingResponse:UserResponse", "1"),
                   E("MeetingResponse:CollectionId", s.split(":")[0]),
                   E("MeetingResponse:RequestId", s)) for s in world.secrets.server_ids[:100]]
    await world.alice("MeetingResponse", E("MeetingResponse:MeetingResponse", *responses))


async def test_ping_does_not_wake_for_bobs_mail_nor_watch_his_folders(world):
    secrets = world.secrets
    await world.alice("FolderSync", folder_sync("0"))
    ping = E("Ping:Ping", E("Ping:HeartbeatInterval", "2"), E("Ping:Folders", E(
        "Ping:Folder", E("Ping:Id", "2"), E("Ping:Class", "Email"))))
    key = collection_key(await world.alice("Sync", sync_request("2", "0")))
    key = collection_key(await world.alice("Sync", sync_request("2", key)))
    held = asyncio.create_task(world.alice("Ping", ping))
    await asyncio.sleep(0.3)
    status, _ = await world.admin("POST", f"/users/{BOB}/messages",
                                  {"from": CAROL, "subject": "for bob", "body": "x",
                                   "folder": "Inbox"})
    assert status in (200, 201)
    assert (await held).eas_status == 1  # the heartbeat passed: nothing of Alice's changed
    world.bob_before = await mailbox_snapshot(world, BOB)  # Bob did get that mail
    private = E("Ping:Ping", E("Ping:HeartbeatInterval", "2"), E("Ping:Folders", E(
        "Ping:Folder", E("Ping:Id", secrets.private_folder), E("Ping:Class", "Email"))))
    assert (await world.alice("Ping", private)).eas_status == 7


async def test_settings_and_user_parameter_speak_for_the_credentials(world):
    info = E("Settings:Settings", E("Settings:UserInformation", E("Settings:Get")))
    answer = await world.alice("Settings", info, params={"User": BOB})
    assert BOB.encode() not in answer.body and ALICE.encode() in answer.body
    answer = await world.alice("FolderSync", folder_sync("0"), params={"User": BOB})
    assert answer.eas_status == 1


async def test_bobs_device_records_cannot_be_touched_with_alices_credentials(world):
    secrets = world.secrets
    # Bob's DeviceId, Bob's policy key, Bob's SyncKeys: with Alice's password they are
    # Alice's own partnership's business, which holds none of them.
    stolen = await world.alice("FolderSync", folder_sync(secrets.sync_keys[""]),
                               device_id=BOB_PHONE, policy_key=secrets.policy_key)
    assert stolen.eas_status in (142, 144)
    own_key = await world.provision(user=ALICE, device_id=BOB_PHONE)
    assert own_key != secrets.policy_key
    assert (await world.alice("FolderSync", folder_sync(secrets.sync_keys[""]),
                              device_id=BOB_PHONE)).eas_status == 9
    answer = await world.alice("Sync", sync_request("2", secrets.sync_keys["2"]),
                               device_id=BOB_PHONE)
    assert collection_key(answer) != secrets.sync_keys["2"] or answer.eas_status == 3
    # The admin side sees two partnerships of one DeviceId, each with its own user.
    status, devices = await world.admin("GET", "/devices")
    owners = sorted(d["user"] for d in devices if d["device_id"] == BOB_PHONE)
    assert owners == [ALICE, BOB]
    # Bob's phone carries on with the keys it holds (and only that changes his records).
    assert await mailbox_snapshot(world, BOB) == world.bob_before
    again = await world.eas("Sync", sync_request("2", secrets.sync_keys["2"]), user=BOB,
                            device_id=BOB_PHONE)
    assert again.eas_status in (None, 1)
    world.bob_before = await mailbox_snapshot(world, BOB)


async def _assert_no_mailbox_holds_the_marker(world, addresses) -> None:
    store = world.store
    for address in addresses:
        user = await store.get_user(address)
        for folder in await store.list_folders(user.id):
            for item in await store.list_items(user.id, folder.id):
                blob = repr(item.data) + item.body_text + (item.body_html or "")
                blob += (item.mime or b"").decode("latin-1")
                blob += base64.b64encode(item.mime or b"").decode()
                assert MARKER not in blob, f"{address} {folder.name}: {item.data.get('Subject')}"
                for attachment in item.attachments:
                    assert MARKER not in attachment.name


def opaque(tag: str, data: bytes):
    """An element holding opaque bytes (E would write their repr as text)."""
    element = E(tag)
    set_opaque(element, data)
    return element
