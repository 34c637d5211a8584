"""How a command's failure becomes its answer.

On 14.0 and later a failure is a status inside the command's own top-level document
(``<Sync><Status>129</Status></Sync>``), because MS-ASCMD 2.2.2 lets every command carry the
global statuses there. A 12.1 client does not know the global statuses: it is told with an
HTTP status code instead (MS-ASHTTP 3.2.5.1: 400, 403, 449, 500, 501, 503).

`TOP_LEVEL` is the one table of command → top-level element; `failure_answer` is the one
place that turns (command, status, version) into what goes on the wire. Commands raise
`CommandFailure` to use it.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from protocol import versions
from protocol.status import GlobalStatus
from protocol.xml import E

# command → (top-level element, its Status element), both as "Page:Tag".
TOP_LEVEL: dict[str, tuple[str, str]] = {
    "Sync": ("AirSync:Sync", "AirSync:Status"),
    "SendMail": ("ComposeMail:SendMail", "ComposeMail:Status"),
    "SmartForward": ("ComposeMail:SmartForward", "ComposeMail:Status"),
    "SmartReply": ("ComposeMail:SmartReply", "ComposeMail:Status"),
    "FolderSync": ("FolderHierarchy:FolderSync", "FolderHierarchy:Status"),
    "FolderCreate": ("FolderHierarchy:FolderCreate", "FolderHierarchy:Status"),
    "FolderDelete": ("FolderHierarchy:FolderDelete", "FolderHierarchy:Status"),
    "FolderUpdate": ("FolderHierarchy:FolderUpdate", "FolderHierarchy:Status"),
    "MoveItems": ("Move:MoveItems", "Move:Status"),
    "GetItemEstimate": ("GetItemEstimate:GetItemEstimate", "GetItemEstimate:Status"),
    "MeetingResponse": ("MeetingResponse:MeetingResponse", "MeetingResponse:Status"),
    "Search": ("Search:Search", "Search:Status"),
    "Settings": ("Settings:Settings", "Settings:Status"),
    "Ping": ("Ping:Ping", "Ping:Status"),
    "ItemOperations": ("ItemOperations:ItemOperations", "ItemOperations:Status"),
    "Provision": ("Provision:Provision", "Provision:Status"),
    "ResolveRecipients": ("ResolveRecipients:ResolveRecipients", "ResolveRecipients:Status"),
    "ValidateCert": ("ValidateCert:ValidateCert", "ValidateCert:Status"),
    "Find": ("Find:Find", "Find:Status"),
    # GetAttachment answers raw bytes, never a document: its failures are HTTP codes.
}

# What a 12.1 client is told instead of a global status (MS-ASCMD 2.2.2, the "HTTP status
# code" column; Exchange 2007 behaviour).
_HTTP_FOR_GLOBAL: dict[int, int] = {
    GlobalStatus.INVALID_WBXML: 400,
    GlobalStatus.INVALID_XML: 400,
    GlobalStatus.INVALID_CONTENT: 400,
    GlobalStatus.DEVICE_ID_MISSING_OR_INVALID: 400,
    GlobalStatus.DEVICE_TYPE_MISSING_OR_INVALID: 400,
    GlobalStatus.SERVER_ERROR: 500,
    GlobalStatus.SERVER_ERROR_RETRY_LATER: 503,
    GlobalStatus.DEVICE_IS_BLOCKED_FOR_THIS_USER: 403,
    GlobalStatus.ACCESS_DENIED: 403,
    GlobalStatus.ACCOUNT_DISABLED: 403,
    GlobalStatus.USER_DISABLED_FOR_SYNC: 403,
    GlobalStatus.COMMAND_NOT_SUPPORTED: 501,
    GlobalStatus.VERSION_NOT_SUPPORTED: 400,
    GlobalStatus.DEVICE_NOT_PROVISIONED: 449,
    GlobalStatus.POLICY_REFRESH: 449,
    GlobalStatus.INVALID_POLICY_KEY: 449,
    GlobalStatus.REMOTE_WIPE_REQUESTED: 449,
    GlobalStatus.MAILBOX_QUOTA_EXCEEDED: 507,
}


class CommandFailure(Exception):
    """Raised by a command (or the dispatcher) to answer with ``status`` in the command's
    top-level document; ``http_status`` overrides the 12.1 mapping when given."""

    def __init__(self, status: int, reason: str = "", *, http_status: int | None = None):
        super().__init__(reason or f"status {status}")
        self.status = int(status)
        self.reason = reason
        self.http_status = http_status


@dataclass(frozen=True)
class FailureAnswer:
    http_status: int
    document: etree._Element | None  # None: the HTTP status alone is the answer


def status_document(command: str, status: int) -> etree._Element:
    """``<Command><Status>n</Status></Command>`` in the command's code page."""
    top, status_tag = TOP_LEVEL[command]
    return E(top, E(status_tag, int(status)))


def failure_answer(command: str, status: int, version: str, *,
                   http_status: int | None = None) -> FailureAnswer:
    """What to send for ``status``: a document on 14.0+ (or for a command-specific status
    below 100, which 12.1 knows too), else the HTTP code a 12.1 client expects."""
    is_global = status >= 100
    if command in TOP_LEVEL and (versions.uses_status_codes(version) or not is_global):
        return FailureAnswer(200, status_document(command, status))
    return FailureAnswer(http_status or _HTTP_FOR_GLOBAL.get(status, 400), None)


# Each command's own "your request is malformed" status, for a body that is valid WBXML but
# not the command's document; commands without one use the global InvalidXML (103).
PROTOCOL_ERROR: dict[str, int] = {
    "Sync": 4,
    "FolderSync": 10,
    "FolderCreate": 10,
    "FolderDelete": 10,
    "FolderUpdate": 10,
    "GetItemEstimate": 2,
    "MeetingResponse": 2,
    "Search": 2,
    "Settings": 2,
    "Ping": 4,
    "ItemOperations": 2,
    "Provision": 2,
    "ResolveRecipients": 5,
    "Find": 2,
}


def protocol_error_status(command: str) -> int:
    return PROTOCOL_ERROR.get(command, GlobalStatus.INVALID_XML)
