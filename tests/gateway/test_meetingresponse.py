"""MeetingResponse: from the calendar item and from a meeting request in the Inbox; the
organizer's event learns the answer."""
from __future__ import annotations

import pytest
from commandhelp import run
from synchelp import Harness

from gateway.content.mail import global_object_id
from protocol.xml import E, child, text
from store.types import FolderType, NewItem


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


def respond(request_id, response, collection_id, instance=None):
    request = E("MeetingResponse:Request", E("MeetingResponse:UserResponse", response),
                E("MeetingResponse:CollectionId", collection_id),
                E("MeetingResponse:RequestId", request_id))
    if instance:
        request.append(E("MeetingResponse:InstanceId", instance))
    return E("MeetingResponse:MeetingResponse", request)


async def calendar(env, address):
    user = await env.store.get_user(address)
    folder = await env.store.find_folder(user.id, FolderType.CALENDAR)
    return user, folder, await env.store.list_items(user.id, folder.id)


async def test_accept_and_decline_from_the_calendar(env):
    alice = await env.client()
    user, folder, events = await calendar(env, "alice@contoso.com")
    plain = next(e for e in events if not e.data.get("Recurrence"))
    answer = await run(alice, "MeetingResponse", respond(plain.server_id, 2, folder.id))
    result = child(answer.document, "MeetingResponse:Result")
    assert text(result, "MeetingResponse:Status") == "1"
    assert text(result, "MeetingResponse:CalendarId") == plain.server_id
    updated = await env.store.get_item(user.id, plain.server_id)
    assert (updated.data["ResponseType"], updated.data["BusyStatus"]) == (2, 1)
    answer = await run(alice, "MeetingResponse", respond(plain.server_id, 3, folder.id))
    result = child(answer.document, "MeetingResponse:Result")
    assert child(result, "MeetingResponse:CalendarId") is None
    assert plain.server_id not in {e.server_id for e in (await calendar(env, user.address))[2]}


async def test_decline_one_occurrence_of_a_series(env):
    alice = await env.client()
    user, folder, events = await calendar(env, "alice@contoso.com")
    series = next(e for e in events if e.data.get("Recurrence"))
    await run(alice, "MeetingResponse", respond(series.server_id, 3, folder.id,
                                                instance=series.data["StartTime"]))
    updated = await env.store.get_item(user.id, series.server_id)
    assert updated.data["Exceptions"] == [{"ExceptionStartTime": series.data["StartTime"],
                                           "Deleted": 1}]


async def test_accept_a_request_from_the_inbox_updates_both_calendars(env):
    bob, _, bob_events = await calendar(env, "bob@contoso.com")
    meeting = bob_events[0]
    attendees = [{"Email": "alice@contoso.com", "Name": "Alice Wood", "AttendeeStatus": 0,
                  "AttendeeType": 1}]
    await env.store.update_item(bob.id, meeting.server_id, data={
        "Attendees": attendees, "OrganizerEmail": "bob@contoso.com", "MeetingStatus": 1})
    alice_user = await env.store.get_user("alice@contoso.com")
    inbox = await env.store.find_folder(alice_user.id, FolderType.INBOX)
    request_mail = await env.store.add_item(alice_user.id, inbox.id, NewItem("Email", {
        "Subject": meeting.data["Subject"], "From": "Bob Kelly <bob@contoso.com>",
        "To": "alice@contoso.com", "DateReceived": "2026-11-20T08:00:00.000Z",
        "MessageClass": "IPM.Schedule.Meeting.Request",
        "MeetingRequest": {"StartTime": meeting.data["StartTime"],
                           "EndTime": meeting.data["EndTime"],
                           "Organizer": "Bob Kelly <bob@contoso.com>",
                           "GlobalObjId": global_object_id(meeting.data["UID"])}},
        body_text="Please come."))
    alice = await env.client()
    answer = await run(alice, "MeetingResponse", respond(request_mail.server_id, 1, inbox.id))
    result = child(answer.document, "MeetingResponse:Result")
    assert text(result, "MeetingResponse:Status") == "1"
    created = await env.store.get_item(alice_user.id, text(result, "MeetingResponse:CalendarId"))
    assert created.data["UID"] == meeting.data["UID"]
    assert (created.data["ResponseType"], created.data["MeetingStatus"]) == (3, 3)
    moved = await env.store.list_items(alice_user.id, inbox.id)
    assert request_mail.server_id not in {m.server_id for m in moved}
    organizer_copy = await env.store.get_item(bob.id, meeting.server_id)
    assert organizer_copy.data["Attendees"][0]["AttendeeStatus"] == 3


async def test_unknown_or_invisible_request_is_status_2(env):
    alice = await env.client()
    answer = await run(alice, "MeetingResponse", respond("8:99999", 1, "8"))
    assert text(child(answer.document, "MeetingResponse:Result"),
                "MeetingResponse:Status") == "2"
    user, folder, events = await calendar(env, "alice@contoso.com")
    quarantined = await env.client(device_id="Q1", state="quarantined")
    answer = await run(quarantined, "MeetingResponse", respond(events[0].server_id, 1,
                                                               folder.id))
    assert text(child(answer.document, "MeetingResponse:Result"),
                "MeetingResponse:Status") == "2"
