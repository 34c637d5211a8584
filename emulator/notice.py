"""Recognising the notice "from Microsoft on behalf of your organization" (SPEC §4) in a
mailbox, as the person holding the phone would: by its subject and its two links."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from emulator.items import ItemView

NOTICE_SUBJECT = "Action required: choose how to get your"
SENDER_WORDS = "on behalf of your organization"

# {public_url}/choice/{token}?app=keep|outlook, wherever it sits in HTML or text
_CHOICE_LINK = re.compile(r"""https?://[^\s"'<>]+?/choice/[^\s"'<>?/]+\?app=(keep|outlook)""")


@dataclass(frozen=True)
class Notice:
    server_id: str
    subject: str
    sender: str
    keep_url: str | None
    outlook_url: str | None

    def link(self, choice: str) -> str | None:
        return self.keep_url if choice == "keep" else self.outlook_url


def choice_links(body: str) -> dict[str, str]:
    """The choice links of a body, by choice (``{"keep": url, "outlook": url}``)."""
    links: dict[str, str] = {}
    for match in _CHOICE_LINK.finditer(html.unescape(body)):
        links.setdefault(match.group(1), match.group(0))
    return links


def find_notice(item: ItemView) -> Notice | None:
    """The notice, when ``item`` is one: its subject says so, or its body holds choice links."""
    links = choice_links(item.body)
    if not item.title.startswith(NOTICE_SUBJECT) and not links:
        return None
    return Notice(item.server_id, item.title, item.sender, links.get("keep"), links.get("outlook"))

