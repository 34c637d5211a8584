"""An EAS device whose WBXML is Debian's libwbxml, not ours: every request document is
encoded by ``xml2wbxml`` and every WBXML answer decoded by ``wbxml2xml -l ACTIVESYNC``
(through tests/conformance/libwbxml.py, which maps libwbxml's few differently spelled tag
names to ours). It speaks over a real socket to the live gateway, with HTTP Basic and the
plain query form, in the protocol version it was made with.

Our own decoder reads each answer too, and the two readings must agree: a difference is a
codec bug on one side, reported with both documents.

The libwbxml tools are processes; they run in a thread so the server, which shares the
test's event loop, keeps serving (a held Ping, say) while they work.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from conformance.libwbxml import (  # tests/conformance as a namespace package
    agree,
    comparable,
    decode_with_libwbxml,
    encode_with_libwbxml,
    infoset,
)
from lxml import etree
from server_fixtures import DEMO_PASSWORD, LiveServer

from protocol.versions import at_least
from protocol.xml import E, child, children, sub, text, to_pretty_xml

WBXML = "application/vnd.ms-sync.wbxml"
MIME = "message/rfc822"


@dataclass
class Reply:
    status: int  # HTTP
    headers: dict[str, str]
    body: bytes
    document: etree._Element | None  # as wbxml2xml read it, in our tag names

    def status_of(self, path: str = "") -> str | None:
        """The Status under ``path`` ("" for the top level), e.g. ``reply.status_of()``."""
        assert self.document is not None, f"HTTP {self.status} without a document"
        page = etree.QName(self.document).namespace.rstrip(":")
        node = self.document
        for step in filter(None, path.split("/")):
            node = child(node, step if ":" in step else f"{page}:{step}")
            assert node is not None, f"no {step} in {pretty(self.document)}"
        return text(node, f"{page}:Status")


def pretty(document: etree._Element | None) -> str:
    return to_pretty_xml(document) if document is not None else "(no document)"


@dataclass
class LibwbxmlDevice:
    server: LiveServer
    version: str
    device_id: str
    device_type: str
    user_agent: str
    user: str = "alice@contoso.com"
    password: str = DEMO_PASSWORD
    policy_key: str | None = None
    folder_key: str = "0"
    sync_keys: dict[str, str] = field(default_factory=dict)

    @property
    def legacy(self) -> bool:
        """12.1: HTTP 449/403 instead of global statuses, raw MIME for mail, Class in Sync."""
        return not at_least(self.version, "14.0")

    # --- the wire ------------------------------------------------------------------------
    async def send(self, command: str, document: etree._Element | None = None, *,
                   raw: bytes | None = None, content_type: str = WBXML,
                   params: dict[str, str] | None = None, policy_key: str | None = None,
                   timeout: float = 30.0) -> Reply:
        """POST one command: ``document`` encoded by xml2wbxml, or ``raw`` bytes as they are."""
        body = await asyncio.to_thread(encode_with_libwbxml, document) if document is not None \
            else raw or b""
        query = {"Cmd": command, "User": self.user, "DeviceId": self.device_id,
                 "DeviceType": self.device_type, **(params or {})}
        headers = {"MS-ASProtocolVersion": self.version, "User-Agent": self.user_agent,
                   "Content-Type": content_type}
        key = policy_key if policy_key is not None else self.policy_key
        if key is not None:
            headers["X-MS-PolicyKey"] = key
        answer = await self.server.post(query, body, headers, user=self.user,
                                        password=self.password, timeout=timeout)
        theirs = None
        if answer.document is not None:
            theirs = await asyncio.to_thread(decode_with_libwbxml, answer.body)
            assert agree(comparable(infoset(answer.document)), comparable(infoset(theirs))), \
                f"libwbxml and we read the answer differently:\n{pretty(theirs)}\n" \
                f"{pretty(answer.document)}"
        return Reply(answer.status, answer.headers, answer.body, theirs)

    # --- provisioning --------------------------------------------------------------------
    async def provision(self, device_information: etree._Element | None = None) -> Reply:
        """Both Provision round trips (MS-ASPROV 3.1.5.1); keeps the final policy key and
        returns the first answer (the one holding the policy document)."""
        first = await self.send("Provision", provision_request(None, device_information),
                                policy_key="0" if not self.legacy else None)
        temporary = policy_key_of(first)
        second = await self.send("Provision", provision_request(temporary),
                                 policy_key=temporary)
        self.policy_key = policy_key_of(second)
        return first

    # --- folders and Sync ----------------------------------------------------------------
    async def folder_sync(self) -> dict[str, etree._Element]:
        """FolderSync from the kept key; the folders added, by ServerId."""
        reply = await self.send("FolderSync", E("FolderHierarchy:FolderSync",
                                                E("FolderHierarchy:SyncKey", self.folder_key)))
        assert reply.status_of() == "1", pretty(reply.document)
        self.folder_key = text(reply.document, "FolderHierarchy:SyncKey")
        changes = child(reply.document, "FolderHierarchy:Changes")
        added = children(changes, "FolderHierarchy:Add") if changes is not None else []
        return {text(a, "FolderHierarchy:ServerId"): a for a in added}

    def collection(self, folder_id: str, item_class: str, *, window: int | None = None,
                   commands: list[etree._Element] | None = None,
                   options: etree._Element | None = None) -> etree._Element:
        """One Sync Collection, in the element order of the device's version (12.1 names
        the Class first)."""
        element = E("AirSync:Collection")
        if self.legacy:
            sub(element, "AirSync:Class", item_class)
        sub(element, "AirSync:SyncKey", self.sync_keys.get(folder_id, "0"))
        sub(element, "AirSync:CollectionId", folder_id)
        if folder_id in self.sync_keys:
            sub(element, "AirSync:DeletesAsMoves", "1")
            sub(element, "AirSync:GetChanges")
            if window is not None:
                sub(element, "AirSync:WindowSize", window)
            if options is not None:
                element.append(options)
        if commands:
            element.append(E("AirSync:Commands", *commands))
        return element

    async def sync(self, folder_id: str, item_class: str, **kwargs) -> etree._Element:
        """One collection's Sync; keeps the new key and returns the answer's Collection."""
        reply = await self.send("Sync", E("AirSync:Sync", E("AirSync:Collections",
                                        self.collection(folder_id, item_class, **kwargs))))
        assert reply.status == 200 and reply.document is not None, reply.status
        answer = reply.document.find("{AirSync:}Collections/{AirSync:}Collection")
        assert answer is not None, pretty(reply.document)
        assert text(answer, "AirSync:Status") == "1", pretty(reply.document)
        self.sync_keys[folder_id] = text(answer, "AirSync:SyncKey")
        return answer


def provision_request(policy_key: str | None,
                      device_information: etree._Element | None = None) -> etree._Element:
    root = E("Provision:Provision")
    if device_information is not None:
        root.append(device_information)
    policy = E("Provision:Policy", E("Provision:PolicyType", "MS-EAS-Provisioning-WBXML"))
    if policy_key is not None:
        sub(policy, "Provision:PolicyKey", policy_key)
        sub(policy, "Provision:Status", "1")
    root.append(E("Provision:Policies", policy))
    return root


def policy_key_of(reply: Reply) -> str:
    assert reply.status == 200 and reply.status_of() == "1", pretty(reply.document)
    policy = reply.document.find("{Provision:}Policies/{Provision:}Policy")
    assert policy is not None and text(policy, "Provision:Status") == "1", pretty(reply.document)
    return text(policy, "Provision:PolicyKey")


def server_commands(collection: etree._Element) -> dict[str, list[etree._Element]]:
    """A Sync answer's Add, Change and Delete elements, by kind."""
    found: dict[str, list[etree._Element]] = {"Add": [], "Change": [], "Delete": []}
    commands = child(collection, "AirSync:Commands")
    for element in commands if commands is not None else []:
        found[etree.QName(element).localname].append(element)
    return found
