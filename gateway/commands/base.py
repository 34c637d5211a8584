"""What every command handler receives and returns.

A command module exposes ``async def handle(ctx: CommandContext) -> CommandResult | Held``.
The dispatcher (gateway/http) has already authenticated the user, loaded or created the
device, run the access decision and the provisioning check; handlers only do their command.
"""
from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from store.types import Device, User

if TYPE_CHECKING:
    from gateway.mailbox import MailboxView
    from gateway.services import Services
    from protocol.request import EASRequest


@dataclass(slots=True)  # one per request in flight, held Pings included: no __dict__
class CommandContext:
    request: EASRequest  # the parsed command line and headers
    document: etree._Element | None  # the decoded WBXML body, None when the body is empty
    user: User
    device: Device
    services: Services  # store, clock, push hub, config …
    mailbox: MailboxView  # the mailbox as this device may see it now (quarantine filters it)
    body: bytes = b""  # the raw body (SendMail on 12.1 posts MIME, not WBXML)

    @property
    def version(self) -> str:
        return self.request.protocol_version


@dataclass
class CommandResult:
    document: etree._Element | None = None  # encoded to WBXML by the dispatcher
    http_status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # a raw body instead of a document (multipart answers)
    content_type: str | None = None
    trace_note: dict[str, Any] = field(default_factory=dict)  # extra facts for the trace


@dataclass(slots=True)
class Held:
    """An answer that comes later: the command has checked its request and now waits (a
    held Ping). The dispatcher awaits ``answer`` only once it has let go of the request's
    body, document and records and of its own frames, so that what stays alive for as long
    as the request is held is what the wait itself keeps, for each of thousands of held
    requests."""

    answer: Coroutine[Any, Any, CommandResult]


async def answered(outcome: CommandResult | Held) -> CommandResult:
    """A handler's result, waited for when it is held (for callers outside the dispatcher)."""
    return await outcome.answer if isinstance(outcome, Held) else outcome
