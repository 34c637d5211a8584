"""The request documents a client sends, and readers for the answers (MS-ASCMD, MS-ASPROV).

Pure: lxml trees in, lxml trees out. Child order follows MS-ASCMD's schemas, because real
servers (and ours) may read them in order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from emulator.profiles import BodyPreference, Profile
from protocol.numbers import integer
from protocol.versions import at_least
from protocol.xml import E, Element, child, children, sub, text

POLICY_TYPE = "MS-EAS-Provisioning-WBXML"

# MS-ASCMD 2.2.3.186.3: folder Type → the class of its items
FOLDER_CLASSES = {
    1: "Email", 2: "Email", 3: "Email", 4: "Email", 5: "Email", 6: "Email", 12: "Email",
    7: "Tasks", 15: "Tasks", 8: "Calendar", 13: "Calendar", 9: "Contacts", 14: "Contacts",
    10: "Notes", 17: "Notes",
}
INBOX, CALENDAR, CONTACTS = 2, 8, 9


# --- identity -----------------------------------------------------------------------------
def device_information(profile: Profile) -> Element:
    """Settings:DeviceInformation with the Set the app sends (in Settings, and inside
    Provision from 14.1 on)."""
    info = E("Settings:DeviceInformation")
    values = sub(info, "Settings:Set")
    sub(values, "Settings:Model", profile.model)
    sub(values, "Settings:FriendlyName", profile.friendly_name)
    sub(values, "Settings:OS", profile.os)
    sub(values, "Settings:OSLanguage", "English")
    sub(values, "Settings:UserAgent", profile.user_agent)
    return info


# --- Provision (MS-ASPROV 3.1.5.1) ----------------------------------------------------------
def provision_request(profile: Profile) -> Element:
    """Phase one: ask for the policy. DeviceInformation rides along from 14.1 on."""
    root = E("Provision:Provision")
    if at_least(profile.version, "14.1"):
        root.append(device_information(profile))
    policy = sub(sub(root, "Provision:Policies"), "Provision:Policy")
    sub(policy, "Provision:PolicyType", POLICY_TYPE)
    return root


def provision_acknowledgement(temporary_key: str) -> Element:
    """Phase two: acknowledge the policy with the temporary key; the answer holds the final one."""
    root = E("Provision:Provision")
    policy = sub(sub(root, "Provision:Policies"), "Provision:Policy")
    sub(policy, "Provision:PolicyType", POLICY_TYPE)
    sub(policy, "Provision:PolicyKey", temporary_key)
    sub(policy, "Provision:Status", 1)
    return root


def remote_wipe_acknowledgement(account_only: bool) -> Element:
    root = E("Provision:Provision")
    tag = "Provision:AccountOnlyRemoteWipe" if account_only else "Provision:RemoteWipe"
    sub(sub(root, tag), "Provision:Status", 1)
    return root


def policy_key(answer: Element | None) -> str | None:
    """The PolicyKey of a Provision answer (temporary in phase one, final in phase two)."""
    if answer is None:
        return None
    policy = answer.find("{Provision:}Policies/{Provision:}Policy")
    return text(policy, "Provision:PolicyKey")


def remote_wipe(answer: Element | None) -> str | None:
    """``"device"`` or ``"account"`` when the Provision answer orders a wipe."""
    if answer is None:
        return None
    if child(answer, "Provision:RemoteWipe") is not None:
        return "device"
    if child(answer, "Provision:AccountOnlyRemoteWipe") is not None:
        return "account"
    return None


# --- Settings -------------------------------------------------------------------------------
def settings_request(profile: Profile) -> Element:
    root = E("Settings:Settings")
    root.append(device_information(profile))
    if at_least(profile.version, "14.0"):
        sub(sub(root, "Settings:UserInformation"), "Settings:Get")
    return root


# --- FolderSync -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Folder:
    server_id: str
    parent_id: str
    name: str
    type: int

    @property
    def item_class(self) -> str:
        return FOLDER_CLASSES.get(self.type, "Email")


@dataclass
class FolderChanges:
    sync_key: str | None
    added: list[Folder] = field(default_factory=list)
    updated: list[Folder] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def folder_sync_request(sync_key: str) -> Element:
    return E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", sync_key))


def _folder(element: Element) -> Folder:
    return Folder(
        server_id=text(element, "FolderHierarchy:ServerId", ""),
        parent_id=text(element, "FolderHierarchy:ParentId", "0"),
        name=text(element, "FolderHierarchy:DisplayName", ""),
        type=int(text(element, "FolderHierarchy:Type", "18") or 18),
    )


def folder_changes(answer: Element) -> FolderChanges:
    changes = FolderChanges(sync_key=text(answer, "FolderHierarchy:SyncKey"))
    block = child(answer, "FolderHierarchy:Changes")
    if block is None:
        return changes
    changes.added = [_folder(e) for e in children(block, "FolderHierarchy:Add")]
    changes.updated = [_folder(e) for e in children(block, "FolderHierarchy:Update")]
    changes.deleted = [text(e, "FolderHierarchy:ServerId", "")
                       for e in children(block, "FolderHierarchy:Delete")]
    return changes


# --- Sync -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SyncOptions:
    """What a client asks of a collection's Sync (the app's habits, from its profile)."""

    window_size: int
    filter_type: int
    body_preferences: tuple[BodyPreference, ...]

    @classmethod
    def of(cls, profile: Profile) -> SyncOptions:
        return cls(profile.window_size, profile.filter_type, profile.body_preferences)


def _options(item_class: str, options: SyncOptions) -> Element:
    element = E("AirSync:Options")
    if item_class in ("Email", "Calendar", "Tasks"):
        sub(element, "AirSync:FilterType", options.filter_type)
    for preference in options.body_preferences:
        body = sub(element, "AirSyncBase:BodyPreference")
        sub(body, "AirSyncBase:Type", preference.type)
        if preference.truncation_size is not None:
            sub(body, "AirSyncBase:TruncationSize", preference.truncation_size)
    if item_class == "Email" and any(p.type == 4 for p in options.body_preferences):
        sub(element, "AirSync:MIMESupport", 2)  # MIME for every message
    return element


def sync_collection(
    folder: Folder, sync_key: str, options: SyncOptions, version: str,
    commands: Element | None = None,
) -> Element:
    """One AirSync:Collection. The initial request (SyncKey 0) carries only the key and the
    id, as MS-ASCMD 3.1.5.3 asks; later ones ask for changes in windows."""
    collection = E("AirSync:Collection")
    if version == "12.1":
        sub(collection, "AirSync:Class", folder.item_class)
    sub(collection, "AirSync:SyncKey", sync_key)
    sub(collection, "AirSync:CollectionId", folder.server_id)
    if sync_key != "0":
        sub(collection, "AirSync:DeletesAsMoves", 1)
        sub(collection, "AirSync:WindowSize", options.window_size)
        collection.append(_options(folder.item_class, options))
        if commands is not None:
            collection.append(commands)
    return collection


def sync_request(collections: list[Element]) -> Element:
    root = E("AirSync:Sync")
    block = sub(root, "AirSync:Collections")
    for collection in collections:
        block.append(collection)
    return root


def mark_read_commands(server_ids: list[str]) -> Element:
    """Client-side changes: these mails were read on the device."""
    commands = E("AirSync:Commands")
    for server_id in server_ids:
        change = sub(commands, "AirSync:Change")
        sub(change, "AirSync:ServerId", server_id)
        sub(sub(change, "AirSync:ApplicationData"), "Email:Read", 1)
    return commands


@dataclass
class CollectionAnswer:
    collection_id: str
    sync_key: str | None
    status: int
    added: list[tuple[str, Element]] = field(default_factory=list)  # (ServerId, ApplicationData)
    changed: list[tuple[str, Element]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    responses: list[tuple[str, str, int]] = field(default_factory=list)  # (verb, id, Status)
    more_available: bool = False


def sync_answers(answer: Element) -> list[CollectionAnswer]:
    """Every collection of a Sync answer. An empty list when the answer has none (an empty
    Sync body, or a top-level Status: read that with `top_status`)."""
    block = child(answer, "AirSync:Collections")
    if block is None:
        return []
    return [_collection_answer(e) for e in children(block, "AirSync:Collection")]


def _collection_answer(element: Element) -> CollectionAnswer:
    result = CollectionAnswer(
        collection_id=text(element, "AirSync:CollectionId", ""),
        sync_key=text(element, "AirSync:SyncKey"),
        status=integer(text(element, "AirSync:Status"), 1),
        more_available=child(element, "AirSync:MoreAvailable") is not None,
    )
    commands = child(element, "AirSync:Commands")
    for command in [] if commands is None else list(commands):
        verb = command.tag.rpartition("}")[2]
        server_id = text(command, "AirSync:ServerId", "")
        data = child(command, "AirSync:ApplicationData")
        if verb == "Add":
            result.added.append((server_id, data if data is not None else E("AirSync:ApplicationData")))
        elif verb == "Change":
            result.changed.append((server_id, data if data is not None else E("AirSync:ApplicationData")))
        elif verb in ("Delete", "SoftDelete"):
            result.deleted.append(server_id)
    responses = child(element, "AirSync:Responses")
    for response in [] if responses is None else list(responses):
        verb = response.tag.rpartition("}")[2]
        ident = text(response, "AirSync:ServerId") or text(response, "AirSync:ClientId", "")
        status = integer(text(response, "AirSync:Status"), 1)
        result.responses.append((verb, ident or "", status))
    return result


# --- Ping -----------------------------------------------------------------------------------
def ping_request(heartbeat: int, folders: list[Folder]) -> Element:
    root = E("Ping:Ping")
    sub(root, "Ping:HeartbeatInterval", heartbeat)
    block = sub(root, "Ping:Folders")
    for folder in folders:
        entry = sub(block, "Ping:Folder")
        sub(entry, "Ping:Id", folder.server_id)
        sub(entry, "Ping:Class", folder.item_class)
    return root


def ping_folders(answer: Element) -> list[str]:
    """The folders a Ping answer (Status 2) says changed."""
    block = child(answer, "Ping:Folders")
    return [] if block is None else [f.text or "" for f in children(block, "Ping:Folder")]


def ping_limit(answer: Element, tag: str) -> int | None:
    """HeartbeatInterval (Status 5) or MaxFolders (Status 6) the server asks for."""
    value = text(answer, f"Ping:{tag}")
    return integer(value, 0) or None


# --- SendMail (14.0+: ComposeMail document; 12.1: the MIME is the body) ---------------------
def send_mail_request(client_id: str, mime: bytes) -> Element:
    root = E("ComposeMail:SendMail")
    sub(root, "ComposeMail:ClientId", client_id)
    sub(root, "ComposeMail:SaveInSentItems")
    sub(root, "ComposeMail:Mime", mime)
    return root


# --- any answer -----------------------------------------------------------------------------
def top_status(answer: Element | None) -> int | None:
    """The top-level Status of an answer (Sync's, Ping's, Provision's …), None when absent."""
    if answer is None:
        return None
    for element in answer:
        if isinstance(element.tag, str) and element.tag.rpartition("}")[2] == "Status":
            return integer(element.text, 0)
    return None
