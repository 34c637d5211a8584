"""Meeting mail sent with SendMail (a text/calendar part with an iTIP method) reaches its
recipients as Exchange delivers it: a meeting request with the meeting tentative in their
calendar, a cancellation that marks it canceled, a reply that updates the organizer's
attendee list."""
from __future__ import annotations

from email.message import EmailMessage

import pytest
from commandhelp import run
from synchelp import Harness
from test_sendmail import items_in, send_mail

from gateway.content.mail import uid_from_global_object_id
from protocol.xml import E, child, text
from store.types import FolderType, NewItem

UID = "meeting-7f3a@contoso.com"


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


def meeting_mail(method: str, *, sender: str = "Alice Wood <alice@contoso.com>",
                 to: str = "bob@contoso.com", partstat: str = "NEEDS-ACTION",
                 extra: str = "", subject: str = "Planning") -> bytes:
    calendar = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n"
        f"METHOD:{method}\r\nBEGIN:VEVENT\r\nUID:{UID}\r\nSEQUENCE:0\r\n"
        f"SUMMARY:{subject}\r\nDTSTART:20261210T140000Z\r\nDTEND:20261210T150000Z\r\n"
        "DTSTAMP:20261127T100000Z\r\nORGANIZER;CN=Alice Wood:mailto:alice@contoso.com\r\n"
        f"ATTENDEE;PARTSTAT={partstat};CN=Bob Kelly:mailto:bob@contoso.com\r\n"
        f"LOCATION:Room 4\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content("Let us plan.")
    msg.add_alternative(calendar, subtype="calendar", params={"method": method})
    return msg.as_bytes().replace(b"\n", b"\r\n")


async def organizer_event(env: Harness) -> str:
    """Alice's own copy of the meeting (her client adds it with a Sync)."""
    alice = await env.store.get_user("alice@contoso.com")
    calendar = await env.folder_id("alice@contoso.com", FolderType.CALENDAR)
    item = await env.store.add_item(alice.id, calendar, NewItem("Calendar", {
        "Subject": "Planning", "StartTime": "20261210T140000Z", "EndTime": "20261210T150000Z",
        "UID": UID, "MeetingStatus": 1, "OrganizerEmail": "alice@contoso.com",
        "Attendees": [{"Email": "bob@contoso.com", "Name": "Bob Kelly", "AttendeeStatus": 5,
                       "AttendeeType": 1}]}))
    return item.server_id


async def bobs_meeting(env: Harness):  # type: ignore[no-untyped-def]
    events = [e for e in await items_in(env, "bob@contoso.com", FolderType.CALENDAR)
              if e.data.get("UID") == UID]
    assert len(events) <= 1
    return events[0] if events else None


async def synced_adds(env: Harness, address: str, folder_type: FolderType, version: str):  # type: ignore[no-untyped-def]
    client = await env.client(address, device_id=f"SYNC{address[:3]}{version}")
    client.version = version
    folder = await env.folder_id(address, folder_type)
    await client.sync(folder)
    added = []
    while True:
        answer = await client.sync(folder, window=100)
        added += answer.findall(".//{AirSync:}Add")
        if child(answer, "AirSync:MoreAvailable") is None:
            return added


async def test_an_invitation_is_a_meeting_request_and_a_tentative_meeting(env):
    alice = await env.client()
    answer = await run(alice, "SendMail", send_mail(meeting_mail("REQUEST")))
    assert answer.http_status == 200
    (request,) = [m for m in await items_in(env, "bob@contoso.com", FolderType.INBOX)
                  if m.data.get("Subject") == "Planning"]
    assert request.data["MessageClass"] == "IPM.Schedule.Meeting.Request"
    meeting = request.data["MeetingRequest"]
    assert (meeting["StartTime"], meeting["EndTime"], meeting["Location"]) == (
        "2026-12-10T14:00:00.000Z", "2026-12-10T15:00:00.000Z", "Room 4")
    assert uid_from_global_object_id(meeting["GlobalObjId"]) == UID
    event = await bobs_meeting(env)
    assert (event.data["StartTime"], event.data["MeetingStatus"], event.data["BusyStatus"],
            event.data["ResponseType"]) == ("20261210T140000Z", 3, 2, 5)
    assert event.data["OrganizerEmail"] == "alice@contoso.com"
    sent = await items_in(env, "alice@contoso.com", FolderType.SENT_ITEMS)
    assert any(m.data.get("Subject") == "Planning" for m in sent)


async def test_bob_accepts_the_request_his_meeting_and_alices_attendee_list_follow(env):
    organizer_copy = await organizer_event(env)
    await run(await env.client(), "SendMail", send_mail(meeting_mail("REQUEST")))
    (request,) = [m for m in await items_in(env, "bob@contoso.com", FolderType.INBOX)
                  if m.data.get("Subject") == "Planning"]
    bob = await env.client("bob@contoso.com", device_id="BOB1")
    inbox = await env.folder_id("bob@contoso.com", FolderType.INBOX)
    answer = await run(bob, "MeetingResponse", E(
        "MeetingResponse:MeetingResponse", E("MeetingResponse:Request",
                                             E("MeetingResponse:UserResponse", 1),
                                             E("MeetingResponse:CollectionId", inbox),
                                             E("MeetingResponse:RequestId", request.server_id))))
    result = child(answer.document, "MeetingResponse:Result")
    assert text(result, "MeetingResponse:Status") == "1"
    event = await bobs_meeting(env)
    assert text(result, "MeetingResponse:CalendarId") == event.server_id  # no second copy
    assert event.data["ResponseType"] == 3
    alice = await env.store.get_user("alice@contoso.com")
    mine = await env.store.get_item(alice.id, organizer_copy)
    assert mine.data["Attendees"][0]["AttendeeStatus"] == 3


async def test_an_update_changes_the_meeting_in_place(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(meeting_mail("REQUEST"), client_id="one"))
    moved = meeting_mail("REQUEST", extra="", subject="Planning (moved)").replace(
        b"20261210T140000Z", b"20261211T140000Z").replace(b"SEQUENCE:0", b"SEQUENCE:1")
    await run(alice, "SendMail", send_mail(moved, client_id="two"))
    event = await bobs_meeting(env)
    assert (event.data["StartTime"], event.data["Subject"]) == (
        "20261211T140000Z", "Planning (moved)")
    updates = [m for m in await items_in(env, "bob@contoso.com", FolderType.INBOX)
               if m.data.get("Subject") == "Planning (moved)"]
    assert updates[0].data["MeetingRequest"]["MeetingMessageType"] == 2


async def test_a_cancellation_marks_the_meeting_canceled(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(meeting_mail("REQUEST"), client_id="one"))
    await run(alice, "SendMail", send_mail(
        meeting_mail("CANCEL", extra="STATUS:CANCELLED\r\n", subject="Canceled: Planning"),
        client_id="two"))
    event = await bobs_meeting(env)
    assert event.data["MeetingStatus"] == 7
    (mail,) = [m for m in await items_in(env, "bob@contoso.com", FolderType.INBOX)
               if m.data.get("Subject") == "Canceled: Planning"]
    assert mail.data["MessageClass"] == "IPM.Schedule.Meeting.Canceled"


async def test_a_reply_sent_by_mail_updates_the_organizers_attendee_list(env):
    organizer_copy = await organizer_event(env)
    bob = await env.client("bob@contoso.com", device_id="BOB1")
    await run(bob, "SendMail", send_mail(meeting_mail(
        "REPLY", sender="Bob Kelly <bob@contoso.com>", to="alice@contoso.com",
        partstat="DECLINED", subject="Declined: Planning")))
    alice = await env.store.get_user("alice@contoso.com")
    mine = await env.store.get_item(alice.id, organizer_copy)
    assert mine.data["Attendees"][0]["AttendeeStatus"] == 4
    (reply,) = [m for m in await items_in(env, "alice@contoso.com", FolderType.INBOX)
                if m.data.get("Subject") == "Declined: Planning"]
    assert reply.data["MessageClass"] == "IPM.Schedule.Meeting.Resp.Neg"
    assert await bobs_meeting(env) is None  # a reply puts nothing in the replier's calendar


async def test_a_resent_invitation_changes_nothing_twice(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(meeting_mail("REQUEST"), client_id="same"))
    again = await run(alice, "SendMail", send_mail(meeting_mail("REQUEST"), client_id="same"))
    assert text(again.document, "ComposeMail:Status") == "118"
    assert await bobs_meeting(env) is not None  # one copy (bobs_meeting checks)


@pytest.mark.parametrize("version", ["12.1", "14.1", "16.1"])
async def test_bobs_phone_syncs_the_request_with_its_meeting_fields(env, version):
    await run(await env.client(), "SendMail", send_mail(meeting_mail("REQUEST")))
    added = await synced_adds(env, "bob@contoso.com", FolderType.INBOX, version)
    (request,) = [a for a in added if a.findtext(".//{Email:}Subject") == "Planning"]
    assert request.findtext(".//{Email:}MessageClass") == "IPM.Schedule.Meeting.Request"
    meeting = request.find(".//{Email:}MeetingRequest")
    assert meeting.findtext("{Email:}StartTime") == "2026-12-10T14:00:00.000Z"
    assert meeting.findtext("{Email:}GlobalObjId")
    assert (meeting.find("{Email2:}MeetingMessageType") is not None) == (version != "12.1")


@pytest.mark.parametrize(("version", "sent"), [("16.1", True), ("14.1", False)])
async def test_send_response_has_the_server_mail_the_reply_on_16(env, version, sent):
    """EAS 16.0+: MeetingResponse's SendResponse makes the server send the reply (before
    16.0 the client sends it with SendMail, so the element is not honoured there)."""
    organizer_copy = await organizer_event(env)
    await run(await env.client(), "SendMail", send_mail(meeting_mail("REQUEST")))
    (request,) = [m for m in await items_in(env, "bob@contoso.com", FolderType.INBOX)
                  if m.data.get("Subject") == "Planning"]
    bob = await env.client("bob@contoso.com", device_id=f"BOB{version}")
    bob.version = version
    inbox = await env.folder_id("bob@contoso.com", FolderType.INBOX)
    answer = await run(bob, "MeetingResponse", E(
        "MeetingResponse:MeetingResponse", E(
            "MeetingResponse:Request", E("MeetingResponse:UserResponse", 2),
            E("MeetingResponse:CollectionId", inbox),
            E("MeetingResponse:RequestId", request.server_id),
            E("MeetingResponse:SendResponse", E("AirSyncBase:Body",
                                                E("AirSyncBase:Type", 1),
                                                E("AirSyncBase:Data", "Might be late."))))))
    assert text(child(answer.document, "MeetingResponse:Result"),
                "MeetingResponse:Status") == "1"
    replies = [m for m in await items_in(env, "alice@contoso.com", FolderType.INBOX)
               if m.data.get("Subject") == "Tentative: Planning"]
    kept = [m for m in await items_in(env, "bob@contoso.com", FolderType.SENT_ITEMS)
            if m.data.get("Subject") == "Tentative: Planning"]
    assert (len(replies), len(kept)) == ((1, 1) if sent else (0, 0))
    if sent:
        assert replies[0].data["MessageClass"] == "IPM.Schedule.Meeting.Resp.Tent"
        assert "Might be late." in replies[0].body_text
    alice = await env.store.get_user("alice@contoso.com")
    mine = await env.store.get_item(alice.id, organizer_copy)
    assert mine.data["Attendees"][0]["AttendeeStatus"] == 2  # told either way


async def respond(env: Harness, version: str, response: int, *proposal: str,
                  invited: bool = False):  # type: ignore[no-untyped-def]
    """Bob answers Alice's invitation with SendResponse, proposing ``proposal`` times: the
    request mail it sends, or (once ``invited``) the meeting in his calendar."""
    if invited:
        request, folder_type = await bobs_meeting(env), FolderType.CALENDAR
    else:
        await run(await env.client(), "SendMail", send_mail(meeting_mail("REQUEST")))
        (request,) = [m for m in await items_in(env, "bob@contoso.com", FolderType.INBOX)
                      if m.data.get("Subject") == "Planning"]
        folder_type = FolderType.INBOX
    bob = await env.client("bob@contoso.com", device_id=f"BOB{version}")
    bob.version = version
    inbox = await env.folder_id("bob@contoso.com", folder_type)
    tags = ("ProposedStartTime", "ProposedEndTime")[:len(proposal)]  # half of one, maybe
    times = [E(f"MeetingResponse:{tag}", value) for tag, value in zip(tags, proposal,
                                                                        strict=True)]
    answer = await run(bob, "MeetingResponse", E(
        "MeetingResponse:MeetingResponse", E(
            "MeetingResponse:Request", E("MeetingResponse:UserResponse", response),
            E("MeetingResponse:CollectionId", inbox),
            E("MeetingResponse:RequestId", request.server_id),
            E("MeetingResponse:SendResponse", *times))))
    return text(child(answer.document, "MeetingResponse:Result"), "MeetingResponse:Status")


@pytest.mark.parametrize("response", [2, 3])
async def test_a_new_time_proposal_reaches_the_organizer(env, response):
    """16.0+: ProposedStartTime/EndTime in SendResponse make the reply a COUNTER ("New Time
    Proposed"); the organizer's attendee carries the proposal and her phone shows it."""
    organizer_copy = await organizer_event(env)
    assert await respond(env, "16.1", response, "20261211T090000Z", "20261211T100000Z") == "1"
    (proposal,) = [m for m in await items_in(env, "alice@contoso.com", FolderType.INBOX)
                   if m.data.get("Subject") == "New Time Proposed: Planning"]
    assert proposal.data["MessageClass"] == ("IPM.Schedule.Meeting.Resp.Tent" if response == 2
                                             else "IPM.Schedule.Meeting.Resp.Neg")
    meeting = proposal.data["MeetingRequest"]
    assert (meeting["StartTime"], meeting["ProposedStartTime"], meeting["ProposedEndTime"]) == (
        "2026-12-10T14:00:00.000Z", "20261211T090000Z", "20261211T100000Z")
    alice = await env.store.get_user("alice@contoso.com")
    (attendee,) = (await env.store.get_item(alice.id, organizer_copy)).data["Attendees"]
    assert (attendee["AttendeeStatus"], attendee["ProposedStartTime"]) == (
        2 if response == 2 else 4, "20261211T090000Z")
    for version, shown in (("16.1", True), ("14.1", False)):
        (mail,) = [a for a in await synced_adds(env, "alice@contoso.com", FolderType.INBOX,
                                                version)
                   if a.findtext(".//{Email:}Subject") == "New Time Proposed: Planning"]
        assert (mail.find(".//{Email:}MeetingRequest") is not None) == shown
        assert (mail.findtext(".//{MeetingResponse:}ProposedStartTime") ==
                ("20261211T090000Z" if shown else None))
        (event,) = [a for a in await synced_adds(env, "alice@contoso.com",
                                                 FolderType.CALENDAR, version)
                    if a.findtext(".//{Calendar:}Subject") == "Planning"]
        assert (event.findtext(".//{Calendar:}Attendee/{MeetingResponse:}ProposedEndTime") ==
                ("20261211T100000Z" if shown else None))


async def test_a_later_answer_withdraws_the_proposal(env):
    organizer_copy = await organizer_event(env)
    assert await respond(env, "16.1", 2, "20261211T090000Z", "20261211T100000Z") == "1"
    assert await respond(env, "16.1", 1, invited=True) == "1"
    alice = await env.store.get_user("alice@contoso.com")
    (attendee,) = (await env.store.get_item(alice.id, organizer_copy)).data["Attendees"]
    assert attendee["AttendeeStatus"] == 3 and "ProposedStartTime" not in attendee


@pytest.mark.parametrize("proposal", [("20261211T090000Z",), ("20261211T100000Z",
                                                              "20261211T090000Z"),
                                      ("tomorrow", "20261211T100000Z")])
async def test_a_proposal_that_is_not_a_start_and_a_later_end_is_status_2(env, proposal):
    organizer_copy = await organizer_event(env)
    assert await respond(env, "16.1", 2, *proposal) == "2"
    alice = await env.store.get_user("alice@contoso.com")
    (attendee,) = (await env.store.get_item(alice.id, organizer_copy)).data["Attendees"]
    assert attendee["AttendeeStatus"] == 5  # nothing answered


def series_mail(method: str, *events: str, subject: str = "Weekly") -> bytes:
    """A meeting mail whose calendar holds ``events``, each the lines of one VEVENT."""
    common = (f"UID:{UID}\r\nDTSTAMP:20261127T100000Z\r\n"
              "ORGANIZER;CN=Alice Wood:mailto:alice@contoso.com\r\n"
              "ATTENDEE;PARTSTAT=NEEDS-ACTION;CN=Bob Kelly:mailto:bob@contoso.com\r\n")
    body = "".join(f"BEGIN:VEVENT\r\n{common}{lines}END:VEVENT\r\n" for lines in events)
    calendar = (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nMETHOD:{method}\r\n"
                f"{body}END:VCALENDAR\r\n")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@contoso.com", "bob@contoso.com", subject
    msg.set_content("Every week.")
    msg.add_alternative(calendar, subtype="calendar", params={"method": method})
    return msg.as_bytes().replace(b"\n", b"\r\n")


SERIES = ("SUMMARY:Weekly\r\nDTSTART:20261207T090000Z\r\nDTEND:20261207T093000Z\r\n"
          "RRULE:FREQ=WEEKLY;COUNT=6\r\nLOCATION:Room 4\r\n")


def occurrence(recurrence_id: str, start: str, end: str, extra: str = "") -> str:
    return (f"SUMMARY:Weekly\r\nRECURRENCE-ID:{recurrence_id}\r\nDTSTART:{start}\r\n"
            f"DTEND:{end}\r\n{extra}")


async def test_a_series_invitation_keeps_its_overridden_occurrences_as_exceptions(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(series_mail("REQUEST", SERIES, occurrence(
        "20261214T090000Z", "20261215T130000Z", "20261215T133000Z", "LOCATION:Room 9\r\n"))))
    event = await bobs_meeting(env)
    assert (event.data["StartTime"], event.data["Recurrence"]["Type"]) == ("20261207T090000Z", 1)
    assert event.data["Exceptions"] == [{
        "ExceptionStartTime": "20261214T090000Z", "StartTime": "20261215T130000Z",
        "EndTime": "20261215T133000Z", "Location": "Room 9"}]


async def test_an_update_of_one_occurrence_changes_that_occurrence_only(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(series_mail("REQUEST", SERIES), client_id="one"))
    await run(alice, "SendMail", send_mail(series_mail("REQUEST", occurrence(
        "20261221T090000Z", "20261221T100000Z", "20261221T103000Z"),
        subject="Weekly (moved once)"), client_id="two"))
    event = await bobs_meeting(env)
    assert (event.data["StartTime"], event.data["EndTime"]) == (
        "20261207T090000Z", "20261207T093000Z")  # the series as it was
    assert event.data["Exceptions"] == [{
        "ExceptionStartTime": "20261221T090000Z", "StartTime": "20261221T100000Z",
        "EndTime": "20261221T103000Z"}]


async def test_a_cancellation_of_two_occurrences_removes_both(env):
    alice = await env.client()
    await run(alice, "SendMail", send_mail(series_mail("REQUEST", SERIES), client_id="one"))
    await run(alice, "SendMail", send_mail(series_mail(
        "CANCEL", *(occurrence(day, day, day.replace("T090000", "T093000"),
                               "STATUS:CANCELLED\r\n")
                    for day in ("20261214T090000Z", "20261228T090000Z")),
        subject="Canceled: Weekly"), client_id="two"))
    event = await bobs_meeting(env)
    assert event.data.get("MeetingStatus") != 7  # the series stands
    assert sorted((e["ExceptionStartTime"], e["Deleted"]) for e in event.data["Exceptions"]) == [
        ("20261214T090000Z", 1), ("20261228T090000Z", 1)]


def organizer_change(server_id: str, start: str, reminder: int):  # type: ignore[no-untyped-def]
    """Alice's phone uploads her meeting as clients do: every field, no proposals."""
    return E("AirSync:Change", E("AirSync:ServerId", server_id), E(
        "AirSync:ApplicationData", E("Calendar:Subject", "Planning"),
        E("Calendar:StartTime", start), E("Calendar:EndTime", start.replace("T14", "T15")),
        E("Calendar:UID", UID), E("Calendar:MeetingStatus", 1), E("Calendar:Reminder", reminder),
        E("Calendar:Attendees", E("Calendar:Attendee", E("Calendar:Email", "bob@contoso.com"),
                                  E("Calendar:Name", "Bob Kelly"),
                                  E("Calendar:AttendeeStatus", 2),
                                  E("Calendar:AttendeeType", 1)))))


async def test_the_organizers_own_change_keeps_a_proposal_until_she_moves_the_meeting(env):
    organizer_copy = await organizer_event(env)
    assert await respond(env, "16.1", 2, "20261211T090000Z", "20261211T100000Z") == "1"
    alice = await env.client(device_id="ALICEPHONE")
    calendar = await env.folder_id("alice@contoso.com", FolderType.CALENDAR)
    await alice.sync_all(calendar)
    user = await env.store.get_user("alice@contoso.com")

    async def attendee():  # type: ignore[no-untyped-def]
        (bob,) = (await env.store.get_item(user.id, organizer_copy)).data["Attendees"]
        return bob

    await alice.sync(calendar, commands=[organizer_change(organizer_copy, "20261210T140000Z", 30)])
    assert (await attendee())["ProposedStartTime"] == "20261211T090000Z"  # still proposed
    await alice.sync(calendar, commands=[organizer_change(organizer_copy, "20261211T140000Z", 30)])
    assert "ProposedStartTime" not in await attendee()  # moved: the proposal is answered
