"""A Sync request read into plain values, and the cached last request that empty and
``Partial`` requests reuse (MS-ASCMD 2.2.3.131 and 3.1.5.3).

The cache is kept in the device record (``extra["sync_request"]``) as JSON: each
collection's WindowSize, DeletesAsMoves and Options (as XML text), and the Wait or
HeartbeatInterval. SyncKeys are not cached: a collection taken from the cache continues
from the key the server gave last, which is the one the client holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree

from gateway.sync.options import pick_options
from protocol.numbers import integer
from protocol.xml import child, children, local_name, text

DEFAULT_WINDOW = 100
MAX_WINDOW = 512  # MS-ASCMD 2.2.3.199: larger windows are treated as 512


class SyncRequestError(ValueError):
    """The document is no Sync request (Status 4, protocol error)."""


@dataclass(frozen=True)
class ClientCommand:
    kind: str  # "Add", "Change", "Delete", "Fetch"
    server_id: str | None
    client_id: str | None
    application_data: etree._Element | None
    item_class: str | None = None  # Add's Class (12.1 clients and SMS)


@dataclass(frozen=True)
class CollectionRequest:
    collection_id: str
    sync_key: str | None  # None: taken from the cache, continue from the current key
    window_size: int = DEFAULT_WINDOW
    deletes_as_moves: bool = True
    get_changes: bool | None = None  # None: the default (yes, unless the key is 0)
    options: etree._Element | None = None
    supported: tuple[str, ...] | None = None  # ghosted properties' complement (first sync)
    commands: tuple[ClientCommand, ...] = ()

    def wants_changes(self) -> bool:
        if self.sync_key == "0":
            return False
        return True if self.get_changes is None else self.get_changes


@dataclass(frozen=True)
class SyncRequest:
    collections: tuple[CollectionRequest, ...] = ()
    wait_s: int | None = None  # Wait (minutes) or HeartbeatInterval (seconds), in seconds
    window_size: int | None = None  # the whole response's limit
    partial: bool = False
    bad_wait: bool = False  # Wait/HeartbeatInterval given but not a number
    wait_raw: dict[str, int] = field(default_factory=dict)  # as sent, for bounds checks


def parse(document: etree._Element | None) -> SyncRequest | None:
    """The request, or None for an empty body (reuse the cached request)."""
    if document is None:
        return None
    if document.tag != "{AirSync:}Sync":
        raise SyncRequestError(f"expected AirSync:Sync, got {document.tag}")
    collections_el = child(document, "AirSync:Collections")
    collections = tuple(
        _collection(element) for element in
        (children(collections_el, "AirSync:Collection") if collections_el is not None else [])
    )
    wait_raw: dict[str, int] = {}
    bad_wait = False
    for tag in ("Wait", "HeartbeatInterval"):
        value = text(document, f"AirSync:{tag}")
        if value is None:
            continue
        number = integer(value)
        if number is None:
            bad_wait = True
        else:
            wait_raw[tag] = number
    wait_s = None
    if "HeartbeatInterval" in wait_raw:
        wait_s = wait_raw["HeartbeatInterval"]
    elif "Wait" in wait_raw:
        wait_s = wait_raw["Wait"] * 60
    return SyncRequest(
        collections=collections,
        wait_s=wait_s,
        window_size=_window(text(document, "AirSync:WindowSize")),
        partial=child(document, "AirSync:Partial") is not None,
        bad_wait=bad_wait,
        wait_raw=wait_raw,
    )


def _collection(element: etree._Element) -> CollectionRequest:
    collection_id = text(element, "AirSync:CollectionId")
    if not collection_id:
        raise SyncRequestError("a Collection without CollectionId")
    sync_key = text(element, "AirSync:SyncKey")
    if sync_key is None:
        raise SyncRequestError(f"collection {collection_id[:40]} has no SyncKey")
    supported_el = child(element, "AirSync:Supported")
    get_changes = text(element, "AirSync:GetChanges")
    return CollectionRequest(
        collection_id=collection_id.strip(),
        sync_key=sync_key.strip(),
        window_size=_window(text(element, "AirSync:WindowSize")) or DEFAULT_WINDOW,
        deletes_as_moves=text(element, "AirSync:DeletesAsMoves", "1").strip() != "0",
        # An empty GetChanges element means yes (12.1 clients send it so).
        get_changes=None if get_changes is None else get_changes.strip() != "0",
        options=pick_options(element),
        supported=(tuple(local_name(e) for e in supported_el) if supported_el is not None
                   else None),
        commands=_commands(child(element, "AirSync:Commands")),
    )


def _commands(commands_el: etree._Element | None) -> tuple[ClientCommand, ...]:
    if commands_el is None:
        return ()
    found = []
    for element in commands_el:
        kind = local_name(element)
        if kind not in ("Add", "Change", "Delete", "Fetch"):
            raise SyncRequestError(f"unknown Sync command {kind}")
        found.append(ClientCommand(
            kind=kind,
            server_id=_stripped(text(element, "AirSync:ServerId")),
            client_id=_stripped(text(element, "AirSync:ClientId")),
            application_data=child(element, "AirSync:ApplicationData"),
            item_class=_stripped(text(element, "AirSync:Class")),
        ))
    return tuple(found)


# --- the cache ----------------------------------------------------------------------------
def to_cache(request: SyncRequest) -> dict[str, Any]:
    return {
        "wait_s": request.wait_s,
        "window_size": request.window_size,
        "collections": [
            {
                "collection_id": c.collection_id,
                "window_size": c.window_size,
                "deletes_as_moves": c.deletes_as_moves,
                "options": (etree.tostring(c.options, encoding="unicode")
                            if c.options is not None else None),
            }
            for c in request.collections
        ],
    }


def from_cache(cached: dict[str, Any]) -> SyncRequest:
    collections = tuple(
        CollectionRequest(
            collection_id=c["collection_id"],
            sync_key=None,
            window_size=c.get("window_size") or DEFAULT_WINDOW,
            deletes_as_moves=c.get("deletes_as_moves", True),
            options=etree.fromstring(c["options"]) if c.get("options") else None,
        )
        for c in cached.get("collections", [])
    )
    return SyncRequest(collections=collections, wait_s=cached.get("wait_s"),
                       window_size=cached.get("window_size"))


def merge_partial(request: SyncRequest, cached: SyncRequest) -> SyncRequest:
    """A ``Partial`` request: its collections replace the cached ones with the same id, the
    others are taken from the cache; Wait and WindowSize fall back to the cache's."""
    sent = {c.collection_id for c in request.collections}
    kept = tuple(c for c in cached.collections if c.collection_id not in sent)
    return replace(
        request,
        collections=request.collections + kept,
        wait_s=request.wait_s if request.wait_raw else cached.wait_s,
        window_size=request.window_size or cached.window_size,
    )


def _window(value: str | None) -> int | None:
    number = integer(value)
    if number is None or number <= 0:
        return None
    return min(number, MAX_WINDOW)


def _stripped(value: str | None) -> str | None:
    return value.strip() if value is not None else None
