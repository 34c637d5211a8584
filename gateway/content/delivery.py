"""Mail submission: a sent message reaches local mailboxes through the store.

What happens to each recipient, as Exchange Online does it for one organisation:
- a mailbox of this gateway: the message lands in its Inbox (Bcc removed);
- an address in a domain this gateway serves but without a mailbox: the sender gets a
  non-delivery report ("Undeliverable: …", 550 5.1.1 RESOLVER.ADR.RecipNotFound) in the
  Inbox, with the original attached — the submission itself succeeds (our decision,
  following Exchange, rather than SendMail Status 116);
- any other domain: accepted and handed to nobody, as there is no outbound transport.
A message with no recipient at all is refused (Status 119), unreadable MIME too (107).
A meeting mail (a text/calendar part with an iTIP method) reaches its recipients as Exchange
delivers it: a meeting request, cancellation, reply or new time proposal, with its effect on
their calendars (gateway/content/meetings.py).

Every copy — the recipients' Inboxes, the Sent Items copy, the non-delivery report — is
written in one transaction, with the submission's `WriteKey` when the client gave a
ClientId: a gateway that dies while delivering has delivered nothing, and a message resent
after a lost answer is recognised (`AlreadySent`) instead of arriving twice.
"""
from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses

from gateway.content import meetings
from gateway.content.mail import email_item
from gateway.content.meetings import Meeting
from gateway.content.mime import (
    MimeError,
    ParsedMessage,
    format_address,
    parse_message,
    to_crlf_bytes,
    without_bcc,
)
from store.api import NotFound, Store
from store.types import FolderType, NewItem, Placement, User, WriteKey

NDR_SENDER_NAME = "Microsoft Outlook"


class NoRecipients(MimeError):
    """The message names nobody to send it to."""


class AlreadySent(Exception):
    """A message was submitted under this WriteKey before (MS-ASCMD Status 118)."""


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # local mailboxes reached
    unknown: list[str] = field(default_factory=list)  # local domain, no such mailbox (NDR)
    external: list[str] = field(default_factory=list)  # other domains, accepted
    sent_item: str | None = None  # server id of the Sent Items copy
    ndr_item: str | None = None  # server id of the non-delivery report


async def submit(store: Store, sender: User, mime: bytes, *, now: datetime,
                 save_in_sent: bool, once: WriteKey | None = None) -> DeliveryReport:
    """Deliver ``mime`` as sent by ``sender`` at ``now``. Raises `MimeError` for bytes that
    are not a message, `NoRecipients` for a message to nobody, and `AlreadySent` when
    ``once`` was delivered before."""
    stamped = stamp(mime, sender, now)
    parsed = parse_message(stamped)
    if not parsed.recipients:
        raise NoRecipients("the message has no recipient")
    report = DeliveryReport()
    placements: list[Placement] = []
    calendar_changes: list[tuple[int, str, dict]] = []
    local_domains = {tenant.domain.lower() for tenant in await store.list_tenants()}
    visible = parse_message(without_bcc(stamped))
    meeting = meetings.meeting_of(parsed.message)
    for address in parsed.recipients:
        try:
            recipient = await store.get_user(address)
        except NotFound:
            domain = address.rpartition("@")[2]
            (report.unknown if domain in local_domains else report.external).append(address)
            continue
        inbox = await store.find_folder(recipient.id, FolderType.INBOX)
        if inbox is not None:
            placements.append(Placement(recipient.id, inbox.id,
                                        _received_copy(visible, meeting, now)))
            report.delivered.append(address)
        if meeting is not None and recipient.id != sender.id:
            added, changed = await _meeting_effects(store, recipient, meeting, parsed.text)
            placements += added
            calendar_changes += changed
    sent = await store.find_folder(sender.id, FolderType.SENT_ITEMS) if save_in_sent else None
    if sent is not None:
        placements.append(Placement(sender.id, sent.id,
                                    email_item(parsed, received=now, read=True)))
    ndr = (await _ndr_placement(store, sender, parsed.message, report.unknown, now)
           if report.unknown else None)
    if ndr is not None:
        placements.append(ndr)
    placed = await store.add_placed_items(placements, once=once)
    if not placed.first_time:
        raise AlreadySent("this message was submitted before")
    for user_id, server_id, changes in calendar_changes:  # each idempotent, if done again
        await store.update_item(user_id, server_id, data=changes)
    ids = list(placed.server_ids)  # the Sent Items copy and the report come last
    report.ndr_item = ids.pop() if ndr is not None else None
    report.sent_item = ids.pop() if sent is not None else None
    return report


def _received_copy(visible: ParsedMessage, meeting: Meeting | None, now: datetime) -> NewItem:
    item = email_item(visible, received=now)
    if meeting is None:
        return item
    return dataclasses.replace(item, data={**item.data, **meetings.mail_fields(meeting)})


async def _meeting_effects(store: Store, recipient: User, meeting: Meeting, body_text: str
                           ) -> tuple[list[Placement], list[tuple[int, str, dict]]]:
    """What a meeting mail does to the recipient's calendar: a new tentative meeting to
    place with the mail, or changes to make to the meeting already there."""
    calendar = await store.find_folder(recipient.id, FolderType.CALENDAR)
    if calendar is None:
        return [], []
    event = meeting.event
    existing = await meetings.meeting_with_uid(store, recipient.id, calendar.id, event.uid)
    if meeting.method == "REQUEST":
        if existing is None:
            return [Placement(recipient.id, calendar.id,
                              meetings.attendee_event(meeting, body_text))], []
        return [], [(recipient.id, existing.server_id,
                     meetings.invitation_fields(meeting, existing.data))]
    if existing is None:
        return [], []
    if meeting.method == "CANCEL":
        changes = meetings.cancellation(meeting, existing.data)
    else:  # a REPLY or a COUNTER, to the organizer
        changes = meetings.with_reply(existing.data, meeting)
    return [], [(recipient.id, existing.server_id, changes)] if changes else []


def stamp(mime: bytes, sender: User, now: datetime) -> bytes:
    """Fill in what a submitting server adds when the client left it out: From (the
    mailbox), Date and Message-ID. A mailbox sends as itself: a From or Sender naming any
    other address is replaced by the mailbox (Exchange refuses to send as another user
    without that right; we rewrite rather than refuse, so the mail still goes)."""
    message = BytesParser(policy=policy.default).parsebytes(mime)
    if not message.keys():
        raise MimeError("no message headers")
    changed = False
    if not _names_only(message, sender.address):
        del message["From"]
        del message["Sender"]
        changed = True
    if "From" not in message:
        message["From"] = format_address(sender.display_name, sender.address)
        changed = True
    if "Date" not in message:
        message["Date"] = format_datetime(now)
        changed = True
    if "Message-ID" not in message:
        domain = sender.address.rpartition("@")[2]
        message["Message-ID"] = f"<{secrets.token_hex(12)}@{domain}>"
        changed = True
    return to_crlf_bytes(message) if changed else mime


def _names_only(message: EmailMessage, address: str) -> bool:
    """True when every From and Sender address of ``message`` is ``address``."""
    named = getaddresses([str(value) for header in ("From", "Sender")
                          for value in message.get_all(header, [])])
    return all(found.lower() == address.lower() for _, found in named)


async def _ndr_placement(store: Store, sender: User, original: EmailMessage,
                         unknown: list[str], now: datetime) -> Placement | None:
    inbox = await store.find_folder(sender.id, FolderType.INBOX)
    if inbox is None:
        return None
    report = non_delivery_report(sender, original, unknown, now)
    return Placement(sender.id, inbox.id, email_item(parse_message(report), received=now))


def non_delivery_report(sender: User, original: EmailMessage, unknown: list[str],
                        now: datetime) -> bytes:
    """The "Undeliverable" mail Exchange writes, with the original message attached."""
    domain = sender.address.rpartition("@")[2]
    subject = str(original.get("Subject", ""))
    lines = ["Your message couldn't be delivered to these recipients:", ""]
    lines += [f"    {address}" for address in unknown]
    lines += ["", "The email address wasn't found at the destination domain. It might be "
              "misspelled or it might not exist.", "",
              "Diagnostic information for administrators:", ""]
    lines += [f"{address}\nRemote server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; "
              "not found'" for address in unknown]
    report = EmailMessage(policy=policy.default)
    report["From"] = format_address(NDR_SENDER_NAME, f"postmaster@{domain}")
    report["To"] = format_address(sender.display_name, sender.address)
    report["Subject"] = f"Undeliverable: {subject}"
    report["Date"] = format_datetime(now)
    report["Message-ID"] = f"<{secrets.token_hex(12)}@{domain}>"
    report["Auto-Submitted"] = "auto-replied"
    report.set_content("\n".join(lines))
    report.add_attachment(original)  # message/rfc822
    return to_crlf_bytes(report)
