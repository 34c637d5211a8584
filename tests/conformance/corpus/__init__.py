"""A corpus of realistic EAS requests and responses, as builders of lxml documents.

Each module registers its builders with :func:`document`; ``DOCUMENTS`` maps a name like
``"sync_response_mail"`` to a function returning a fresh document. The texts are what
Exchange and real clients put on the wire: dates as ``2026-11-20T09:15:00.000Z``,
base64 time zones, HTML bodies with CRLF line ends, opaque conversation ids and MIME.
"""
from __future__ import annotations

from collections.abc import Callable

from lxml import etree

Builder = Callable[[], etree._Element]
DOCUMENTS: dict[str, Builder] = {}


def document(builder: Builder) -> Builder:
    DOCUMENTS[builder.__name__] = builder
    return builder


from corpus import commands, mail, pim  # noqa: E402,F401  (registers the builders)
