"""A hand-built command context over a real store, for the sync engine's tests: each call
runs one command handler the way the dispatcher would (fresh device record and mailbox
view), and passes both the request and the answer through the real WBXML codec."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from lxml import etree

from gateway.clock import Clock
from gateway.commands.base import CommandContext, answered
from gateway.mailbox import MailboxView
from gateway.pushhub import PushHub
from protocol import wbxml
from protocol.request import EASRequest
from protocol.xml import E, child, children, sub, text
from store.api import Store
from store.fixtures import load_demo_tenant
from store.types import Device, FolderType, NewItem

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class Client:
    """One device of one user."""

    env: Harness
    address: str
    device_id: str
    version: str = "16.1"
    user: Any = None
    device: Device | None = None
    keys: dict[str, str] = field(default_factory=dict)

    async def run(self, command: str, document: etree._Element | None) -> etree._Element | None:
        store = self.env.store
        assert self.device is not None
        self.device = await store.get_device_by_pk(self.device.id)
        if document is not None:
            document = wbxml.decode(wbxml.encode(document))
        ctx = CommandContext(
            request=EASRequest(command=command, device_id=self.device_id,
                               device_type="TestDevice", protocol_version=self.version),
            document=document, user=self.user, device=self.device,
            services=self.env.services,
            mailbox=await MailboxView.load(self.env.services, self.user, self.device),
        )
        module = importlib.import_module(f"gateway.commands.{command.lower()}")
        result = await answered(await module.handle(ctx))
        if result.document is None:
            return None
        return wbxml.decode(wbxml.encode(result.document))

    # --- Sync helpers ---------------------------------------------------------------------
    async def sync(self, folder_id: str, *, key: str | None = None, window: int | None = None,
                   commands: list[etree._Element] | None = None, get_changes: bool | None = None,
                   options: etree._Element | None = None) -> etree._Element:
        """One collection's Sync; remembers the new key. Returns the answer's Collection."""
        key = key if key is not None else self.keys.get(folder_id, "0")
        collection = E("AirSync:Collection", E("AirSync:SyncKey", key),
                       E("AirSync:CollectionId", folder_id))
        if get_changes is not None:
            sub(collection, "AirSync:GetChanges", "1" if get_changes else "0")
        if window is not None:
            sub(collection, "AirSync:WindowSize", window)
        if options is not None:
            collection.append(options)
        if commands:
            collection.append(E("AirSync:Commands", *commands))
        root = await self.run("Sync", E("AirSync:Sync", E("AirSync:Collections", collection)))
        assert root is not None
        answer = root.find("{AirSync:}Collections/{AirSync:}Collection")
        assert answer is not None, etree.tostring(root)
        if text(answer, "AirSync:Status") == "1":
            self.keys[folder_id] = text(answer, "AirSync:SyncKey")
        return answer

    async def sync_all(self, folder_id: str, window: int = 100) -> dict[str, list[str]]:
        """Sync from key 0 (or the kept key) until nothing more; the server ids by kind."""
        seen: dict[str, list[str]] = {"Add": [], "Change": [], "Delete": []}
        if folder_id not in self.keys:
            await self.sync(folder_id)
        while True:
            answer = await self.sync(folder_id, window=window)
            for kind, ids in server_changes(answer).items():
                seen[kind] += ids
            if child(answer, "AirSync:MoreAvailable") is None:
                return seen


def server_changes(collection: etree._Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"Add": [], "Change": [], "Delete": []}
    commands = child(collection, "AirSync:Commands")
    for element in commands if commands is not None else []:
        found[etree.QName(element).localname].append(text(element, "AirSync:ServerId"))
    return found


def responses(collection: etree._Element) -> list[etree._Element]:
    found = child(collection, "AirSync:Responses")
    return list(found) if found is not None else []


@dataclass
class Harness:
    store: Store
    services: Any

    @classmethod
    async def create(cls, store: Store) -> Harness:
        await load_demo_tenant(store)
        clock = Clock(store)
        await clock.load()
        await clock.set_mode("manual")
        await clock.set(START)
        hub = PushHub()
        hub.attach(store)
        config = SimpleNamespace(ping_min_heartbeat_s=1, ping_max_heartbeat_s=3540,
                                 ping_max_folders=300)
        return cls(store, SimpleNamespace(store=store, clock=clock, pushhub=hub, config=config))

    async def client(self, address: str = "alice@contoso.com", device_id: str = "DEV1", *,
                     version: str = "16.1", state: str = "allowed", **fields: Any) -> Client:
        user = await self.store.get_user(address)
        device = await self.store.get_device(user.id, device_id)
        if device is None:
            device = await self.store.create_device(Device(
                id=0, user_id=user.id, user_address=user.address, device_id=device_id,
                device_type="TestDevice", state=state, **fields))  # type: ignore[arg-type]
        return Client(self, address, device_id, version, user, device)

    async def folder_id(self, address: str, folder_type: FolderType) -> str:
        user = await self.store.get_user(address)
        folder = await self.store.find_folder(user.id, folder_type)
        assert folder is not None
        return folder.id

    async def deliver(self, address: str, subject: str, folder_type: FolderType = FolderType.INBOX
                      ) -> str:
        user = await self.store.get_user(address)
        folder_id = await self.folder_id(address, folder_type)
        item = await self.store.add_item(user.id, folder_id, NewItem(
            item_class="Email",
            data={"Subject": subject, "From": "dave@example.com", "To": address,
                  "DateReceived": "2026-11-20T09:00:00.000Z", "MessageClass": "IPM.Note"},
            body_text=f"Body of {subject}"))
        return item.server_id


def children_texts(element: etree._Element, tag: str) -> list[str]:
    return [e.text or "" for e in children(element, tag)]
