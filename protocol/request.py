"""The EAS request line and headers, in both query forms (MS-ASHTTP 2.2.1.1.1).

`parse_request` turns the method, path, query string and headers of an HTTP request into an
`EASRequest`, or raises `RequestError` carrying the HTTP status to answer with. It does not
know which commands the gateway serves (that is the dispatcher's table); it knows the
command codes of the base64 form, the parameters and the versions.

Plain form::

    /Microsoft-Server-ActiveSync?Cmd=Sync&User=alice&DeviceId=ABC&DeviceType=iPhone
    (MS-ASProtocolVersion and X-MS-PolicyKey are headers)

Base64 form (one byte sequence, base64 in the query)::

    version(1) command(1) locale(2, LE) len+DeviceId len+PolicyKey(0|4, LE uint32)
    len+DeviceType then (tag(1) len(1) value)* command parameters
"""
from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from protocol import versions

ENDPOINT_PATH = "/microsoft-server-activesync"

# MS-ASHTTP 2.2.1.1.1.1.2: the command codes of the base64 form.
COMMAND_CODES: dict[int, str] = {
    0: "Sync", 1: "SendMail", 2: "SmartForward", 3: "SmartReply", 4: "GetAttachment",
    9: "FolderSync", 10: "FolderCreate", 11: "FolderDelete", 12: "FolderUpdate",
    13: "MoveItems", 14: "GetItemEstimate", 15: "MeetingResponse", 16: "Search",
    17: "Settings", 18: "Ping", 19: "ItemOperations", 20: "Provision",
    21: "ResolveRecipients", 22: "ValidateCert", 23: "Find",
}

# MS-ASHTTP 2.2.1.1.1.1.3: the command parameter tags of the base64 form.
_PARAMETER_TAGS: dict[int, str] = {
    0: "attachment_name", 1: "collection_id", 3: "item_id", 4: "long_id",
    6: "occurrence", 7: "options", 8: "user",
}
_OPTION_SAVE_IN_SENT = 0x01
_OPTION_ACCEPT_MULTIPART = 0x02

# The plain form's parameters (names compared case-insensitively) → EASRequest fields.
_PLAIN_PARAMETERS: dict[str, str] = {
    "cmd": "command", "user": "user", "deviceid": "device_id", "devicetype": "device_type",
    "attachmentname": "attachment_name", "collectionid": "collection_id",
    "itemid": "item_id", "longid": "long_id", "occurrence": "occurrence",
}

# A DeviceId is up to 32 characters, letters and digits in practice (MS-ASHTTP
# 2.2.1.1.1.2.3); we accept the characters real clients use and refuse control bytes.
_DEVICE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_DEVICE_TYPE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class RequestError(ValueError):
    """The request cannot be served; ``http_status`` says how to answer, ``reason`` why
    (sent in the X-MS-Reason-style header, one line)."""

    def __init__(self, http_status: int, reason: str):
        super().__init__(f"{http_status}: {reason}")
        self.http_status = http_status
        self.reason = reason


class MissingDeviceError(RequestError):
    """DeviceId or DeviceType is missing or malformed (see gateway/http.py for why this is
    HTTP 400 rather than status 108/109)."""


@dataclass(frozen=True, slots=True)  # one per request in flight: no __dict__
class EASRequest:
    command: str
    device_id: str
    device_type: str
    protocol_version: str
    user: str | None = None  # the User parameter, as the client wrote it (logging only)
    policy_key: str | None = None  # None when absent or "0" (not provisioned)
    user_agent: str = ""
    attachment_name: str | None = None
    collection_id: str | None = None
    item_id: str | None = None
    long_id: str | None = None
    occurrence: str | None = None
    save_in_sent: bool = False
    accept_multipart: bool = False
    base64_form: bool = False
    locale: int | None = None  # base64 form only (a Windows LCID, 0x0409 = en-US)


def is_endpoint(path: str) -> bool:
    """True for the ActiveSync endpoint, whatever the case (``/microsoft-server-activesync``)."""
    return path.rstrip("/").lower() == ENDPOINT_PATH


def parse_request(
    method: str, path: str, query_string: str, headers: Mapping[str, str]
) -> EASRequest:
    if not is_endpoint(path):
        raise RequestError(404, "not the ActiveSync endpoint")
    if method.upper() != "POST":
        raise RequestError(405, "only POST and OPTIONS are served")
    lowered = {key.lower(): value for key, value in headers.items()}
    if _is_plain_form(query_string):
        return _parse_plain(query_string, lowered)
    return _parse_base64(query_string, lowered)


def _is_plain_form(query_string: str) -> bool:
    return any(key.lower() == "cmd" for key, _ in parse_qsl(query_string, keep_blank_values=True))


# --- plain form ----------------------------------------------------------------------------
def _parse_plain(query_string: str, headers: dict[str, str]) -> EASRequest:
    fields: dict[str, str] = {}
    save_in_sent = False
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        name = key.lower()
        if name in _PLAIN_PARAMETERS:
            fields[_PLAIN_PARAMETERS[name]] = value
        elif name == "saveinsent":
            save_in_sent = value.upper() == "T"
    command = fields.pop("command", "")
    if not command:
        raise RequestError(400, "Cmd is missing")
    version = _version(headers.get("ms-asprotocolversion"))
    device_id, device_type = _device(fields.pop("device_id", ""), fields.pop("device_type", ""))
    return EASRequest(
        command=command,
        device_id=device_id,
        device_type=device_type,
        protocol_version=version,
        policy_key=_policy_key(headers.get("x-ms-policykey")),
        user_agent=headers.get("user-agent", ""),
        save_in_sent=save_in_sent,
        accept_multipart=headers.get("ms-asacceptmultipart", "").upper() == "T",
        base64_form=False,
        **{name: value or None for name, value in fields.items()},  # type: ignore[arg-type]
    )


def _version(header: str | None) -> str:
    if header is None or not header.strip():
        raise RequestError(400, "MS-ASProtocolVersion is missing")
    version = header.strip()
    if not versions.is_supported(version):
        raise RequestError(400, f"protocol version {version[:16]} is not supported")
    return version


def _device(device_id: str, device_type: str) -> tuple[str, str]:
    if not _DEVICE_ID.match(device_id):
        raise MissingDeviceError(400, "DeviceId is missing or invalid")
    if not _DEVICE_TYPE.match(device_type):
        raise MissingDeviceError(400, "DeviceType is missing or invalid")
    return device_id, device_type


def _policy_key(value: str | None) -> str | None:
    """A client that was never provisioned sends no key or ``0``; both mean none."""
    if value is None:
        return None
    value = value.strip()
    return None if value in ("", "0") else value


# --- base64 form ---------------------------------------------------------------------------
class _Bytes:
    """A cursor over the decoded query; running off its end is a malformed request."""

    def __init__(self, data: bytes):
        self.data = data
        self.offset = 0

    def byte(self) -> int:
        return self.take(1)[0]

    def take(self, count: int) -> bytes:
        if self.offset + count > len(self.data):
            raise RequestError(400, "base64 query is truncated")
        chunk = self.data[self.offset:self.offset + count]
        self.offset += count
        return chunk

    def counted(self) -> bytes:
        return self.take(self.byte())

    def at_end(self) -> bool:
        return self.offset >= len(self.data)


def _parse_base64(query_string: str, headers: dict[str, str]) -> EASRequest:
    raw = _decode_base64(query_string)
    cursor = _Bytes(raw)
    version = versions.from_byte(cursor.byte())
    code = cursor.byte()
    (locale,) = struct.unpack("<H", cursor.take(2))
    device_id = _device_id_text(cursor.counted())
    policy_key = _base64_policy_key(cursor.counted())
    device_type = _text(cursor.counted(), "DeviceType")
    parameters = _base64_parameters(cursor)
    if not versions.is_supported(version):
        raise RequestError(400, f"protocol version {version} is not supported")
    if code not in COMMAND_CODES:
        raise RequestError(501, f"unknown command code {code}")
    device_id, device_type = _device(device_id, device_type)
    options = parameters.pop("options", b"\x00")[:1] or b"\x00"
    text_fields = {name: _text(value, name) for name, value in parameters.items()}
    return EASRequest(
        command=COMMAND_CODES[code],
        device_id=device_id,
        device_type=device_type,
        protocol_version=version,
        # The key belongs in the query here; a client that sends the header instead is heard.
        policy_key=policy_key or _policy_key(headers.get("x-ms-policykey")),
        user_agent=headers.get("user-agent", ""),
        save_in_sent=bool(options[0] & _OPTION_SAVE_IN_SENT),
        accept_multipart=bool(options[0] & _OPTION_ACCEPT_MULTIPART),
        base64_form=True,
        locale=locale,
        user=text_fields.pop("user", None),
        **text_fields,
    )


def _decode_base64(query_string: str) -> bytes:
    encoded = unquote(query_string.strip())
    if not encoded:
        raise RequestError(400, "query is empty")
    try:
        # Padding is sometimes left off by clients; restore it before a strict decode.
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, "query is neither the plain nor the base64 form") from None


def _device_id_text(value: bytes) -> str:
    """A DeviceId is usually ASCII text; Windows Mobile sent a binary GUID, which we name by
    its hex digits (as Z-Push does) so it still makes a stable key."""
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return value.hex().upper()
    return text if text.isprintable() else value.hex().upper()


def _base64_policy_key(value: bytes) -> str | None:
    if not value:
        return None
    if len(value) != 4:
        raise RequestError(400, "policy key field is not 4 bytes")
    (key,) = struct.unpack("<I", value)
    return str(key) if key else None


def _base64_parameters(cursor: _Bytes) -> dict[str, bytes]:
    parameters: dict[str, bytes] = {}
    while not cursor.at_end():
        tag = cursor.byte()
        value = cursor.counted()
        name = _PARAMETER_TAGS.get(tag)
        if name is not None:  # unknown tags (2 CollectionName, 5 ParentId) are obsolete
            parameters[name] = value
    return parameters


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(400, f"{what} is not UTF-8") from None


def encode_base64_query(request: EASRequest) -> str:
    """The base64 query of ``request`` (the emulator and the tests use it; the inverse of
    `parse_request` for that form)."""
    codes = {name: code for code, name in COMMAND_CODES.items()}
    major, minor = versions.parse(request.protocol_version)
    out = bytearray([major * 10 + minor, codes[request.command]])
    out += struct.pack("<H", request.locale if request.locale is not None else 0x0409)
    out += _counted(request.device_id.encode())
    out += _counted(struct.pack("<I", int(request.policy_key)) if request.policy_key else b"")
    out += _counted(request.device_type.encode())
    for tag, name in _PARAMETER_TAGS.items():
        value = getattr(request, name, None) if name != "options" else None
        if value:
            out += bytes([tag]) + _counted(value.encode())
    options = (_OPTION_SAVE_IN_SENT if request.save_in_sent else 0) | (
        _OPTION_ACCEPT_MULTIPART if request.accept_multipart else 0)
    if options:
        out += bytes([7, 1, options])
    return base64.b64encode(bytes(out)).decode("ascii")


def _counted(value: bytes) -> bytes:
    if len(value) > 255:
        raise ValueError("a base64 query field is at most 255 bytes")
    return bytes([len(value)]) + value
