"""EAS WBXML: ``decode(bytes) -> lxml element`` and ``encode(element) -> bytes``.

Elements are named ``{<code page>:}<tag>`` after MS-ASWBXML (``{AirSync:}Sync``,
``{GAL:}DisplayName``); see :mod:`protocol.wbxml.codepages` for every tag and
:mod:`protocol.wbxml.decoder` for what a body may and may not hold.

``decode`` and ``encode`` are the C-accelerated codec of :mod:`protocol.wbxml.fast`;
:mod:`protocol.wbxml.decoder` and :mod:`protocol.wbxml.encoder` are the pure-Python
reference it is tested against.
"""
from protocol.wbxml.decoder import MAX_DEPTH
from protocol.wbxml.errors import WBXMLEncodeError, WBXMLError
from protocol.wbxml.fast import decode, encode

__all__ = ["MAX_DEPTH", "WBXMLEncodeError", "WBXMLError", "decode", "encode"]
