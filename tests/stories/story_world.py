"""What the seed's stories need: iPhone Mail and Outlook for iOS as pyactivesync clients
(their DeviceType and User-Agent as SPEC §3 catalogues them), the admin API for the
setting and the clock, and a client-side copy of a folder kept by plain Syncs."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pyactivesync import FolderType
from server_fixtures import ThreadedClient, pyactivesync_client

from gateway.content import new_email
from store.types import FolderType as StoreFolderType

IPHONE = {"device_type": "iPhone", "user_agent": "Apple-iPhone14C2/2104.92"}
IPAD = {"device_type": "iPad", "user_agent": "Apple-iPad13C1/2104.92"}
OUTLOOK = {"device_type": "Outlook", "user_agent": "Outlook-iOS/2.0"}
NOTICE_SUBJECT = "Action required: choose how to get your contoso.com email on"
CHOICE_LINK = re.compile(r"/choice/([A-Za-z0-9_-]+)\?app=(keep|outlook)")


def phone(live_server: Any, device_id: str, profile: dict[str, str],
          user: str = "alice@contoso.com") -> ThreadedClient:
    client = pyactivesync_client(live_server, user=user, device_id=device_id, **profile)
    client.sync._transport.session.trust_env = False
    return client


@dataclass
class Mirror:
    """One folder as a client holds it: {server id: fields}, and its SyncKey chain."""

    client: ThreadedClient
    folder_id: str
    key: str = "0"
    items: dict[str, dict[str, str]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    async def sync(self, window: int = 25) -> Mirror:
        """Sync until nothing more is available; remembers this round's adds and deletes."""
        self.added, self.deleted = [], []
        if self.key == "0":
            self.key = (await self.client.sync_folder(self.folder_id)).sync_key
        while True:
            result = await self.client.sync_folder(self.folder_id, self.key, window_size=window)
            self.key = result.sync_key
            for item in result.added + result.changed:
                self.items.setdefault(item.server_id, {}).update(item.fields)
            self.added += [item.server_id for item in result.added]
            for server_id in result.deleted:
                self.items.pop(server_id, None)
            self.deleted += result.deleted
            if not result.more_available:
                return self

    def subjects(self) -> list[str]:
        return [fields.get("Email.Subject", "") for fields in self.items.values()]


async def mirror(client: ThreadedClient, folder_type: FolderType) -> Mirror:
    folders = await client.list_folders()
    folder = next(f for f in folders if f.type == folder_type)
    return Mirror(client, folder.id)


async def set_mode(live_server: Any, mode: str, **more: Any) -> dict[str, Any]:
    status, body = await live_server.admin("PUT", "/tenants/contoso.com/mobile-access",
                                           {"mode": mode, **more})
    assert status == 200, body
    return body


async def advance_hours(live_server: Any, hours: float) -> None:
    status, body = await live_server.admin("POST", "/clock/advance", {"seconds": hours * 3600})
    assert status == 200, body


async def device_json(live_server: Any, device_id: str) -> dict[str, Any]:
    status, devices = await live_server.admin("GET", "/devices")
    return next(d for d in devices if d["device_id"] == device_id)


async def stored_ids(live_server: Any, folder_id: str,
                     address: str = "alice@contoso.com") -> set[str]:
    user = await live_server.store.get_user(address)
    return {item.server_id for item in await live_server.store.list_items(user.id, folder_id)}


async def deliver(live_server: Any, subject: str, address: str = "alice@contoso.com") -> str:
    store = live_server.store
    user = await store.get_user(address)
    inbox = await store.find_folder(user.id, StoreFolderType.INBOX)
    item = new_email(sender="Dave <dave@example.com>", to=[address], subject=subject,
                     text=f"About {subject}", date=live_server.clock.now())
    return (await store.add_item(user.id, inbox.id, item)).server_id


async def choice_token(live_server: Any, notice: Mirror, server_id: str) -> str:
    """The token of the notice's links, read from the mail as the user would; the links
    lead to this very server."""
    values = list(notice.items.get(server_id, {}).values())
    if not any(CHOICE_LINK.search(value) for value in values):
        user = await live_server.store.get_user("alice@contoso.com")
        values = [(await live_server.store.get_item(user.id, server_id)).body_text]
    for value in values:
        found = CHOICE_LINK.search(value)
        if found:
            assert f"{live_server.http_url}/choice/{found.group(1)}" in value
            return found.group(1)
    raise AssertionError("the notice has no choice link")


async def click(live_server: Any, token: str, choice: str) -> None:
    """Open the link (a confirmation page, nothing changes), then press its button."""
    session = await live_server.session()
    url = f"{live_server.http_url}/choice/{token}"
    async with session.get(url, params={"app": choice}) as response:
        assert response.status == 200
    async with session.post(url, data={"app": choice}) as response:
        assert response.status == 200, await response.text()
