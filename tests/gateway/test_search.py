"""Search (Mailbox with queries and paging, GAL with pictures), Find (16.1) and
ResolveRecipients, over the demo tenant."""
from __future__ import annotations

import base64

import pytest
from commandhelp import run
from synchelp import Harness

from protocol.xml import E, child, children, sub, text


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


def mailbox_search(*conditions, range_="0-4", deep=False):
    store = E("Search:Store", E("Search:Name", "Mailbox"),
              E("Search:Query", E("Search:And", *conditions)))
    options = sub(store, "Search:Options")
    sub(options, "Search:Range", range_)
    if deep:
        sub(options, "Search:DeepTraversal")
    return E("Search:Search", store)


def store_of(answer):
    return answer.document.find("{Search:}Response/{Search:}Store")


async def test_mailbox_free_text_pages_newest_first(env):
    alice = await env.client()
    query = mailbox_search(E("AirSync:Class", "Email"), E("AirSync:CollectionId", "2"),
                           E("Search:FreeText", "Alice"), range_="0-4")
    store = store_of(await run(alice, "Search", query))
    assert text(store, "Search:Status") == "1"
    results = children(store, "Search:Result")
    assert len(results) == 5 and text(store, "Search:Range") == "0-4"
    total = int(text(store, "Search:Total"))
    assert total > 5
    dates = [text(child(r, "Search:Properties"), "Email:DateReceived") for r in results]
    assert dates == sorted(dates, reverse=True)
    assert text(results[0], "Search:LongId")
    query = mailbox_search(E("AirSync:Class", "Email"), E("AirSync:CollectionId", "2"),
                           E("Search:FreeText", "Alice"), range_=f"5-{total + 10}")
    rest = store_of(await run(alice, "Search", query))
    assert len(children(rest, "Search:Result")) == total - 5


async def test_mailbox_date_comparison(env):
    alice = await env.client()
    query = mailbox_search(E("AirSync:Class", "Email"), E("AirSync:CollectionId", "2"),
                           E("Search:GreaterThan", E("Email:DateReceived"),
                             E("Search:Value", "2026-11-19T00:00:00.000Z")), range_="0-99")
    store = store_of(await run(alice, "Search", query))
    dates = [text(child(r, "Search:Properties"), "Email:DateReceived")
             for r in children(store, "Search:Result")]
    assert dates and all(d > "2026-11-19" for d in dates)


async def test_quarantined_device_finds_nothing(env):
    alice = await env.client(state="quarantined")
    query = mailbox_search(E("Search:FreeText", "Alice"))
    store = store_of(await run(alice, "Search", query))
    assert text(store, "Search:Total") == "0"
    assert [len(r) for r in children(store, "Search:Result")] == [0]


async def test_gal_with_picture_on_14_1(env):
    alice = await env.client(version="14.1")
    store = E("Search:Store", E("Search:Name", "GAL"), E("Search:Query", "bob"))
    options = sub(store, "Search:Options")
    sub(options, "Search:Range", "0-9")
    sub(sub(options, "Search:Picture"), "Search:MaxSize", 10000)
    result = store_of(await run(alice, "Search", E("Search:Search", store)))
    properties = child(child(result, "Search:Result"), "Search:Properties")
    assert text(properties, "GAL:EmailAddress") == "bob@contoso.com"
    assert text(properties, "GAL:DisplayName") == "Bob Kelly"
    picture = child(properties, "GAL:Picture")
    assert text(picture, "GAL:Status") == "1"
    assert base64.b64decode(text(picture, "GAL:Data")).startswith(b"\x89PNG")


async def test_find_mailbox_and_gal(env):
    alice = await env.client(version="16.1")
    criterion = E("Find:MailBoxSearchCriterion",
                  E("Find:Query", E("Find:FreeText", "budget"), E("AirSync:Class", "Email")),
                  E("Find:Options", E("Find:Range", "0-2")))
    root = E("Find:Find", E("Find:SearchId", "5d8b1a3e-1f1e-4a4f-9f39-0c6d9a1b2c3d"),
             E("Find:ExecuteSearch", criterion))
    answer = await run(alice, "Find", root)
    response = child(answer.document, "Find:Response")
    assert text(answer.document, "Find:Status") == "1"
    results = children(response, "Find:Result")
    assert 0 < len(results) <= 3
    subject = text(child(results[0], "Find:Properties"), "Email:Subject")
    assert "budget" in subject.lower()
    gal = E("Find:GalSearchCriterion", E("Find:Query", "carol"),
            E("Find:Options", E("Find:Range", "0-9")))
    answer = await run(alice, "Find", E("Find:Find", E("Find:SearchId", "x"),
                                        E("Find:ExecuteSearch", gal)))
    result = child(child(answer.document, "Find:Response"), "Find:Result")
    assert text(child(result, "Find:Properties"), "GAL:EmailAddress") == "carol@contoso.com"


async def test_resolve_recipients(env):
    alice = await env.client()
    options = E("ResolveRecipients:Options",
                E("ResolveRecipients:CertificateRetrieval", 2),
                E("ResolveRecipients:Availability",
                  E("ResolveRecipients:StartTime", "2026-11-16T00:00:00.000Z"),
                  E("ResolveRecipients:EndTime", "2026-11-16T12:00:00.000Z")))
    root = E("ResolveRecipients:ResolveRecipients", E("ResolveRecipients:To", "bob@contoso.com"),
             E("ResolveRecipients:To", "dana"), E("ResolveRecipients:To", "zzz-nobody"),
             options)
    answer = await run(alice, "ResolveRecipients", root)
    bob, dana, nobody = children(answer.document, "ResolveRecipients:Response")
    assert text(bob, "ResolveRecipients:Status") == "1"
    recipient = child(bob, "ResolveRecipients:Recipient")
    assert text(recipient, "ResolveRecipients:Type") == "1"
    assert text(recipient, "ResolveRecipients:DisplayName") == "Bob Kelly"
    busy = text(child(recipient, "ResolveRecipients:Availability"),
                "ResolveRecipients:MergedFreeBusy")
    assert len(busy) == 24 and set(busy) <= set("01234")
    certificates = child(recipient, "ResolveRecipients:Certificates")
    assert text(certificates, "ResolveRecipients:CertificateCount") == "0"
    assert text(dana, "ResolveRecipients:Status") == "1"
    assert text(child(dana, "ResolveRecipients:Recipient"), "ResolveRecipients:Type") == "2"
    assert text(nobody, "ResolveRecipients:Status") == "4"


async def test_free_busy_counts_every_occurrence_of_a_series(env):
    """A weekly Monday 09:00–09:30 UTC meeting of Bob's, one Monday of it deleted: months
    later it still makes him busy at 09:00, and the deleted Monday is free (until now a
    series counted at its first occurrence only)."""
    from store.types import FolderType, NewItem

    bob = await env.store.get_user("bob@contoso.com")
    calendar = await env.folder_id("bob@contoso.com", FolderType.CALENDAR)
    await env.store.add_item(bob.id, calendar, NewItem(item_class="Calendar", data={
        "Subject": "Weekly sync", "StartTime": "20261116T090000Z",
        "EndTime": "20261116T093000Z", "BusyStatus": 2,
        "Recurrence": {"Type": 1, "Interval": 1, "DayOfWeek": 2},
        "Exceptions": [{"ExceptionStartTime": "20270913T090000Z", "Deleted": 1}]}))
    alice = await env.client()

    async def busy_on(day: str) -> str:
        options = E("ResolveRecipients:Options", E(
            "ResolveRecipients:Availability",
            E("ResolveRecipients:StartTime", f"{day}T00:00:00.000Z"),
            E("ResolveRecipients:EndTime", f"{day}T12:00:00.000Z")))
        answer = await run(alice, "ResolveRecipients", E(
            "ResolveRecipients:ResolveRecipients", E("ResolveRecipients:To", "bob@contoso.com"),
            options))
        return answer.document.findtext(".//{ResolveRecipients:}MergedFreeBusy")

    # (the demo's own weekly series has ended by then: 20 occurrences)
    assert await busy_on("2027-09-06") == "0" * 18 + "2" + "0" * 5
    assert await busy_on("2027-09-13") == "0" * 24
    assert await busy_on("2027-09-14") == "0" * 24  # a Tuesday
