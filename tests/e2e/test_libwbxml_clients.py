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
from libwbxml_device import LibwbxmlDevice, Reply, pretty, server_commands
from lxml import etree

from conformance.libwbxml import WBXML2XML, XML2WBXML
from protocol.xml import E, child, children, set_opaque, sub, text
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
