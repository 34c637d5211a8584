"""The two ways a WBXML conversion fails, each carrying what a caller needs to answer."""
from __future__ import annotations


class WBXMLError(ValueError):
    """A body that is not a well-formed EAS WBXML document.

    ``offset`` is the byte position in the body where decoding stopped, ``reason`` a short
    phrase for people (and for the Status 102 / HTTP 400 answer's log line).
    """

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"WBXML error at byte {offset}: {reason}")
        self.offset = offset
        self.reason = reason


class WBXMLEncodeError(ValueError):
    """A document that cannot be written as EAS WBXML (a tag no code page holds, …).

    ``path`` names the offending element from the root, like
    ``/AirSync:Sync/AirSync:Collections/Foo:Bar``.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot encode {path}: {reason}")
        self.path = path
        self.reason = reason
