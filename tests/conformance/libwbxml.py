"""Debian's libwbxml (``wbxml2xml`` / ``xml2wbxml -l ACTIVESYNC``) as a codec we did not write.

libwbxml 0.11.8 uses the same code-page namespaces as we do but spells some names its
own way, lacks page 25 (Find) and a few later tags, and writes opaque data as base64
text. The tables below map between the two namings explicitly; nothing of libwbxml's
naming goes into ``protocol.wbxml``.
"""
from __future__ import annotations

import base64
import shutil
import subprocess

from lxml import etree

from protocol.wbxml.xmlview import Infoset, infoset
from protocol.xml import is_opaque, opaque_bytes

WBXML2XML = shutil.which("wbxml2xml")
XML2WBXML = shutil.which("xml2wbxml")
DOCTYPE = '<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">'
TIMEOUT = 20

PAGE_NAMES = {"GAL": "Gal"}  # our page name → libwbxml's

# (our page, our tag) → libwbxml's tag, for every tag libwbxml names differently.
TAG_NAMES: dict[tuple[str, str], str] = {
    ("Contacts", "AssistantPhoneNumber"): "AssistantTelephoneNumber",
    **{("Contacts", f"{kind}Address{part}"): f"{kind}{part}"
       for kind in ("Business", "Home", "Other")
       for part in ("City", "Country", "PostalCode", "State", "Street")},
    ("Email", "Att0Id"): "AttOId",
    ("Email", "ReplyTo"): "Reply-To",
    ("Email", "DtStamp"): "DTStamp",
    ("Email", "Status"): "FlagStatus",
    **{("Email", part): f"Recurrence_{part}"
       for part in ("Type", "Until", "Occurrences", "Interval", "DayOfWeek", "DayOfMonth",
                    "WeekOfMonth", "MonthOfYear")},
    ("Calendar", "Timezone"): "TimeZone",
    ("Calendar", "Email"): "Attendee_Email",
    ("Calendar", "Name"): "Attendee_Name",
    ("Calendar", "AttendeeStatus"): "Attendee_Status",
    ("Calendar", "AttendeeType"): "Attendee_Type",
    ("Calendar", "CompressedRTF"): "Compressed_RTF",
    ("Calendar", "DtStamp"): "DTStamp",
    ("Calendar", "Deleted"): "Exception_Deleted",
    ("Calendar", "ExceptionStartTime"): "Exception_StartTime",
    ("Calendar", "OrganizerEmail"): "Organizer_Email",
    ("Calendar", "OrganizerName"): "Organizer_Name",
    **{("Calendar", part): f"Recurrence_{part}"
       for part in ("Type", "Until", "Occurrences", "Interval", "DayOfWeek", "DayOfMonth",
                    "WeekOfMonth", "MonthOfYear")},
    ("Tasks", "UtcDueDate"): "UTCDueDate",
    ("Tasks", "UtcStartDate"): "UTCStartDate",
    **{("Tasks", part): f"Recurrence_{part}"
       for part in ("Type", "Start", "Until", "Occurrences", "Interval", "DayOfMonth",
                    "DayOfWeek", "WeekOfMonth", "MonthOfYear", "Regenerate", "DeadOccur")},
    ("Provision", "RequireStorageCardEncryption"): "DeviceEncryptionEnabled",
    ("Settings", "RightsManagementInformation"): "ihsManagementInformation",
    ("ComposeMail", "Mime"): "MIME",
    ("RightsManagement", "Owner"): "RMOwner",
}

# What libwbxml 0.11.8 has no token for: a document holding one cannot be compared.
MISSING_PAGES = {"Find"}
MISSING_TAGS = {
    ("MeetingResponse", "ProposedStartTime"), ("MeetingResponse", "ProposedEndTime"),
    ("Provision", "AccountOnlyRemoteWipe"),
}

_THEIR_NAMES = {
    f"{{{page}:}}{tag}": f"{{{PAGE_NAMES.get(page, page)}:}}{theirs}"
    for (page, tag), theirs in TAG_NAMES.items()
}
_OUR_NAMES = {theirs: ours for ours, theirs in _THEIR_NAMES.items()}
for _ours, _theirs in PAGE_NAMES.items():
    _OUR_NAMES[_theirs] = _ours  # page namespace alone, for tags named alike


def _split(clark: str) -> tuple[str, str]:
    namespace, _, local = clark[1:].partition("}")
    return namespace.rstrip(":"), local


def supported(root: etree._Element) -> bool:
    """Can libwbxml represent every tag of this document?"""
    for element in root.iter(tag=etree.Element):
        page, tag = _split(element.tag)
        if page in MISSING_PAGES or (page, tag) in MISSING_TAGS:
            return False
    return True


def their_name(clark: str) -> str:
    if clark in _THEIR_NAMES:
        return _THEIR_NAMES[clark]
    page, tag = _split(clark)
    return f"{{{PAGE_NAMES.get(page, page)}:}}{tag}"


def our_name(clark: str) -> str:
    if clark in _OUR_NAMES:
        return _OUR_NAMES[clark]
    page, tag = _split(clark)
    return f"{{{_OUR_NAMES.get(page, page)}:}}{tag}"


def _renamed(root: etree._Element, rename) -> etree._Element:
    copy = etree.fromstring(etree.tostring(root))
    for element in copy.iter(tag=etree.Element):
        element.tag = rename(element.tag)
    return copy


def _run(tool: str | None, args: list[str], data: bytes) -> bytes:
    assert tool, "libwbxml2-utils is not installed (run scripts/sysdeps.sh)"
    done = subprocess.run([tool, *args], input=data, capture_output=True, timeout=TIMEOUT)
    if done.returncode != 0 or b"failed" in done.stderr:
        raise RuntimeError(f"{tool} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def decode_with_libwbxml(body: bytes) -> etree._Element:
    """libwbxml's reading of a WBXML body, renamed to our names (opaque data as base64 text)."""
    xml = _run(WBXML2XML, ["-l", "ACTIVESYNC", "-m", "0", "-k", "-o", "-", "-"], body)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return _renamed(etree.fromstring(xml, parser), our_name)


def encode_with_libwbxml(root: etree._Element) -> bytes:
    """libwbxml's WBXML for a document: opaque data handed over as base64 text, which
    libwbxml writes as OPAQUE for the tags it knows to be opaque."""
    theirs = _renamed(root, their_name)
    for element in theirs.iter(tag=etree.Element):
        if is_opaque(element):
            del element.attrib["opaque"]
    xml = etree.tostring(theirs, encoding="utf-8", xml_declaration=True, doctype=DOCTYPE)
    return _run(XML2WBXML, ["-k", "-o", "-", "-"], xml)


def comparable(info: Infoset) -> Infoset:
    """An infoset as XML text can carry it: line ends normalised as every XML parser does
    (libwbxml writes CR into its XML output), opaque data kept as bytes."""
    tag, content, children = info
    if isinstance(content, str):
        content = content.replace("\r\n", "\n").replace("\r", "\n")
    return (tag, content, tuple(comparable(child) for child in children))


def _same_content(ours: str | bytes | None, theirs: str | bytes | None) -> bool:
    if isinstance(ours, str) and isinstance(theirs, bytes):
        ours, theirs = theirs, ours
    if isinstance(ours, bytes) and isinstance(theirs, str):
        # libwbxml writes the bytes of the tags it holds binary (opaque data, GAL:Data …)
        # as base64 text, and reads such text back into bytes.
        return theirs.encode() == ours or _b64(theirs) == ours
    if isinstance(ours, str) and isinstance(theirs, str) and ours != theirs:
        return _b64(theirs) == ours.encode()  # a string libwbxml holds binary
    return ours == theirs


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


def agree(ours: Infoset, theirs: Infoset) -> bool:
    """Same tags, texts and order, opaque data compared as bytes."""
    tag, content, children = ours
    their_tag, their_content, their_children = theirs
    if tag != their_tag or len(children) != len(their_children):
        return False
    if not _same_content(content, their_content):
        return False
    return all(agree(a, b) for a, b in zip(children, their_children, strict=True))


__all__ = ["agree", "comparable", "decode_with_libwbxml", "encode_with_libwbxml", "infoset",
           "opaque_bytes", "supported"]
