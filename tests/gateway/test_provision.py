"""Provision over real sockets (MS-ASPROV): the two phases, the policy key the dispatcher
then demands (142/144 on 14.0+, 449 on 12.1), DeviceInformation on 14.1+, a blocked device
(129 / 403) before any provisioning, the remote-wipe directive, and pyactivesync."""
from __future__ import annotations

from server_fixtures import provision_request, pyactivesync_client

from protocol.xml import E, child, local_name, text

FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))
LEGACY = {"version": "12.1", "device_id": "LEGACY0001", "device_type": "Android",
          "user_agent": "Android/4.4-EAS-2.0"}


def policy_of(answer):
    return child(child(answer.document, "Provision:Policies"), "Provision:Policy")


async def device_record(live_server, device_id="TESTDEVICE0001", user="alice@contoso.com"):
    owner = await live_server.store.get_user(user)
    return await live_server.store.get_device(owner.id, device_id)


async def test_two_phases_give_a_final_key_the_dispatcher_accepts(live_server):
    first = await live_server.eas("Provision", provision_request(), provision=False)
    assert first.eas_status == 1
    policy = policy_of(first)
    assert text(policy, "Provision:Status") == "1"
    assert text(policy, "Provision:PolicyType") == "MS-EAS-Provisioning-WBXML"
    doc = child(child(policy, "Provision:Data"), "Provision:EASProvisionDoc")
    assert text(doc, "Provision:DevicePasswordEnabled") == "0"
    assert text(doc, "Provision:AttachmentsEnabled") == "1"
    temporary = text(policy, "Provision:PolicyKey")
    assert temporary and int(temporary) > 0

    # The temporary key does not open the mailbox.
    early = await live_server.eas("FolderSync", FOLDER_SYNC, policy_key=temporary)
    assert early.eas_status == 144

    second = await live_server.eas("Provision", provision_request(temporary),
                                   policy_key=temporary, provision=False)
    final = text(policy_of(second), "Provision:PolicyKey")
    assert text(policy_of(second), "Provision:Status") == "1"
    assert child(policy_of(second), "Provision:Data") is None
    assert final and final != temporary
    assert (await device_record(live_server)).policy_key == final

    done = await live_server.eas("FolderSync", FOLDER_SYNC, policy_key=final)
    assert done.eas_status == 1


async def test_no_key_is_142_and_a_wrong_key_144_on_14_and_later(live_server):
    missing = await live_server.eas("FolderSync", FOLDER_SYNC, provision=False)
    assert missing.status == 200 and missing.eas_status == 142
    zero = await live_server.eas("FolderSync", FOLDER_SYNC, policy_key="0")
    assert zero.eas_status == 142
    await live_server.provision()
    wrong = await live_server.eas("FolderSync", FOLDER_SYNC, policy_key="12345")
    assert wrong.eas_status == 144
    sync = await live_server.eas("Sync", E("AirSync:Sync"), policy_key="12345")
    assert sync.document.tag == "{AirSync:}Sync" and sync.eas_status == 144


async def test_12_1_is_told_449_instead(live_server):
    missing = await live_server.eas("FolderSync", FOLDER_SYNC, provision=False, **LEGACY)
    assert missing.status == 449 and missing.document is None
    key = await live_server.provision(**LEGACY)
    wrong = await live_server.eas("FolderSync", FOLDER_SYNC, policy_key="999", **LEGACY)
    assert wrong.status == 449
    ok = await live_server.eas("FolderSync", FOLDER_SYNC, policy_key=key, **LEGACY)
    assert ok.status == 200 and ok.eas_status == 1


async def test_ping_needs_no_policy_key(live_server):
    # A heartbeat below the minimum is answered at once (Status 5), and not with 142.
    ping = E("Ping:Ping", E("Ping:HeartbeatInterval", "1"),
             E("Ping:Folders", E("Ping:Folder", E("Ping:Id", "2"), E("Ping:Class", "Email"))))
    answer = await live_server.eas("Ping", ping, provision=False, timeout=10)
    assert answer.document.tag == "{Ping:}Ping" and answer.eas_status == 5


async def test_acknowledging_a_key_never_issued_is_policy_status_5(live_server):
    await live_server.eas("Provision", provision_request(), provision=False)
    answer = await live_server.eas("Provision", provision_request("4242"), provision=False)
    assert answer.eas_status == 1
    assert text(policy_of(answer), "Provision:Status") == "5"
    assert (await device_record(live_server)).policy_key is None


async def test_unknown_policy_type_and_empty_request(live_server):
    request = E("Provision:Provision", E("Provision:Policies", E("Provision:Policy",
                E("Provision:PolicyType", "MS-WAP-Provisioning-XML"))))
    answer = await live_server.eas("Provision", request, provision=False)
    assert text(policy_of(answer), "Provision:Status") == "3"
    assert text(policy_of(answer), "Provision:PolicyKey") is None
    empty = await live_server.eas("Provision", E("Provision:Provision"), provision=False)
    assert empty.eas_status == 2


def with_device_information(document, model):
    info = E("Settings:DeviceInformation", E("Settings:Set", E("Settings:Model", model),
                                             E("Settings:OS", "iOS 17"),
                                             E("Settings:FriendlyName", "Work phone")))
    document.insert(0, info)
    return document


async def test_device_information_inside_provision_on_14_1(live_server):
    request = with_device_information(provision_request(), "iPhone14C2")
    answer = await live_server.eas("Provision", request, provision=False, version="14.1")
    first = answer.document[0]
    assert local_name(first) == "DeviceInformation"
    assert text(first, "Settings:Status") == "1"
    assert [local_name(e) for e in answer.document] == ["DeviceInformation", "Status", "Policies"]
    device = await device_record(live_server)
    assert device.model == "iPhone14C2" and device.friendly_name == "Work phone"


async def test_no_device_information_answer_before_14_1(live_server):
    request = with_device_information(provision_request(), "Nexus 5")
    answer = await live_server.eas("Provision", request, provision=False, **LEGACY)
    assert [local_name(e) for e in answer.document] == ["Status", "Policies"]


async def test_outlook_model_in_provision_counts_at_first_contact(live_server):
    await live_server.services.access.set_mode("contoso.com", "outlook-only")
    request = with_device_information(provision_request(), "Outlook for iOS and Android")
    answer = await live_server.eas("Provision", request, provision=False,
                                   device_id="OUTLOOKISH1", device_type="iPhone",
                                   user_agent="SomeAgent/1.0")
    assert answer.eas_status == 1


async def test_blocked_device_gets_129_even_for_provision(live_server):
    await live_server.services.access.set_mode("contoso.com", "outlook-only")
    answer = await live_server.eas("Provision", provision_request(), provision=False)
    assert answer.status == 200
    assert answer.document.tag == "{Provision:}Provision" and answer.eas_status == 129
    folders = await live_server.eas("FolderSync", FOLDER_SYNC, policy_key="1")
    assert folders.eas_status == 129  # access is checked before the policy key


async def test_blocked_12_1_device_gets_403(live_server):
    await live_server.services.access.set_mode("contoso.com", "outlook-only")
    answer = await live_server.eas("Provision", provision_request(), provision=False, **LEGACY)
    assert answer.status == 403 and answer.document is None


async def test_pending_remote_wipe_is_sent_through_provision(live_server):
    key = await live_server.provision()
    device = await device_record(live_server)
    await live_server.store.update_device(device.id, wipe="pending")
    told = await live_server.eas("FolderSync", FOLDER_SYNC, policy_key=key)
    assert told.eas_status == 140
    directive = await live_server.eas("Provision", provision_request(), provision=False)
    assert child(directive.document, "Provision:RemoteWipe") is not None
    ack = E("Provision:Provision", E("Provision:RemoteWipe", E("Provision:Status", "1")))
    done = await live_server.eas("Provision", ack, provision=False)
    assert done.eas_status == 1
    assert (await device_record(live_server)).wipe == "wiped"


async def test_pyactivesync_provisions_and_lists_folders(live_server):
    client = pyactivesync_client(live_server)
    key = await client.provision()
    owner = await live_server.store.get_user("alice@contoso.com")
    device = await live_server.store.get_device(owner.id, "PYACTIVESYNC0001")
    assert device.policy_key == key and device.model == "pyactivesync"
    folders = await client.list_folders()
    assert any(folder.name == "Inbox" for folder in folders)
    await client.close()
