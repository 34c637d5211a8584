"""Search (MS-ASCMD 2.2.1.16): the mailbox and the Global Address List.

Mailbox: the ``Query`` is a tree of ``And``/``Or`` over ``AirSync:Class``,
``AirSync:CollectionId``, ``FreeText`` and comparisons (``EqualTo``, ``GreaterThan``,
``LessThan``) of ``Email:DateReceived`` (or another field) with a ``Value``; results come
newest first, paged by ``Range`` (``0-9``), each with the ``LongId`` ItemOperations fetches by.
GAL: the query matches the tenant's users; 14.1+ clients may ask for pictures.
A quarantined device finds nothing (SPEC §7).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.content import BodyOptions, render_properties
from gateway.content.directory import (
    GalEntry,
    PictureRequest,
    render_gal,
    render_picture,
    search_gal,
)
from gateway.content.mail import parse_eas_date
from gateway.errors import CommandFailure
from protocol.numbers import number_range, whole_number
from protocol.status import SearchStatus as Status
from protocol.versions import at_least
from protocol.xml import E, child, local_name, sub, text
from store.types import Item

DEFAULT_RANGE = (0, 99)
MAX_RESULTS = 100  # Exchange's page limit
Predicate = Callable[[Item], bool]


async def handle(ctx: CommandContext) -> CommandResult:
    store_element = child(ctx.document, "Search:Store") if ctx.document is not None else None
    if store_element is None:
        raise CommandFailure(Status.INVALID_REQUEST, "no Store")
    name = (text(store_element, "Search:Name") or "").strip().lower()
    options = child(store_element, "Search:Options")
    try:
        first, last = parse_range(text(options, "Search:Range") if options is not None else None)
    except ValueError:
        return _answer(Status.INVALID_REQUEST)
    query = child(store_element, "Search:Query")
    if name == "mailbox":
        store_answer = await _mailbox(ctx, query, options, first, last)
    elif name == "gal":
        store_answer = await _gal(ctx, text(query, None) if query is not None else "", options,
                                  first, last)
    else:
        store_answer = E("Search:Store", E("Search:Status", Status.INVALID_REQUEST))
    return _answer(Status.SUCCESS, store_answer)


def _answer(status: int, store: etree._Element | None = None) -> CommandResult:
    root = E("Search:Search", E("Search:Status", int(status)))
    if store is not None:
        sub(root, "Search:Response").append(store)
    return CommandResult(root)


def parse_range(value: str | None) -> tuple[int, int]:
    """``"0-9"`` → (0, 9); at most MAX_RESULTS wide; ValueError when malformed."""
    if value is None:
        return DEFAULT_RANGE
    first, last = number_range(value)
    return first, min(last, first + MAX_RESULTS - 1)


def page_element(page: str, results: Iterable[etree._Element], first: int, shown: int,
                 total: int) -> etree._Element:
    """``Store`` (or Find's ``Response``) with its results, Range and Total."""
    container = E(f"{page}:Store" if page == "Search" else f"{page}:Response")
    sub(container, f"{page}:Status", 1)
    container.extend(results)
    if shown:
        sub(container, f"{page}:Range", f"{first}-{first + shown - 1}")
    sub(container, f"{page}:Total", total)
    return container


# --- mailbox --------------------------------------------------------------------------------

@dataclass
class MailboxQuery:
    predicate: Predicate
    folder_ids: set[str]  # empty: every folder
    item_class: str | None


class QueryError(ValueError):
    """The query uses something Search does not know."""


async def _mailbox(ctx: CommandContext, query: etree._Element | None,
                   options: etree._Element | None, first: int, last: int) -> etree._Element:
    if query is None or not len(query):
        return E("Search:Store", E("Search:Status", Status.INVALID_REQUEST))
    try:
        parsed = compile_query(query)
    except QueryError:
        return E("Search:Store", E("Search:Status", Status.TOO_COMPLEX))
    deep = options is not None and child(options, "Search:DeepTraversal") is not None
    found = await find_items(ctx, parsed, deep=deep)
    page = found[first:last + 1]
    body_options = BodyOptions.from_sync_options(options, ctx.version)
    results = [_mailbox_result(item, body_options, ctx.version) for item in page]
    return page_element("Search", results or [E("Search:Result")], first, len(page), len(found))


def _mailbox_result(item: Item, options: BodyOptions, version: str) -> etree._Element:
    result = E("Search:Result")
    sub(result, "AirSync:Class", item.item_class)
    sub(result, "Search:LongId", item.server_id)
    sub(result, "AirSync:CollectionId", item.folder_id)
    properties = sub(result, "Search:Properties")
    properties.extend(render_properties(item, options, version))
    return result


async def find_items(ctx: CommandContext, query: MailboxQuery, *, deep: bool) -> list[Item]:
    """The visible items matching ``query``, newest first."""
    if ctx.mailbox.quarantined:
        return []
    folders = await ctx.mailbox.folders()
    wanted = set(query.folder_ids)
    if deep and wanted:
        wanted |= _descendants(folders, wanted)
    found: list[Item] = []
    for folder in folders:
        if wanted and folder.id not in wanted:
            continue
        if query.item_class and folder.item_class != query.item_class:
            continue
        for item in await ctx.services.store.list_items(ctx.user.id, folder.id):
            if query.predicate(item):
                found.append(item)
    return sorted(found, key=_received, reverse=True)


def _descendants(folders, roots: set[str]) -> set[str]:
    found, frontier = set(), set(roots)
    while frontier:
        frontier = {f.id for f in folders if f.parent_id in frontier} - found
        found |= frontier
    return found


def _received(item: Item) -> str:
    moment = parse_eas_date(item.data.get("DateReceived") or item.data.get("StartTime"))
    return moment.isoformat() if moment else ""


def compile_query(element: etree._Element) -> MailboxQuery:
    """A MailboxQuery from a ``Query`` (its children are and-ed, as Exchange reads them)."""
    query = MailboxQuery(lambda item: True, set(), None)
    query.predicate = _predicate(element, query)
    return query


def _predicate(element: etree._Element, query: MailboxQuery) -> Predicate:
    name = local_name(element)
    if name in ("Query", "And", "Or"):
        parts = [_predicate(c, query) for c in element]
        combine = any if name == "Or" else all
        return lambda item: combine(p(item) for p in parts)
    if name == "Class":
        query.item_class = (element.text or "").strip()
        return lambda item: True
    if name == "CollectionId":
        query.folder_ids.add((element.text or "").strip())
        return lambda item: True
    if name == "FreeText":
        return free_text(element.text or "")
    if name in ("EqualTo", "GreaterThan", "LessThan"):
        return _comparison(name, element)
    if name == "ConversationId":
        wanted = (element.text or "").strip().upper()
        return lambda item: str(item.data.get("ConversationId", "")).upper() == wanted
    raise QueryError(name)


def free_text(words: str) -> Predicate:
    """Every word appears in the subject, a body, the sender or the recipients."""
    terms = words.lower().split()

    def matches(item: Item) -> bool:
        haystack = " ".join(str(item.data.get(k, "")) for k in ("Subject", "From", "To", "Cc",
                                                                  "DisplayTo", "Location"))
        haystack = f"{haystack} {item.body_text} {item.body_html or ''}".lower()
        return all(term in haystack for term in terms)

    return matches


def _comparison(name: str, element: etree._Element) -> Predicate:
    field = next((c for c in element if local_name(c) != "Value"), None)
    value = text(element, "Search:Value")
    if field is None or value is None:
        raise QueryError(name)
    key = local_name(field)
    if key == "DateReceived":
        limit = parse_eas_date(value)
        if limit is None:
            raise QueryError(value)
        compare = {"EqualTo": lambda a: a == limit, "GreaterThan": lambda a: a > limit,
                   "LessThan": lambda a: a < limit}[name]
        return lambda item: (moment := parse_eas_date(item.data.get(key))) is not None and \
            compare(moment)
    if name != "EqualTo":
        raise QueryError(name)
    return lambda item: str(item.data.get(key, "")) == value


# --- GAL ------------------------------------------------------------------------------------

async def _gal(ctx: CommandContext, query: str | None, options: etree._Element | None,
               first: int, last: int) -> etree._Element:
    entries = [] if ctx.mailbox.quarantined else await search_gal(
        ctx.services.store, ctx.user.tenant, query or "")
    page = entries[first:last + 1]
    pictures = picture_request(options, "Search", ctx.version)
    results = [_gal_result(entry, pictures, n) for n, entry in enumerate(page)]
    return page_element("Search", results or [E("Search:Result")], first, len(page),
                        len(entries))


def _gal_result(entry: GalEntry, pictures: PictureRequest | None, n: int) -> etree._Element:
    properties = E("Search:Properties")
    properties.extend(render_gal(entry))
    if pictures is not None:
        properties.append(render_picture(entry, pictures, n))
    return E("Search:Result", properties)


def picture_request(options: etree._Element | None, page: str,
                    version: str) -> PictureRequest | None:
    """The client's ``Picture`` options (14.1+), None when it asked for none."""
    if options is None or not at_least(version, "14.1"):
        return None
    picture = child(options, f"{page}:Picture")
    if picture is None:
        return None
    size, count = text(picture, f"{page}:MaxSize"), text(picture, f"{page}:MaxPictures")
    return PictureRequest(whole_number(size), whole_number(count))
