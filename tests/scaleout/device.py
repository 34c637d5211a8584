"""A scripted EAS device for the scale-out tests: it keeps its SyncKeys, and each command
goes to whichever gateway process the test names (as a load balancer would choose)."""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from server_fixtures import EASAnswer, LiveServer

from protocol.xml import E, child, children, text

INBOX = "2"  # the default folders' ids are their types (store/sql.py)


@dataclass
class SyncAnswer:
    status: int
    key: str | None
    adds: list[str] = field(default_factory=list)
    more: bool = False


@dataclass
class Device:
    user: str
    device_id: str
    keys: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)  # every Add's ServerId, in order

    async def run(self, node: LiveServer, command: str, document: etree._Element,
                  **options: object) -> EASAnswer:
        answer = await node.eas(command, document, user=self.user, device_id=self.device_id,
                                **options)  # type: ignore[arg-type]
        assert answer.status == 200, (command, answer.status, answer.body[:200])
        return answer

    async def folder_sync(self, node: LiveServer) -> None:
        answer = await self.run(node, "FolderSync", E("FolderHierarchy:FolderSync",
                                                      E("FolderHierarchy:SyncKey", "0")))
        assert answer.eas_status == 1, answer.document

    async def sync(self, node: LiveServer, folder_id: str = INBOX, *, window: int = 25
                   ) -> SyncAnswer:
        """One Sync of one collection from the kept key (0 at first); keeps the new key."""
        collection = E("AirSync:Collection",
                       E("AirSync:SyncKey", self.keys.get(folder_id, "0")),
                       E("AirSync:CollectionId", folder_id),
                       E("AirSync:WindowSize", str(window)))
        answer = await self.run(node, "Sync", E("AirSync:Sync", E("AirSync:Collections",
                                                                  collection)))
        if answer.document is None:  # an empty answer: nothing changed
            return SyncAnswer(1, self.keys.get(folder_id))
        found = answer.document.find("{AirSync:}Collections/{AirSync:}Collection")
        if found is None:
            return SyncAnswer(answer.eas_status or 0, None)
        status = int(text(found, "AirSync:Status") or 0)
        result = SyncAnswer(status, text(found, "AirSync:SyncKey"),
                            more=child(found, "AirSync:MoreAvailable") is not None)
        if status == 1 and result.key:
            self.keys[folder_id] = result.key
            commands = child(found, "AirSync:Commands")
            if commands is not None:
                result.adds = [text(add, "AirSync:ServerId") or ""
                               for add in children(commands, "AirSync:Add")]
                self.seen.extend(result.adds)
        return result

    async def sync_until_done(self, nodes: list[LiveServer], pick, folder_id: str = INBOX,
                              ) -> None:
        """Sync (through ``pick(nodes)`` each time) until the folder has nothing more."""
        while True:
            starting = folder_id not in self.keys  # key 0 answers with a key and no items
            answer = await self.sync(pick(nodes), folder_id)
            assert answer.status == 1, answer
            if not starting and not answer.more and not answer.adds:
                return

    async def ping(self, node: LiveServer, heartbeat_s: int, folder_id: str = INBOX
                   ) -> tuple[int, list[str]]:
        """A Ping on one folder: its Status and the folders it names."""
        document = E("Ping:Ping", E("Ping:HeartbeatInterval", str(heartbeat_s)),
                     E("Ping:Folders", E("Ping:Folder", E("Ping:Id", folder_id),
                                         E("Ping:Class", "Email"))))
        answer = await self.run(node, "Ping", document, timeout=heartbeat_s + 30)
        assert answer.document is not None
        folders = child(answer.document, "Ping:Folders")
        named = [f.text or "" for f in children(folders, "Ping:Folder")] if folders is not None else []
        return int(text(answer.document, "Ping:Status") or 0), named
