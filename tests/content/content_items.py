"""Items for content tests, made the way the demo tenant makes them (no database)."""
from __future__ import annotations

from typing import Any

from fixtures import read_json
from store.fixtures import MailboxBuilder
from store.types import Attachment, Item, NewItem


def demo_builder(seed: int = 7) -> MailboxBuilder:
    spec = read_json("demo_tenant.json")
    return MailboxBuilder(spec, spec["users"][0], spec["tenant"]["domain"], seed)


def as_item(new: NewItem, server_id: str = "2:1", **overrides: Any) -> Item:
    """The Item the store would hand back for ``new`` (attachments numbered)."""
    attachments = tuple(
        Attachment(f"{server_id}:{n}", a.name, a.content_type, a.size, a.content_id, a.is_inline)
        for n, (a, _) in enumerate(new.attachments, start=1)
    )
    fields = dict(server_id=server_id, folder_id=server_id.split(":")[0],
                  item_class=new.item_class, data=new.data, body_text=new.body_text,
                  body_html=new.body_html, mime=new.mime, read=new.read, flagged=new.flagged,
                  categories=new.categories, attachments=attachments)
    fields.update(overrides)
    return Item(**fields)
