"""ResolveRecipients (MS-ASCMD 2.2.1.15): names and addresses → recipients.

Each ``To`` is looked up among the tenant's users (GAL, Type 1) and the user's own contacts
(Type 2). One match is Status 1; several are Status 2 (ambiguous, suggestions listed up to
``MaxAmbiguousRecipients``); none is Status 4. With ``Availability`` the merged free/busy of
local users is computed from their calendars, one digit per 30 minutes (0 free, 1 tentative,
2 busy, 3 out of office, 4 no data); a recurring series counts at each of its occurrences,
made in its own time zone with its exceptions applied (gateway/content/recurrence.py). Certificates are asked for by S/MIME clients; nobody
here has one, so the answer is an empty certificate list (Status 7).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.content.directory import GalEntry, PictureRequest, render_picture, search_gal
from gateway.content.mail import parse_eas_date
from gateway.content.recurrence import occurrences
from gateway.errors import CommandFailure
from protocol.numbers import whole_number
from protocol.status import ResolveRecipientsStatus as Status
from protocol.versions import at_least
from protocol.xml import E, child, children, sub, text
from store.api import NotFound
from store.types import FolderType

GAL, CONTACT = 1, 2
RESOLVED, AMBIGUOUS, AMBIGUOUS_PARTIAL, UNRESOLVED = 1, 2, 3, 4
NO_VALID_CERTIFICATE = 7
MAX_RECIPIENTS = 100
SLOT = timedelta(minutes=30)
FREE, TENTATIVE, BUSY, AWAY, NO_DATA = "0", "1", "2", "3", "4"
BUSY_STATUS_DIGIT = {0: FREE, 1: TENTATIVE, 2: BUSY, 3: AWAY, 4: BUSY}


@dataclass(frozen=True)
class Candidate:
    type: int
    display_name: str
    email_address: str
    gal: GalEntry | None = None


async def handle(ctx: CommandContext) -> CommandResult:
    names = [e.text or "" for e in children(ctx.document, "ResolveRecipients:To")] \
        if ctx.document is not None else []
    if not names or len(names) > MAX_RECIPIENTS:
        raise CommandFailure(Status.PROTOCOL_ERROR, "between 1 and 100 To elements")
    options = child(ctx.document, "ResolveRecipients:Options")
    root = E("ResolveRecipients:ResolveRecipients", E("ResolveRecipients:Status", 1))
    for name in names:
        root.append(await _resolve(ctx, name, options))
    return CommandResult(root)


async def _resolve(ctx: CommandContext, name: str,
                   options: etree._Element | None) -> etree._Element:
    candidates = await candidates_for(ctx, name)
    limit = _int(options, "MaxAmbiguousRecipients", 19)
    status = RESOLVED if len(candidates) == 1 else UNRESOLVED if not candidates else AMBIGUOUS
    shown = candidates[:1] if status == RESOLVED else candidates[:limit]
    if status == AMBIGUOUS and len(shown) < len(candidates):
        status = AMBIGUOUS_PARTIAL
    response = E("ResolveRecipients:Response")
    sub(response, "ResolveRecipients:To", name)
    sub(response, "ResolveRecipients:Status", status)
    sub(response, "ResolveRecipients:RecipientCount", len(shown))
    for n, candidate in enumerate(shown):
        response.append(await _recipient(ctx, candidate, options, n))
    return response


async def candidates_for(ctx: CommandContext, name: str) -> list[Candidate]:
    """GAL users first, then the user's contacts; an exact address match wins alone."""
    if ctx.mailbox.quarantined:
        return []
    found = [Candidate(GAL, e.display_name, e.email_address, e)
             for e in await search_gal(ctx.services.store, ctx.user.tenant, name)]
    found += await _contacts(ctx, name)
    exact = [c for c in found if c.email_address.lower() == name.strip().lower()]
    unique: dict[str, Candidate] = {}
    for candidate in exact[:1] or found:
        unique.setdefault(candidate.email_address.lower(), candidate)
    return list(unique.values())


async def _contacts(ctx: CommandContext, name: str) -> list[Candidate]:
    folder = await ctx.services.store.find_folder(ctx.user.id, FolderType.CONTACTS)
    if folder is None:
        return []
    wanted = name.strip().lower()
    found = []
    for contact in await ctx.services.store.list_items(ctx.user.id, folder.id):
        data = contact.data
        display = " ".join(p for p in (data.get("FirstName"), data.get("LastName")) if p)
        for key in ("Email1Address", "Email2Address", "Email3Address"):
            address = str(data.get(key) or "")
            words = [*display.lower().split(), address.lower(), display.lower()]
            if address and wanted and any(w.startswith(wanted) for w in words):
                found.append(Candidate(CONTACT, display or address, address))
    return found


async def _recipient(ctx: CommandContext, candidate: Candidate, options: etree._Element | None,
                     n: int) -> etree._Element:
    recipient = E("ResolveRecipients:Recipient")
    sub(recipient, "ResolveRecipients:Type", candidate.type)
    sub(recipient, "ResolveRecipients:DisplayName", candidate.display_name)
    sub(recipient, "ResolveRecipients:EmailAddress", candidate.email_address)
    if options is None:
        return recipient
    availability = child(options, "ResolveRecipients:Availability")
    if availability is not None:
        recipient.append(await _availability(ctx, candidate, availability))
    retrieval = _int(options, "CertificateRetrieval", 1)
    if retrieval in (2, 3):
        certificates = sub(recipient, "ResolveRecipients:Certificates")
        sub(certificates, "ResolveRecipients:Status", NO_VALID_CERTIFICATE)
        sub(certificates, "ResolveRecipients:CertificateCount", 0)
        sub(certificates, "ResolveRecipients:RecipientCount", 0)
    picture = child(options, "ResolveRecipients:Picture")
    if picture is not None and candidate.gal is not None and at_least(ctx.version, "14.1"):
        request = PictureRequest(_int(picture, "MaxSize", None), _int(picture, "MaxPictures", None))
        recipient.append(render_picture(candidate.gal, request, n, page="ResolveRecipients"))
    return recipient


async def _availability(ctx: CommandContext, candidate: Candidate,
                        request: etree._Element) -> etree._Element:
    start = parse_eas_date(text(request, "ResolveRecipients:StartTime"))
    end = parse_eas_date(text(request, "ResolveRecipients:EndTime"))
    answer = E("ResolveRecipients:Availability")
    if start is None or end is None or end <= start:
        sub(answer, "ResolveRecipients:Status", 163)  # AvailabilityFailure
        return answer
    sub(answer, "ResolveRecipients:Status", 1)
    sub(answer, "ResolveRecipients:MergedFreeBusy",
        await merged_free_busy(ctx, candidate.email_address, start, end))
    return answer


async def merged_free_busy(ctx: CommandContext, address: str, start: datetime,
                           end: datetime) -> str:
    """One digit per half hour from ``start`` to ``end`` (MS-ASCMD 2.2.3.100)."""
    slots = max(1, int((end - start) / SLOT))
    try:
        user = await ctx.services.store.get_user(address)
    except NotFound:
        return NO_DATA * slots
    calendar = await ctx.services.store.find_folder(user.id, FolderType.CALENDAR)
    digits = [FREE] * slots
    events = await ctx.services.store.list_items(user.id, calendar.id) if calendar else []
    window_end = start + slots * SLOT
    for event in events:
        for occurrence in occurrences(event.data, start, window_end):
            digit = BUSY_STATUS_DIGIT.get(occurrence.data.get("BusyStatus", 2), BUSY)
            first = max(0, int((occurrence.start - start) / SLOT))
            for n in range(first, slots):
                slot_start = start + n * SLOT
                if slot_start >= occurrence.end:
                    break
                if digit > digits[n]:
                    digits[n] = digit
    return "".join(digits)


def _int(element: etree._Element | None, tag: str, default: int | None) -> int | None:
    value = text(element, f"ResolveRecipients:{tag}") if element is not None else None
    return whole_number(value, default)
