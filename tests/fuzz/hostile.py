"""Hostile EAS request bodies and request lines, made from real ones by a seeded mutator.

Shared by the fuzz tests (hypothesis draws the seed, so a failure replays) and by
``scripts/fuzz.py`` (a million bodies from one `random.Random`). Three levels of damage:

- **bytes**: bit flips, bytes set, cut, inserted, slices repeated, bodies spliced;
- **tokens**: valid WBXML framing around poison: multi-byte integers too long or above
  2**32, opaque and string-table lengths beyond the body, strings of invalid UTF-8 or without
  their NUL, code pages that do not exist, nesting far deeper than the decoder allows;
- **documents**: well-formed WBXML that lies: the wrong command's document, fields holding
  huge or negative numbers, Unicode digits, dates that do not exist, 64 KiB strings,
  elements repeated hundreds of times, ids of other users' folders and items.

Seeds are the realistic documents of tests/conformance/corpus plus the client uploads
below, each with the command it is sent as.
"""
from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from protocol import wbxml
from protocol.xml import E, set_opaque

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "conformance"))
from corpus import DOCUMENTS  # noqa: E402  (the conformance corpus, a plain folder)

HEADER = b"\x03\x01\x6a\x00"  # WBXML 1.3, unknown public id, UTF-8, empty string table

# The command each corpus document's name starts with.
_COMMAND_OF_PREFIX = {
    "find": "Find", "foldersync": "FolderSync", "getitemestimate": "GetItemEstimate",
    "itemoperations": "ItemOperations", "meetingresponse": "MeetingResponse",
    "moveitems": "MoveItems", "ping": "Ping", "provision": "Provision",
    "resolverecipients": "ResolveRecipients", "search": "Search", "sendmail": "SendMail",
    "settings": "Settings", "sync": "Sync",
}

# Texts that have broken servers: sizes, signs, bases, scripts, formats, injections.
HOSTILE_TEXTS = (
    "", " ", "0", "-1", "-0", "+1", "2147483648", "4294967296", "18446744073709551616",
    "9" * 400, "1e309", "NaN", "inf", "0x1F", "007", " 7 ", "\u00b2", "\u0663\u0664",
    "\uff11\uff12", "1.5", "1,5", "2026-13-45T99:99:99.000Z", "0000-00-00T00:00:00.000Z",
    "9999-12-31T23:59:59.999Z", "20261120T091500Z", "1:", ":1", "1:2:3:4", "1:99999999999999",
    "../../../etc/passwd", "' OR 1=1 --", "%s%n%x", "<x>&amp;</x>", "\u202e\u200b",
    "\U0001f600" * 3, "a" * 65536, "0-99999999", "5-2", "-5-10", "0-", "Mailbox", "GAL",
    "DocumentLibrary", "Email", "Nonsense",
)

# Folder and item ids a device may try whatever it was told: the demo mailboxes number
# folders from 1 and items as "folder:item"; the other users' ids look just the same.
FORGED_IDS = ("0", "1", "2", "3", "5", "9", "10", "42", "999999", "2:1", "2:9", "2:21",
              "3:1", "5:5", "9999:9999", "2:23:1", "2:1:1:1", "-1", "1:-1", "")


@dataclass(frozen=True)
class Seed:
    name: str
    command: str
    body: bytes


def opaque(tag: str, data: bytes):
    """An element holding opaque bytes (E would write their repr as text)."""
    element = E(tag)
    set_opaque(element, data)
    return element


def _client_uploads() -> dict[str, tuple[str, etree._Element]]:
    """Requests the corpus lacks: client changes, composing, folder commands."""
    sync_commands = E(
        "AirSync:Commands",
        E("AirSync:Add", E("AirSync:ClientId", "c1"), E("AirSync:ApplicationData",
          E("Email:Subject", "hello"), E("Email:To", "bob@contoso.com"))),
        E("AirSync:Change", E("AirSync:ServerId", "2:1"),
          E("AirSync:ApplicationData", E("Email:Read", "1"))),
        E("AirSync:Delete", E("AirSync:ServerId", "2:2")),
        E("AirSync:Fetch", E("AirSync:ServerId", "2:3")),
    )
    sync_upload = E("AirSync:Sync", E("AirSync:Collections", E(
        "AirSync:Collection", E("AirSync:SyncKey", "1"), E("AirSync:CollectionId", "2"),
        E("AirSync:GetChanges"), E("AirSync:WindowSize", "50"), sync_commands)))
    source = E("ComposeMail:Source", E("ComposeMail:FolderId", "2"),
               E("ComposeMail:ItemId", "2:1"))
    mime = b"From: alice@contoso.com\r\nTo: bob@contoso.com\r\nSubject: hi\r\n\r\nhi\r\n"
    reply = E("ComposeMail:SmartReply", E("ComposeMail:ClientId", "r1"), source,
              E("ComposeMail:SaveInSentItems"), opaque("ComposeMail:Mime", mime))
    forward = E("ComposeMail:SmartForward", E("ComposeMail:ClientId", "f1"), source,
                opaque("ComposeMail:Mime", mime))
    return {
        "sync_upload": ("Sync", sync_upload),
        "smartreply": ("SmartReply", reply),
        "smartforward": ("SmartForward", forward),
        "foldercreate": ("FolderCreate", E(
            "FolderHierarchy:FolderCreate", E("FolderHierarchy:SyncKey", "1"),
            E("FolderHierarchy:ParentId", "0"), E("FolderHierarchy:DisplayName", "new"),
            E("FolderHierarchy:Type", "12"))),
        "folderupdate": ("FolderUpdate", E(
            "FolderHierarchy:FolderUpdate", E("FolderHierarchy:SyncKey", "1"),
            E("FolderHierarchy:ServerId", "10"), E("FolderHierarchy:ParentId", "0"),
            E("FolderHierarchy:DisplayName", "renamed"))),
        "folderdelete": ("FolderDelete", E(
            "FolderHierarchy:FolderDelete", E("FolderHierarchy:SyncKey", "1"),
            E("FolderHierarchy:ServerId", "10"))),
        "validatecert": ("ValidateCert", E(
            "ValidateCert:ValidateCert", E("ValidateCert:Certificates",
                                           opaque("ValidateCert:Certificate", b"\x30\x82\x01")))),
    }


def _seeds() -> list[Seed]:
    seeds = []
    for name, build in sorted(DOCUMENTS.items()):
        command = _COMMAND_OF_PREFIX[name.split("_", 1)[0]]
        seeds.append(Seed(name, command, wbxml.encode(build())))
    for name, (command, document) in sorted(_client_uploads().items()):
        seeds.append(Seed(name, command, wbxml.encode(document)))
    return seeds


SEEDS: list[Seed] = _seeds()
COMMANDS: list[str] = sorted({seed.command for seed in SEEDS} | {
    "GetAttachment", "FolderSync", "Settings"})


# --- byte level -----------------------------------------------------------------------
def mutate_bytes(rng: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 8)):
        if not data:
            break
        at = rng.randrange(len(data))
        action = rng.randrange(7)
        if action == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif action == 1:
            data[at] = rng.randrange(256)
        elif action == 2:
            del data[at:at + rng.randint(1, 16)]
        elif action == 3:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif action == 4:
            del data[at:]
        elif action == 5:
            piece = data[at:at + rng.randint(1, 32)]
            data[at:at] = piece * rng.randint(1, 20)
        else:
            other = rng.choice(SEEDS).body
            data[at:] = other[rng.randrange(len(other)):]
    return bytes(data)


# --- token level ----------------------------------------------------------------------
_POISONS: tuple[bytes, ...] = (
    b"\x8f\xff\xff\xff\x7f",  # a multi-byte integer of 2**35 - 1, above 32 bits
    b"\x81\x81\x81\x81\x81\x81\x01",  # a multi-byte integer of seven bytes
    b"\xc3\x8f\xff\xff\xff\x7f",  # OPAQUE with a length beyond any body
    b"\xc3\x05ab",  # OPAQUE shorter than it says
    b"\x83\x8f\xff\xff\x7f",  # STR_T far outside the string table
    b"\x03\xc3\x28\xff\xfe\x00",  # STR_I of invalid UTF-8
    b"\x03" + b"x" * 64,  # STR_I without its NUL
    b"\x03\x00\x01\x02\x00",  # STR_I with control bytes
    b"\x02\x8f\xff\xff\xff\x7f",  # ENTITY of a code point that does not exist
    b"\x02\x00",  # ENTITY NUL
    b"\x00\xc8",  # SWITCH_PAGE to page 200
    b"\x00",  # SWITCH_PAGE cut short
    b"\x04\x00",  # LITERAL
    b"\xc5\x01",  # a tag with attributes
    b"\x43\x01",  # a processing instruction
    b"\x01\x01\x01\x01",  # ENDs beyond the root
)


def poison_tokens(rng: random.Random, body: bytes) -> bytes:
    """Insert one poison token at a random place after the header."""
    at = rng.randint(min(4, len(body)), len(body))
    return body[:at] + rng.choice(_POISONS) + body[at:]


def deep_nesting(rng: random.Random, body: bytes) -> bytes:
    """An AirSync tag with content opened hundreds or thousands of times."""
    depth = rng.choice((50, 99, 100, 101, 150, 1000, 20000))
    tag = 0x40 | rng.randrange(5, 0x40)
    closed = rng.random() < 0.5
    return HEADER + bytes([tag]) * depth + (b"\x01" * depth if closed else b"")


def huge_header(rng: random.Random, body: bytes) -> bytes:
    """Headers that lie: a string table larger than the body, an unknown charset."""
    choice = rng.randrange(3)
    if choice == 0:
        return b"\x03\x01\x6a\x8f\xff\xff\xff\x7f" + body[4:]
    if choice == 1:
        return b"\x03\x01\x8f\xff\xff\xff\x7f\x00" + body[4:]
    return b"\x03\x00\x00\x00" + body[4:]  # public id by string table reference 0


# --- document level -------------------------------------------------------------------
def _elements(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter() if isinstance(el.tag, str)]


def mutate_document(rng: random.Random, body: bytes) -> bytes:
    """Decode, damage the tree in well-formed ways, encode again (or the body unchanged
    when the damage cannot be encoded)."""
    root = wbxml.decode(body)
    for _ in range(rng.randint(1, 4)):
        _damage(rng, root)
    try:
        return wbxml.encode(root)
    except (wbxml.WBXMLEncodeError, ValueError):
        return body


def _damage(rng: random.Random, root: etree._Element) -> None:
    elements = _elements(root)
    target = rng.choice(elements)
    action = rng.randrange(6)
    if action == 0 and len(target) == 0:
        target.text = rng.choice(HOSTILE_TEXTS + FORGED_IDS)
        target.attrib.pop("opaque", None)
    elif action == 1 and target is not root:
        target.getparent().remove(target)
    elif action == 2 and target is not root:
        parent = target.getparent()
        at = parent.index(target)
        for n in range(rng.choice((2, 10, 300))):
            parent.insert(at + n, _copy(target))
    elif action == 3 and len(target) == 0 and target.get("opaque") is None:
        target.text = rng.choice(FORGED_IDS)
    elif action == 4 and target is not root:
        # Move it somewhere it does not belong.
        rng.choice(elements).append(_copy(target))
    else:
        for el in _elements(root):  # every id the device names, forged at once
            if etree.QName(el).localname in ("CollectionId", "ServerId", "SrcMsgId",
                                             "SrcFldId", "DstFldId", "FileReference",
                                             "ItemId", "FolderId", "ParentId", "Id",
                                             "LongId", "Range", "SyncKey"):
                el.text = rng.choice(FORGED_IDS + HOSTILE_TEXTS[:20])


def _copy(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))


def wrong_document(rng: random.Random, body: bytes) -> bytes:
    """Another command's document, as it is."""
    return rng.choice(SEEDS).body


MUTATORS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    mutate_bytes, mutate_bytes, poison_tokens, deep_nesting, huge_header,
    mutate_document, mutate_document, mutate_document, wrong_document,
)


def hostile_body(rng: random.Random,
                 prepare: Callable[[random.Random, etree._Element], None] | None = None
                 ) -> tuple[str, bytes]:
    """A command and a hostile body to send with it. ``prepare`` may first fit the seed to
    a live mailbox (real SyncKeys and folder ids), so that the damage reaches further than
    the first check a server makes."""
    seed = rng.choice(SEEDS)
    body = seed.body
    if prepare is not None:
        root = wbxml.decode(body)
        prepare(rng, root)
        body = wbxml.encode(root)
    mutator = rng.choice(MUTATORS)
    command = seed.command if rng.random() < 0.85 else rng.choice(COMMANDS)
    return command, mutator(rng, body)


def fit_to_mailbox(state: dict[str, str]) -> Callable[[random.Random, etree._Element], None]:
    """A ``prepare`` for hostile_body: gives a seed document a device's real SyncKeys and
    folder ids (``state`` maps each folder id to its SyncKey, "" to the FolderSync key)."""
    folders = [f for f in state if f]

    def prepare(rng: random.Random, root: etree._Element) -> None:
        for collection in root.iter("{AirSync:}Collection"):
            folder = rng.choice(folders)
            for el in collection:
                if el.tag == "{AirSync:}CollectionId":
                    el.text = folder
                elif el.tag == "{AirSync:}SyncKey":
                    el.text = state[folder]
        for key in root.iter("{FolderHierarchy:}SyncKey"):
            key.text = state[""]
        for folder_id in root.iter("{AirSync:}CollectionId", "{ComposeMail:}FolderId",
                                   "{Move:}SrcFldId"):
            if rng.random() < 0.7:
                folder_id.text = rng.choice(folders)

    return prepare


# --- request lines --------------------------------------------------------------------
QUERY_NAMES = ("Cmd", "User", "DeviceId", "DeviceType", "CollectionId", "ItemId", "LongId",
               "AttachmentName", "Occurrence", "SaveInSent", "cmd", "DEVICEID", "x")


def hostile_parameters(rng: random.Random) -> dict[str, str]:
    """Extra query parameters a broken client adds (ids forged, names doubled)."""
    names = ("CollectionId", "ItemId", "LongId", "AttachmentName", "Occurrence", "SaveInSent")
    return {rng.choice(names): rng.choice(FORGED_IDS + HOSTILE_TEXTS[:30])
            for _ in range(rng.randint(0, 3))}


# --- judging an answer ----------------------------------------------------------------
def is_protocol_answer(command: str, status: int, reason: str) -> bool:
    """True when an HTTP status is one the protocol prescribes: any below 500; 501 for a
    command the client's version does not have (SPEC §7); and GetAttachment's 500 for an
    attachment that is not there, as Exchange answers it (gateway/commands/getattachment)."""
    if status < 500:
        return True
    if status == 501 and "not" in reason:
        return True
    return command == "GetAttachment" and status == 500 and reason == "attachment not found"
