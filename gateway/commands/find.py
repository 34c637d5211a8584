"""Find (MS-ASCMD 2.2.1.2, 16.1): free-text search of the mailbox or the GAL.

``MailBoxSearchCriterion`` carries a ``Query`` (``FreeText``, ``AirSync:Class``,
``AirSync:CollectionId``) and ``Options`` (``Range``, ``DeepTraversal``); each result names
its item by ``ServerId`` and ``CollectionId`` and carries a summary (subject, sender,
recipients, date, read, importance, preview, whether it has attachments).
``GalSearchCriterion`` carries the query text; results carry GAL properties (and pictures).
A quarantined device finds nothing (SPEC §7).
"""
from __future__ import annotations

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.commands.search import (
    MailboxQuery,
    find_items,
    free_text,
    page_element,
    parse_range,
    picture_request,
)
from gateway.content.body import preview_text
from gateway.content.directory import render_gal, render_picture, search_gal
from gateway.content.mail import display_to
from gateway.errors import CommandFailure
from protocol.status import FindStatus as Status
from protocol.xml import E, child, sub, text
from store.types import Item

MIN_GAL_QUERY = 4  # MS-ASCMD: a GAL query has at least four characters


async def handle(ctx: CommandContext) -> CommandResult:
    execute = child(ctx.document, "Find:ExecuteSearch") if ctx.document is not None else None
    if execute is None:
        raise CommandFailure(Status.INVALID_REQUEST, "no ExecuteSearch")
    mailbox = child(execute, "Find:MailBoxSearchCriterion")
    gal = child(execute, "Find:GalSearchCriterion")
    criterion = mailbox if mailbox is not None else gal
    if criterion is None:
        return _answer(Status.INVALID_REQUEST)
    options = child(criterion, "Find:Options")
    try:
        first, last = parse_range(text(options, "Find:Range") if options is not None else None)
    except ValueError:
        return _answer(Status.INVALID_REQUEST)
    if mailbox is not None:
        response = await _mailbox(ctx, child(mailbox, "Find:Query"), options, first, last)
    else:
        response = await _gal(ctx, text(gal, "Find:Query") or "", options, first, last)
    if response is None:
        return _answer(Status.INVALID_REQUEST)
    return _answer(Status.SUCCESS, response)


def _answer(status: int, response: etree._Element | None = None) -> CommandResult:
    root = E("Find:Find", E("Find:Status", int(status)))
    if response is not None:
        root.append(response)
    return CommandResult(root)


def _response(results: list[etree._Element], first: int, total: int) -> etree._Element:
    response = page_element("Find", results, first, len(results), total)
    response.insert(0, E("ItemOperations:Store", "Mailbox"))
    return response


async def _mailbox(ctx: CommandContext, query: etree._Element | None,
                   options: etree._Element | None, first: int,
                   last: int) -> etree._Element | None:
    words = text(query, "Find:FreeText") if query is not None else None
    if not words or not words.strip():
        return None
    folder_id = text(query, "AirSync:CollectionId")
    search = MailboxQuery(free_text(words), {folder_id} if folder_id else set(),
                          text(query, "AirSync:Class") or "Email")
    deep = options is not None and child(options, "Find:DeepTraversal") is not None
    found = await find_items(ctx, search, deep=deep or not folder_id)
    results = [_mailbox_result(item) for item in found[first:last + 1]]
    return _response(results, first, len(found))


def _mailbox_result(item: Item) -> etree._Element:
    data = item.data
    result = E("Find:Result")
    sub(result, "AirSync:Class", item.item_class)
    sub(result, "AirSync:ServerId", item.server_id)
    sub(result, "AirSync:CollectionId", item.folder_id)
    properties = sub(result, "Find:Properties")
    for page, tag, value in (
        ("Email", "Subject", data.get("Subject")),
        ("Email", "DateReceived", data.get("DateReceived")),
        ("Email", "DisplayTo", display_to(data)),
        ("Find", "DisplayCc", data.get("Cc")),
        ("Email", "Importance", data.get("Importance", 1)),
        ("Email", "Read", int(item.read)),
        ("Email2", "IsDraft", int(bool(data.get("IsDraft")))),
        ("Find", "Preview", preview_text(item)),
        ("Find", "HasAttachments", int(bool(item.attachments))),
        ("Email", "From", data.get("From")),
    ):
        if value not in (None, ""):
            sub(properties, f"{page}:{tag}", value)
    return result


async def _gal(ctx: CommandContext, query: str, options: etree._Element | None, first: int,
               last: int) -> etree._Element | None:
    if len(query.strip()) < MIN_GAL_QUERY:
        return None
    entries = [] if ctx.mailbox.quarantined else await search_gal(
        ctx.services.store, ctx.user.tenant, query)
    pictures = picture_request(options, "Find", ctx.version)
    results = []
    for n, entry in enumerate(entries[first:last + 1]):
        properties = E("Find:Properties")
        properties.extend(render_gal(entry))
        if pictures is not None:
            properties.append(render_picture(entry, pictures, n))
        results.append(E("Find:Result", properties))
    return _response(results, first, len(entries))
