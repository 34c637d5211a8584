"""The Global Address List: the tenant's users as Search, Find and ResolveRecipients see them.

A user's entry is built from the store's record: display name, address, alias (the local
part), first and last name (from the display name), company (the tenant). The picture a
14.1+ client may ask for is a small generated PNG: a square in a colour of the user's own,
so that clients have a real image to show and tests a real image to check.
"""
from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from dataclasses import dataclass

from lxml import etree

from protocol.xml import E, sub
from store.api import Store
from store.types import User

PICTURE_SIDE = 48  # pixels
NO_PICTURE, PICTURE_TOO_LARGE, PICTURE_LIMIT_REACHED = 173, 174, 175


@dataclass(frozen=True)
class GalEntry:
    display_name: str
    email_address: str
    alias: str
    first_name: str
    last_name: str
    company: str

    @classmethod
    def of(cls, user: User) -> GalEntry:
        first, _, last = user.display_name.partition(" ")
        return cls(user.display_name, user.address, user.address.partition("@")[0],
                   first, last, user.tenant)

    def matches(self, query: str) -> bool:
        """Exchange's ambiguous-name resolution, simplified: the query starts a word of the
        name, the alias or the address (case-insensitive)."""
        wanted = query.strip().lower()
        if not wanted:
            return False
        words = [*self.display_name.lower().split(), self.alias.lower(),
                 self.email_address.lower(), self.display_name.lower()]
        return any(word.startswith(wanted) for word in words)


@dataclass(frozen=True)
class PictureRequest:
    """``Picture`` options of Search, Find and ResolveRecipients (14.1+)."""

    max_size: int | None = None  # bytes
    max_pictures: int | None = None


async def gal_entries(store: Store, tenant: str) -> list[GalEntry]:
    users = await store.list_users(tenant)
    return sorted((GalEntry.of(u) for u in users), key=lambda e: e.display_name.lower())


async def search_gal(store: Store, tenant: str, query: str) -> list[GalEntry]:
    return [entry for entry in await gal_entries(store, tenant) if entry.matches(query)]


def render_gal(entry: GalEntry, page: str = "GAL") -> list[etree._Element]:
    """The entry's fields in the ``GAL`` code page (Search and Find properties)."""
    fields = [("DisplayName", entry.display_name), ("Company", entry.company),
              ("Alias", entry.alias), ("FirstName", entry.first_name),
              ("LastName", entry.last_name), ("EmailAddress", entry.email_address)]
    return [E(f"{page}:{tag}", value) for tag, value in fields if value]


def render_picture(entry: GalEntry, request: PictureRequest, already_sent: int,
                   page: str = "GAL") -> etree._Element:
    """``<Picture><Status/><Data/></Picture>`` under the client's size and count limits."""
    picture = E(f"{page}:Picture")
    data = avatar_png(entry.email_address)
    if request.max_pictures is not None and already_sent >= request.max_pictures:
        sub(picture, f"{page}:Status", PICTURE_LIMIT_REACHED)
    elif request.max_size is not None and len(data) > request.max_size:
        sub(picture, f"{page}:Status", PICTURE_TOO_LARGE)
    else:
        sub(picture, f"{page}:Status", 1)
        sub(picture, f"{page}:Data", _base64(data))
    return picture


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def avatar_png(seed: str) -> bytes:
    """A PICTURE_SIDE × PICTURE_SIDE PNG in one colour derived from ``seed``."""
    red, green, blue = hashlib.sha256(seed.lower().encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * PICTURE_SIDE  # filter byte, then pixels
    pixels = zlib.compress(row * PICTURE_SIDE, 9)
    header = struct.pack(">IIBBBBB", PICTURE_SIDE, PICTURE_SIDE, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + \
        _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
