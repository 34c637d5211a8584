"""MeetingResponse (MS-ASCMD 2.2.1.11): accept, tentatively accept or decline a meeting.

The request names either a meeting request mail (Inbox, with ``Email:MeetingRequest``) or
the calendar item itself. The answer updates the calendar as Exchange does:
- accept (1) / tentative (2): the attendee's event (created from the request when there is
  none yet, matched by UID) gets ``ResponseType`` 3 / 2, ``BusyStatus`` 2 / 1 and
  ``MeetingStatus`` 3 (a meeting received); its id is returned as ``CalendarId``;
- decline (3): the event leaves the calendar (for one occurrence, an ``InstanceId``, it
  becomes a deleted exception);
- a meeting request mail that was answered moves to Deleted Items;
- when the organizer is a mailbox of this gateway, the attendee's status in the organizer's
  event follows (3 accepted, 2 tentative, 4 declined);
- on 16.0 and later, ``SendResponse`` has the server send the reply mail to the organizer
  (with its optional body), through the same delivery as SendMail; earlier clients send it
  themselves. With ``ProposedStartTime`` and ``ProposedEndTime`` the reply proposes a new
  time (an iTIP COUNTER, "New Time Proposed: …"), and a local organizer's meeting records
  the proposal on the attendee until the attendee answers again.
Status 2 for a request that names nothing this device may see, or no meeting, or a proposal
that is not a start and a later end.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.content.delivery import submit
from gateway.content.mail import (
    PROPOSAL_FIELDS,
    eas_date,
    parse_eas_date,
    uid_from_global_object_id,
)
from gateway.content.meetings import (
    meeting_with_uid,
    proposal_fields,
    record_answers,
    reply_message,
)
from gateway.errors import CommandFailure
from protocol.numbers import whole_number
from protocol.status import MeetingResponseStatus as Status
from protocol.versions import at_least
from protocol.xml import E, child, children, sub, text
from store.api import NotFound
from store.fixtures import eas_compact_date
from store.types import FolderType, Item, NewItem

ACCEPT, TENTATIVE, DECLINE = 1, 2, 3
RESPONSE_TYPE = {ACCEPT: 3, TENTATIVE: 2, DECLINE: 4}  # MS-ASCAL ResponseType
BUSY_STATUS = {ACCEPT: 2, TENTATIVE: 1}
ATTENDEE_STATUS = {ACCEPT: 3, TENTATIVE: 2, DECLINE: 4}
PARTSTAT = {ACCEPT: "ACCEPTED", TENTATIVE: "TENTATIVE", DECLINE: "DECLINED"}
MEETING_RECEIVED = 3  # MeetingStatus of an attendee's copy


async def handle(ctx: CommandContext) -> CommandResult:
    requests = children(ctx.document, "MeetingResponse:Request") \
        if ctx.document is not None else []
    if not requests:
        raise CommandFailure(Status.INVALID_REQUEST, "no Request")
    root = E("MeetingResponse:MeetingResponse")
    for request in requests:
        root.append(await _respond(ctx, request))
    return CommandResult(root)


async def _respond(ctx: CommandContext, request: etree._Element) -> etree._Element:
    request_id = text(request, "MeetingResponse:RequestId") or text(request, "Search:LongId")
    result = E("MeetingResponse:Result")
    if request_id:
        sub(result, "MeetingResponse:RequestId", request_id)
    response = whole_number(text(request, "MeetingResponse:UserResponse"))
    source = await ctx.mailbox.get_item(request_id) if request_id else None
    if response not in RESPONSE_TYPE or source is None or not _is_meeting(source):
        sub(result, "MeetingResponse:Status", Status.INVALID_REQUEST)
        return result
    if ctx.mailbox.quarantined:
        sub(result, "MeetingResponse:Status", Status.MAILBOX_ERROR)
        return result
    instance = text(request, "MeetingResponse:InstanceId") or text(request,
                                                                    "AirSyncBase:InstanceId")
    send = child(request, "MeetingResponse:SendResponse")
    if not at_least(ctx.request.protocol_version, "16.0"):
        send = None  # before 16.0 the client mails its reply itself
    try:
        proposal = _proposal(send)
    except ValueError:
        sub(result, "MeetingResponse:Status", Status.INVALID_REQUEST)
        return result
    event, calendar_id = await answer_meeting(ctx, source, response, instance, proposal)
    if send is not None:
        await _send_response(ctx, event, response, instance, send, proposal)
    sub(result, "MeetingResponse:Status", Status.SUCCESS)
    if calendar_id is not None:
        sub(result, "MeetingResponse:CalendarId", calendar_id)
    return result


def _is_meeting(item: Item) -> bool:
    return item.item_class == "Calendar" or isinstance(item.data.get("MeetingRequest"), dict)


def _proposal(send: etree._Element | None) -> dict[str, str] | None:
    """A new time proposal (both times, compact, the end after the start); None without
    one, ValueError for half of one or times that do not read."""
    if send is None:
        return None
    start, end = (text(send, f"MeetingResponse:{tag}") for tag in PROPOSAL_FIELDS)
    if start is None and end is None:
        return None
    moments = [parse_eas_date(value) for value in (start, end)]
    if moments[0] is None or moments[1] is None or not moments[0] < moments[1]:
        raise ValueError("a proposal needs a start and a later end")
    return proposal_fields(moments[0], moments[1])


async def answer_meeting(ctx: CommandContext, source: Item, response: int,
                         instance: str | None, proposal: dict[str, str] | None = None
                         ) -> tuple[Item, str | None]:
    """Apply the response; the attendee's meeting (as it was) and its calendar item id when
    it stays in the calendar."""
    store, user_id = ctx.services.store, ctx.user.id
    event = source if source.item_class == "Calendar" else await _event_for_request(ctx, source)
    calendar_id: str | None = None
    if instance and event.data.get("Recurrence"):
        await store.update_item(user_id, event.server_id,
                                data={"Exceptions": _with_exception(event, instance, response)})
        calendar_id = event.server_id
    elif response == DECLINE:
        await store.delete_item(user_id, event.server_id)
    else:
        await store.update_item(user_id, event.server_id, data=_answered(ctx, response))
        calendar_id = event.server_id
    if source.item_class == "Email":
        deleted = await store.find_folder(user_id, FolderType.DELETED_ITEMS)
        if deleted is not None:
            await store.move_item(user_id, source.server_id, deleted.id)
    await _tell_organizer(ctx, event, response, proposal)
    return event, calendar_id


async def _send_response(ctx: CommandContext, event: Item, response: int,
                         instance: str | None, send: etree._Element,
                         proposal: dict[str, str] | None) -> None:
    """The reply mail to the organizer (none when the meeting names no organizer, or the
    user organizes it); a copy stays in Sent Items, as Exchange keeps it."""
    organizer = str(event.data.get("OrganizerEmail") or "")
    if not organizer or organizer.lower() == ctx.user.address.lower():
        return
    body = child(send, "AirSyncBase:Body")
    note = text(body, "AirSyncBase:Data", "") if body is not None else ""
    mime = reply_message(ctx.user.address, ctx.user.display_name, event.data,
                         PARTSTAT[response], note or "", ctx.services.clock.now(), instance,
                         proposal)
    await submit(ctx.services.store, ctx.user, mime, now=ctx.services.clock.now(),
                 save_in_sent=True)


def _answered(ctx: CommandContext, response: int) -> dict[str, Any]:
    return {"ResponseType": RESPONSE_TYPE[response], "BusyStatus": BUSY_STATUS[response],
            "MeetingStatus": MEETING_RECEIVED,
            "AppointmentReplyTime": eas_date(ctx.services.clock.now())}


def _with_exception(event: Item, instance: str, response: int) -> list[dict[str, Any]]:
    exceptions = [e for e in event.data.get("Exceptions") or []
                  if e.get("ExceptionStartTime") != instance]
    exception: dict[str, Any] = {"ExceptionStartTime": instance}
    if response == DECLINE:
        exception["Deleted"] = 1
    else:
        exception.update(ResponseType=RESPONSE_TYPE[response], BusyStatus=BUSY_STATUS[response])
    return [*exceptions, exception]


async def _event_for_request(ctx: CommandContext, request_mail: Item) -> Item:
    """The attendee's event for a meeting request: the one with its UID, else a new one."""
    meeting = request_mail.data["MeetingRequest"]
    uid = meeting.get("UID") or uid_from_global_object_id(str(meeting.get("GlobalObjId", "")))
    store, user_id = ctx.services.store, ctx.user.id
    calendar = await store.find_folder(user_id, FolderType.CALENDAR)
    if calendar is None:
        raise CommandFailure(Status.MAILBOX_ERROR, "no calendar")
    event = await meeting_with_uid(store, user_id, calendar.id, uid) if uid else None
    if event is not None:
        return event
    return await store.add_item(user_id, calendar.id, _event_from_request(request_mail, uid))


def _event_from_request(mail: Item, uid: str | None) -> NewItem:
    meeting = mail.data["MeetingRequest"]
    organizer = str(meeting.get("Organizer") or mail.data.get("From", ""))
    data = {
        "Subject": mail.data.get("Subject", ""),
        "StartTime": _compact(meeting.get("StartTime")),
        "EndTime": _compact(meeting.get("EndTime")),
        "DtStamp": _compact(meeting.get("DtStamp")), "Timezone": meeting.get("TimeZone"),
        "AllDayEvent": meeting.get("AllDayEvent", 0), "Location": meeting.get("Location"),
        "Sensitivity": meeting.get("Sensitivity", 0), "Reminder": meeting.get("Reminder"),
        "UID": uid, "MeetingStatus": MEETING_RECEIVED, "OrganizerEmail": _address(organizer),
        "OrganizerName": organizer.split("<")[0].strip().strip('"') or _address(organizer),
        "ResponseRequested": meeting.get("ResponseRequested", 1),
    }
    if isinstance(meeting.get("Recurrence"), dict):
        data["Recurrence"] = meeting["Recurrence"]
    return NewItem("Calendar", {k: v for k, v in data.items() if v is not None},
                   body_text=mail.body_text)


def _compact(value: Any) -> str | None:
    """A MeetingRequest time (``2026-11-20T09:15:00.000Z``) in the compact form Calendar
    items carry (``20261120T091500Z``)."""
    moment = parse_eas_date(value)
    return eas_compact_date(moment) if moment is not None else None


async def _tell_organizer(ctx: CommandContext, event: Item, response: int,
                          proposal: dict[str, str] | None) -> None:
    """Record the attendee's answer (and proposal) in the organizer's own event, when the
    organizer has a mailbox here (the mail Exchange would send, reduced to its effect)."""
    organizer_address = str(event.data.get("OrganizerEmail") or "")
    uid = event.data.get("UID")
    if not organizer_address or not uid or organizer_address.lower() == ctx.user.address.lower():
        return
    store = ctx.services.store
    try:
        organizer = await store.get_user(organizer_address)
    except NotFound:  # an organizer outside this gateway
        return
    calendar = await store.find_folder(organizer.id, FolderType.CALENDAR)
    if calendar is None:
        return
    for candidate in await store.list_items(organizer.id, calendar.id):
        if candidate.data.get("UID") != uid:
            continue
        attendees = [dict(a) for a in candidate.data.get("Attendees") or []]
        record_answers(attendees, {ctx.user.address.lower(): ATTENDEE_STATUS[response]},
                       proposal)
        await store.update_item(organizer.id, candidate.server_id, data={"Attendees": attendees})


def _address(header: str) -> str:
    inner = header.rpartition("<")[2].rstrip(">").strip()
    return inner.lower()
